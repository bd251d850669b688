"""The layering promise: the domain core imports none of the edges, no I/O and no pandas."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from cmltrack import errors

SRC = Path(__file__).resolve().parents[1] / "src" / "cmltrack"


def test_domain_imports_no_edges() -> None:
    code = (
        "import sys, cmltrack.domain.records, cmltrack.domain.results, cmltrack.domain.enums\n"
        "import pkgutil, importlib, cmltrack.domain as d\n"
        "for m in pkgutil.walk_packages(d.__path__, 'cmltrack.domain.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('pandas', 'matplotlib', 'lifelines', 'statsmodels', 'typer', 'rich') "
        "or m.startswith(('cmltrack.cli', 'cmltrack.io', 'cmltrack.stats'))]\n"
        "print(','.join(sorted(bad)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_error_codes_in_step_with_source() -> None:
    used: set[str] = set()
    pattern = re.compile(r"""(?:code=|_err\(|PydanticCustomError\()\s*["']([a-z_]+)["']""")
    for path in SRC.rglob("*.py"):
        used |= set(pattern.findall(path.read_text()))
    assert used <= set(errors.ERROR_CODES), used - set(errors.ERROR_CODES)


def test_error_codes_documented_in_readme() -> None:
    readme = (SRC.parents[1] / "README.md").read_text()
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", readme, flags=re.M))
    assert documented == set(errors.ERROR_CODES)


def test_store_and_service_stay_at_the_edges() -> None:
    # The CLI's light commands import neither SQLAlchemy nor FastAPI; the core and io import
    # neither the store nor the service; the store imports nothing of the service.
    code = (
        "import sys, cmltrack, cmltrack.cli.app, cmltrack.cli.commands, cmltrack.io\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'fastapi', "
        "'alembic', 'uvicorn', 'jwt') or m.startswith(('cmltrack.store', 'cmltrack.service'))]\n"
        "import cmltrack.store.db, cmltrack.store.patients, cmltrack.store.audit\n"
        "bad += [m for m in sys.modules if m.startswith('cmltrack.service')]\n"
        "print(','.join(sorted(bad)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_web_layer_is_an_edge() -> None:
    """Nothing below the edges imports the web pages (the service, an edge beside them, only
    mounts them); the pages' view-models import no web framework: they are plain functions of
    records and assessments."""
    below = ("domain", "rules", "io", "store", "stats", "plots", "reports", "synth")
    for layer in below:
        for path in (SRC / layer).rglob("*.py") if (SRC / layer).exists() else ():
            assert "cmltrack.web" not in path.read_text(), path
    code = (
        "import sys, cmltrack.web.views, cmltrack.web.session\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('fastapi', 'starlette', 'jinja2', 'sqlalchemy', 'matplotlib')]\n"
        "print(','.join(sorted(bad)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_engines_sit_between_stats_and_the_edges() -> None:
    # engines/ may use domain, io and stats; nothing below it imports it, and it imports no
    # edge (cli, service, web). PySpark is imported inside functions only.
    below = ("domain", "rules", "io", "store", "stats", "plots", "reports", "synth")
    for pkg in below:
        for path in (SRC / pkg).rglob("*.py") if (SRC / pkg).exists() else ():
            assert "cmltrack.engines" not in path.read_text(), path
    code = (
        "import sys, pkgutil, importlib, cmltrack.engines as e\n"
        "for m in pkgutil.walk_packages(e.__path__, 'cmltrack.engines.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] == 'pyspark' "
        "or m.startswith(('cmltrack.cli', 'cmltrack.service', 'cmltrack.web'))]\n"
        "print(','.join(sorted(bad)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_cli_start_imports_no_engine() -> None:
    code = (
        "import sys\n"
        "from cmltrack.cli.app import _register\n"
        "_register()\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] == 'pyspark' "
        "or m.startswith('cmltrack.engines'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
