"""The worklist's background work against a real SQLite store, without a browser: a day's rows
are built and rendered ahead of time, only changed patients are rebuilt, and rows of past days
are dropped (web/app.py: warm_day, per_digest, _prune)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = json.loads((ROOT / "src/cmltrack/examples/patients.json").read_text())


@pytest.fixture
def clinic(tmp_path: Path) -> Any:
    pytest.importorskip("fastapi")
    from cmltrack.service import core
    from cmltrack.service.app import open_services
    from cmltrack.service.auth import Principal
    from cmltrack.service.settings import load_settings

    svc = open_services(load_settings({"data_dir": tmp_path, "log_level": "warning"}))
    who = Principal("test", "clinician")
    for r in EXAMPLES[:4]:
        core.put_patient(svc, who, r["id"], r)
    try:
        yield svc, who
    finally:
        svc.db.dispose()


def test_a_day_is_built_and_rendered_ahead_and_only_changes_are_rebuilt(clinic: Any) -> None:
    from cmltrack.service import core
    from cmltrack.web import app as web

    svc, who = clinic
    state = web.WebState()
    day = dt.date(2031, 1, 15)
    web.warm_day(svc, state, day)
    key = web._request(None, day).key
    ids = sorted(r["id"] for r in EXAMPLES[:4])
    assert sorted(pid for pid, _, k in state.rows if k == key) == ids
    assert len(state.row_html) == 4  # every row rendered once
    rendered = dict(state.row_html)

    # Nothing changed: nothing is built again.
    built: list[str] = []

    def build(r: Any) -> str:
        built.append(r.id)
        return r.id

    memo: dict[tuple[str, str, str], str] = {}
    assert sorted(web.per_digest(svc, state, memo, "k", build)) == ids
    assert sorted(built) == ids
    built.clear()
    assert sorted(web.per_digest(svc, state, memo, "k", build)) == ids
    assert built == []
    # One patient changes: only that one is built again.
    changed = dict(EXAMPLES[1], events=[*EXAMPLES[1].get("events", []), {
        "date": "2020-04-01", "kind": "off_study", "note": "moved away"}])
    core.put_patient(svc, who, changed["id"], changed)
    web.per_digest(svc, state, memo, "k", build)
    assert built == [changed["id"]]

    # The page for that day joins the rendered rows (the same markup, not rendered anew).
    render = web._row_renderer(state, state.patient_base)
    rows = web.worklist_rows(svc, state, web._request(None, day), day)
    assert all(render(r) is rendered.get((r, state.patient_base), render(r)) for r in rows)

    # Rows judged as of an earlier day are dropped; the day's own stay.
    web._prune(state, day + dt.timedelta(days=1))
    assert not any(k == key for _, _, k in state.rows)
    web.warm_day(svc, state, day + dt.timedelta(days=1))
    web._prune(state, day + dt.timedelta(days=1))
    assert len(state.rows) == 4
