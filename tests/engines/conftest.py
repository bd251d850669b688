"""One real local Spark for all engine tests (local[2], two attempts per task)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from cmltrack.synth.cohort import generate_cohort_dicts

pyspark = pytest.importorskip("pyspark")


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    from cmltrack.engines.spark import start

    # local[2,2]: two worker threads and a second attempt for a failed task (the retry test);
    # small input splits so that about 400 KB of JSON Lines spread over several tasks.
    session = start("local[2,2]")
    session.conf.set("spark.sql.files.maxPartitionBytes", str(96 * 1024))
    yield session
    session.stop()


@pytest.fixture(scope="session")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 synthetic patients of two profiles as JSON Lines, with a blank line among them."""
    path = tmp_path_factory.mktemp("cohort") / "cohort.jsonl"
    rows = [*generate_cohort_dicts(40, 5), *generate_cohort_dicts(20, 6, "tfr-clinic")]
    for i, r in enumerate(rows):
        r["id"] = f"R{i:04d}"
    lines = [json.dumps(r) for r in rows]
    lines.insert(17, "   ")
    path.write_text("\n".join(lines) + "\n")
    return path
