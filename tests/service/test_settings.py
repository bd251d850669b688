"""Settings precedence: flags > CMLTRACK_* environment > TOML config > defaults (service.md)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from svc_helpers import ROOT

from cmltrack.errors import InputError
from cmltrack.service.settings import load_settings

SHA = hashlib.sha256(b"test").hexdigest()


def test_precedence(tmp_path: Path) -> None:
    cfg = tmp_path / "cmltrack.toml"
    cfg.write_text(f'data_dir = "data"\nport = 9000\nhost = "0.0.0.0"\nlog_level = "debug"\n'
                   f'public_url = "https://cml.example.org"\n'
                   f'[[tokens]]\nname = "dr-lee"\nrole = "clinician"\nsha256 = "{SHA}"\n')
    s = load_settings({"config": cfg}, env={})
    assert s.data_dir == tmp_path / "data"  # relative to the config file
    assert (s.port, s.host, s.log_level) == (9000, "0.0.0.0", "debug")
    assert s.base_url == "https://cml.example.org"
    assert [(t.name, t.role, t.sha256) for t in s.tokens] == [("dr-lee", "clinician", SHA)]
    env = {"CMLTRACK_PORT": "9100", "CMLTRACK_CONFIG": str(cfg), "CMLTRACK_LOG_LEVEL": "warning"}
    s = load_settings({}, env=env)
    assert (s.port, s.host, s.log_level) == (9100, "0.0.0.0", "warning")
    s = load_settings({"port": 9200}, env=env)
    assert s.port == 9200
    d = load_settings({}, env={"XDG_DATA_HOME": str(tmp_path / "xdg")})
    assert (d.host, d.port, d.log_level, d.db, d.tokens, d.cds_clients) == (
        "127.0.0.1", 8000, "info", None, (), ())
    assert d.data_dir == tmp_path / "xdg" / "cmltrack"
    assert d.base_url == "http://127.0.0.1:8000"


def test_tokens_file_json_or_toml(tmp_path: Path) -> None:
    f = tmp_path / "tokens.json"
    f.write_text(f'{{"tokens": [{{"name": "a", "role": "admin", "sha256": "{SHA}"}}]}}')
    assert load_settings({"tokens": f}, env={}).tokens[0].role == "admin"
    assert load_settings({}, env={"CMLTRACK_TOKENS": str(f)}).tokens[0].name == "a"


@pytest.mark.parametrize(("flags", "setting"), [
    ({"port": 70000}, "--port"),
    ({"public_url": "cml.example.org"}, "--public-url"),
    ({"log_level": "loud"}, "--log-level"),
])
def test_invalid_setting_names_it(flags: dict[str, object], setting: str) -> None:
    with pytest.raises(InputError) as err:
        load_settings(flags, env={})
    assert err.value.field == setting


def test_invalid_token_role_refused(tmp_path: Path) -> None:
    f = tmp_path / "t.toml"
    f.write_text(f'[[tokens]]\nname = "x"\nrole = "root"\nsha256 = "{SHA}"\n')
    with pytest.raises(InputError, match="role 'root'"):
        load_settings({"tokens": f}, env={})


def test_serve_invalid_setting_exits_2_with_one_line(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", "from cmltrack.cli.app import main; main()", "serve",
         "--data-dir", str(tmp_path), "--db", "mysql://x@y/z"],
        capture_output=True, text=True, env={"PYTHONPATH": str(ROOT / "src"),
                                             "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        timeout=60)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "db" in out.stderr and "mysql" in out.stderr
