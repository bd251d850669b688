"""Mutation testing of the clinical core and the statistics (issue 18).

One command per package area, each restricted to the tests of the mutated module::

    python tests/mutation/mutate.py code AREA       # mutmut on the module's functions
    python tests/mutation/mutate.py constants AREA  # its module-level numbers and flags
    python tests/mutation/mutate.py tables TABLE    # a rule table's numbers and inequalities
    python tests/mutation/mutate.py table           # docs/mutation.md from the saved results
    python tests/mutation/mutate.py areas           # the areas, their modules and tests
    python tests/mutation/mutate.py fromlog AREA.KIND LOG  # a stopped run's results, partial

AREA is a module of ``domain/``, ``domain/guidelines/`` or ``stats/`` (``risk``, ``response``,
``label``, ``survival``, ...); TABLE a file of ``rules/data`` (``imatinib_label``, ...).

``code`` runs mutmut (configured under ``[tool.mutmut]`` in pyproject.toml) in a scratch copy
of the project whose configuration names the one module and its tests, so a run takes minutes,
not the suite's hour. mutmut does not mutate module-level code, where many thresholds live, so
``constants`` changes each module-level number (x0.9 and x1.1; integers by one) and each
boolean (a band's inclusive flag is an inequality) one at a time and runs the module's tests;
``tables`` does the same to every number and quoted inequality (``"<="``, ``">"``) of a YAML
rule table and runs the tests that load it. Each run writes ``docs/mutation/AREA.json``;
``table`` turns them and ``docs/mutation/equivalent.yaml`` (each equivalent mutant with a
one-line reason) into the score table of docs/mutation.md.

The functools.cache artefact: mutmut forks each mutant's run from a process that has already
run the tests, so a cached rule table or label threshold built before the fork hides the
mutant. tests/conftest.py clears every cmltrack cache before each test when mutmut runs one
(``MUTANT_UNDER_TEST`` set), so the results are true. Runs are CPU heavy: they run niced.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "mutation"
WORK = Path(os.environ.get("CMLTRACK_MUTATION_WORK", "/tmp/cmltrack-mutation"))

# The R comparisons, and the result objects' frames and plots (every stats module's results).
_GOLDEN = "tests/stats/test_golden.py"
_RESULTS = "tests/stats/test_result_frames_plots.py"
# area -> (module path under src/cmltrack, its tests)
AREAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "risk": ("domain/risk.py", ("tests/domain/test_risk.py",)),
    "response": ("domain/response.py", ("tests/domain/test_response.py",
                                        "tests/domain/test_response_properties.py",
                                        "tests/domain/test_response_boundaries.py",
                                        "tests/domain/test_response_wording.py")),
    "phase": ("domain/phase.py", ("tests/domain/test_phase.py",
                                  "tests/domain/test_phase_properties.py")),
    "toxicity": ("domain/toxicity.py", ("tests/domain/test_toxicity.py",
                                      "tests/domain/test_toxicity_edges.py")),
    "dates": ("domain/dates.py", ("tests/domain",)),
    "endpoints": ("domain/endpoints.py", ("tests/domain/test_endpoints.py",)),
    # label.py holds the episode logic every drug's label table uses (imatinib and the
    # second-line drugs), so its tests are the imatinib label's and the other labels'.
    "label": ("domain/guidelines/label.py", ("tests/domain/guidelines/test_label.py",
                                             "tests/domain/guidelines/test_tki_label.py",
                                             "tests/domain/guidelines/test_label_wording.py")),
    "eln": ("domain/guidelines/eln.py", ("tests/domain/guidelines/test_eln.py",
                                         "tests/domain/guidelines/test_conformance.py",
                                         "tests/domain/guidelines/test_eln_tables.py")),
    "tfr": ("domain/guidelines/tfr.py", ("tests/domain/guidelines/test_tfr.py",)),
    "protocol": ("domain/guidelines/protocol.py",
                 ("tests/domain/guidelines/test_protocol.py",
                  "tests/domain/guidelines/test_seed004.py")),
    "survival": ("stats/survival.py", ("tests/stats/test_survival.py", _GOLDEN, _RESULTS)),
    "competing": ("stats/competing.py", ("tests/stats/test_competing.py", _GOLDEN, _RESULTS)),
    "cox": ("stats/cox.py", ("tests/stats/test_cox.py", _GOLDEN, _RESULTS)),
    "current": ("stats/current.py", ("tests/stats/test_current.py", _RESULTS)),
    "rates": ("stats/rates.py", ("tests/stats/test_rates.py", _GOLDEN, _RESULTS)),
    "simon": ("stats/simon.py", ("tests/stats/test_simon.py", _RESULTS)),
}
_ELN_TESTS = ("tests/domain/guidelines/test_eln.py", "tests/domain/guidelines/test_conformance.py")
# rule table -> the tests that load it
TABLES: dict[str, tuple[str, ...]] = {
    "imatinib_label": ("tests/domain/guidelines/test_label.py",),
    "eln2006": _ELN_TESTS,
    "eln2009": _ELN_TESTS,
    "eln2013": _ELN_TESTS,
    "eln2020": _ELN_TESTS,
    "eln2020_tfr": ("tests/domain/guidelines/test_tfr.py",),
    "kantarjian2003": ("tests/domain/guidelines/test_protocol.py",
                       "tests/domain/guidelines/test_seed004.py"),
    "ctcae_v4": ("tests/domain/test_toxicity.py",),
    "ctcae_v5": ("tests/domain/test_toxicity.py",),
}


@dataclass
class Mutant:
    where: str  # "file:line"
    before: str
    after: str
    start: int  # character offsets in the file's text
    end: int


def _nudged(text: str, value: float | int | bool) -> list[str]:
    """The mutated spellings of one literal: a flag flipped, a number moved both ways."""
    if isinstance(value, bool):
        return ["False" if value else "True"]
    if isinstance(value, int):
        return [str(value - 1), str(value + 1)] if abs(value) < 20 else [
            str(round(value * 0.9)), str(round(value * 1.1))]
    if value == 0:
        return ["0.5"]
    return [repr(value * 0.9), repr(value * 1.1)]


def _offsets(text: str) -> list[int]:
    starts, pos = [], 0
    for line in text.splitlines(keepends=True):
        starts.append(pos)
        pos += len(line)
    return starts


def module_mutants(path: Path) -> list[Mutant]:
    """Every number and boolean literal of the module's top-level statements (not inside a
    function or class, and not in a docstring or a string): what mutmut leaves alone."""
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text)
    starts = _offsets(text)
    out: list[Mutant] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef |
                      ast.Import | ast.ImportFrom | ast.Expr):
            continue
        for node in ast.walk(stmt):
            if isinstance(node, ast.Lambda | ast.FunctionDef):
                continue
            if not isinstance(node, ast.Constant) or not isinstance(node.value, int | float):
                continue
            if node.end_lineno != node.lineno or node.end_col_offset is None:
                continue
            start = starts[node.lineno - 1] + node.col_offset
            end = starts[node.lineno - 1] + node.end_col_offset
            before = text[start:end]
            for after in _nudged(before, node.value):
                out.append(Mutant(f"{path.name}:{node.lineno}", before, after, start, end))
    return out


_TEXT_KEYS = ("id", "wording", "source", "note", "notes", "citation", "verification", "name",
              "edition", "table", "term", "grade_text", "description")
_NUMBER = re.compile(r"(?<![\w.+\-\"'])\d+(?:\.\d+)?(?![\w.\"'])")
_OP = re.compile(r"\"(<=|<|>=|>)\"")
_FLIP = {"<=": "<", "<": "<=", ">=": ">", ">": ">="}


def table_mutants(path: Path) -> list[Mutant]:
    """Every number and quoted inequality of a YAML rule table, outside comments, text fields
    and quoted strings."""
    text = path.read_text(encoding="utf-8")
    out: list[Mutant] = []
    pos = 0
    for lineno, line in enumerate(text.splitlines(keepends=True), start=1):
        body = line.split(" #", 1)[0] if not line.lstrip().startswith("#") else ""
        key = re.match(r"\s*-?\s*([A-Za-z_]+):", body)
        if key and key.group(1) in _TEXT_KEYS:
            pos += len(line)
            continue
        quoted = [(m.start(), m.end()) for m in re.finditer(r"\"[^\"]*\"|'[^']*'", body)]
        for m in _OP.finditer(body):
            op = m.group(1)
            out.append(Mutant(f"{path.name}:{lineno}", f'"{op}"', f'"{_FLIP[op]}"',
                              pos + m.start(), pos + m.end()))
        for m in _NUMBER.finditer(body):
            if any(a <= m.start() < b for a, b in quoted):
                continue
            before = m.group(0)
            value: float | int = float(before) if "." in before else int(before)
            for after in _nudged(before, value):
                out.append(Mutant(f"{path.name}:{lineno}", before, after,
                                  pos + m.start(), pos + m.end()))
        pos += len(line)
    return out


def _scratch() -> Path:
    """A copy of src/ to mutate, so the work tree is never touched."""
    dest = WORK / "scratch"
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(ROOT / "src", dest / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


def _run_tests(src: Path, tests: tuple[str, ...]) -> bool:
    """True if the tests pass against ``src`` (a surviving mutant)."""
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONDONTWRITEBYTECODE": "1"}
    cmd = ["nice", "-n", "19", sys.executable, "-m", "pytest", "-x", "-q", "-p",
           "no:cacheprovider", "--timeout", "300", "-o", "addopts=", *tests]
    done = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, check=False)
    return done.returncode == 0


def run_literal_mutants(name: str, target: Path, rel: Path, mutants: list[Mutant],
                        tests: tuple[str, ...], kind: str) -> dict[str, object]:
    scratch = _scratch()
    mutated = scratch / "src" / "cmltrack" / rel
    original = mutated.read_text(encoding="utf-8")
    if not _run_tests(scratch / "src", tests):
        raise SystemExit(f"the tests of {name} fail before any mutation")
    survivors: list[str] = []
    start = time.monotonic()
    for i, m in enumerate(mutants, 1):
        mutated.write_text(original[:m.start] + m.after + original[m.end:], encoding="utf-8")
        survived = _run_tests(scratch / "src", tests)
        if survived:
            survivors.append(f"{m.where}: {m.before} -> {m.after}")
        print(f"[{i}/{len(mutants)}] {m.where} {m.before} -> {m.after}: "
              f"{'SURVIVED' if survived else 'killed'}", flush=True)
    mutated.write_text(original, encoding="utf-8")
    result = {"area": name, "kind": kind, "target": str(target.relative_to(ROOT)),
              "tests": list(tests), "mutants": len(mutants),
              "killed": len(mutants) - len(survivors), "survivors": survivors,
              "minutes": round((time.monotonic() - start) / 60, 1)}
    _save(f"{name}.{kind}", result)
    return result


def _save(key: str, result: dict[str, object]) -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    (DOCS / f"{key}.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


def run_mutmut(area: str) -> dict[str, object]:
    """mutmut on one module in a scratch project whose [tool.mutmut] names it and its tests."""
    module, tests = AREAS[area]
    work = WORK / f"mutmut-{area}"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    shutil.copytree(ROOT / "src", work / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "tests", work / "tests",
                    ignore=shutil.ignore_patterns("__pycache__", "fuzz"))
    shared = ROOT.parent / "shared"
    for beside in (work.parent / "shared", work / "shared"):  # ROOT.parent of work, mutants/
        if shared.exists() and not beside.exists():
            beside.symlink_to(shared.resolve())
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    # The shared settings of pyproject.toml's [tool.mutmut], plus this module and its tests.
    text = text.replace(
        "[tool.mutmut]\n",
        f'[tool.mutmut]\nonly_mutate = ["src/cmltrack/{module}"]\n'
        f"pytest_add_cli_args_test_selection = {json.dumps(list(tests))}\n",
    )
    (work / "pyproject.toml").write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    start = time.monotonic()
    subprocess.run(["nice", "-n", "19", sys.executable, "-m", "mutmut", "run",
                    "--max-children", "1"], cwd=work, env=env, check=False)
    listing = subprocess.run([sys.executable, "-m", "mutmut", "results", "--all", "true"],
                             cwd=work, env=env, capture_output=True, text=True, check=False)
    status: dict[str, str] = {}
    for line in listing.stdout.splitlines():
        if ":" in line and "__mutmut_" in line:
            name, _, state = line.strip().rpartition(": ")
            status[name.strip()] = state.strip()
    counts: dict[str, int] = {}
    for s in status.values():
        counts[s] = counts.get(s, 0) + 1
    # A run stopped early (its time was up) leaves mutants "not checked": counted apart.
    checked = {n: s for n, s in status.items() if s != "not checked"}
    result = {"area": area, "kind": "code", "target": f"src/cmltrack/{module}",
              "tests": list(tests), "mutants": len(checked), "generated": len(status),
              "partial": len(checked) < len(status), "counts": counts,
              "killed": counts.get("killed", 0) + counts.get("timeout", 0),
              "survivors": sorted(n for n, s in status.items() if s == "survived"),
              "no_tests": sorted(n for n, s in status.items() if s == "no tests"),
              "minutes": round((time.monotonic() - start) / 60, 1)}
    _save(f"{area}.code", result)
    return result


def write_table() -> Path:
    """docs/mutation.md: one row per run, equivalent mutants subtracted with their reasons."""
    import yaml

    equivalent_file = DOCS / "equivalent.yaml"
    equivalent: dict[str, dict[str, str]] = {}
    if equivalent_file.exists():
        equivalent = yaml.safe_load(equivalent_file.read_text(encoding="utf-8")) or {}
    rows = []
    for f in sorted(DOCS.glob("*.json")):
        r = json.loads(f.read_text(encoding="utf-8"))
        key = f.stem
        eq = equivalent.get(key, {})
        survivors = [s for s in r["survivors"] if s not in eq]
        n = int(r["mutants"]) - len(eq)
        killed = int(r["killed"])
        score = 100.0 * killed / n if n else 100.0
        kind = r["kind"]
        if r.get("partial"):
            kind += f" (stopped early: {r['mutants']} of {r['generated']} run)"
        rows.append((r["target"], kind, int(r["mutants"]), killed, len(eq), len(survivors),
                     score, r.get("minutes", "")))
    lines = [
        "# Mutation scores",
        "",
        "Generated by `python tests/mutation/mutate.py table` from the runs saved in",
        "`docs/mutation/*.json`; do not edit by hand. Score = killed / (mutants - equivalent).",
        "`code` rows are mutmut runs on the module's functions; `constants` rows change each",
        "module-level number and flag; `table` rows each number and inequality of a rule table.",
        "Each run used only the tests of its module (see `python tests/mutation/mutate.py "
        "areas`).",
        "",
        "| module or table | kind | mutants | killed | equivalent | surviving | score | minutes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for target, kind, n, killed, eq, surv, score, minutes in rows:
        lines.append(f"| {target} | {kind} | {n} | {killed} | {eq} | {surv} | {score:.1f}% "
                     f"| {minutes} |")
    lines += ["", "## Equivalent mutants", ""]
    for key, items in sorted(equivalent.items()):
        for mutant, reason in items.items():
            lines.append(f"- `{key}` `{mutant}`: {reason}")
    lines += ["", "## Surviving mutants (not equivalent: open work)", ""]
    for f in sorted(DOCS.glob("*.json")):
        r = json.loads(f.read_text(encoding="utf-8"))
        eq = equivalent.get(f.stem, {})
        for s in r["survivors"]:
            if s not in eq:
                lines.append(f"- `{f.stem}` `{s}`")
    out = ROOT / "docs" / "mutation.md"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


_LOG_LINE = re.compile(r"^\[(\d+)/(\d+)\] (\S+) (\S+) -> (\S+): (killed|SURVIVED)$")


def from_log(key: str, log: Path) -> dict[str, object]:
    """Results of a constants or tables run from its log (one line per mutant), for a run
    stopped before its end: only the mutants it reached are counted, and it says so."""
    area, kind = key.rsplit(".", 1)
    done, total, survivors = 0, 0, []
    for line in log.read_text(encoding="utf-8").splitlines():
        m = _LOG_LINE.match(line.strip())
        if m:
            done, total = int(m.group(1)), int(m.group(2))
            if m.group(6) == "SURVIVED":
                survivors.append(f"{m.group(3)}: {m.group(4)} -> {m.group(5)}")
    target = (f"src/cmltrack/rules/data/{area}.yaml" if kind == "table"
              else f"src/cmltrack/{AREAS[area][0]}")
    tests = TABLES[area] if kind == "table" else AREAS[area][1]
    result = {"area": area, "kind": kind, "target": target, "tests": list(tests),
              "mutants": done, "generated": total, "partial": done < total,
              "killed": done - len(survivors), "survivors": survivors}
    _save(key, result)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command",
                    choices=["code", "constants", "tables", "table", "areas", "fromlog"])
    ap.add_argument("name", nargs="?")
    ap.add_argument("log", nargs="?", type=Path, help="fromlog: the log of a stopped run")
    args = ap.parse_args()
    if args.command == "areas":
        for area, (module, tests) in AREAS.items():
            print(f"{area:10} src/cmltrack/{module:30} {' '.join(tests)}")
        for table, tests in TABLES.items():
            print(f"{table:14} rules/data/{table}.yaml  {' '.join(tests)}")
    elif args.command == "table":
        print(write_table())
    elif args.command == "fromlog":
        print(json.dumps(from_log(args.name, args.log), indent=1))
    elif args.command == "code":
        print(json.dumps(run_mutmut(args.name), indent=1))
    elif args.command == "constants":
        module, tests = AREAS[args.name]
        path = ROOT / "src" / "cmltrack" / module
        r = run_literal_mutants(args.name, path, Path(module), module_mutants(path), tests,
                                "constants")
        print(json.dumps(r, indent=1))
    else:
        rel = Path("rules") / "data" / f"{args.name}.yaml"
        path = ROOT / "src" / "cmltrack" / rel
        r = run_literal_mutants(args.name, path, rel, table_mutants(path), TABLES[args.name],
                                "table")
        print(json.dumps(r, indent=1))


if __name__ == "__main__":
    main()
