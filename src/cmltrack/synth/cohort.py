"""Public API of the generator: stream a cohort as records, dicts or files.

The cohort is a function of (n, seed, profile, as_of) only: patients are simulated in fixed
blocks of :data:`~cmltrack.synth.rng.BLOCK` with one random stream per block, so the batch size
and the number of worker processes change speed and memory, never the patients.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO, Literal

from cmltrack.domain.records import PatientRecord
from cmltrack.errors import InputError
from cmltrack.synth.emit import CSV_TABLES, batch_to_csv, batch_to_dicts, batch_to_jsonl
from cmltrack.synth.model import BatchResult, simulate_batch
from cmltrack.synth.profiles import Profile, get_profile
from cmltrack.synth.rng import BLOCK

#: The fixed generation date: the generator never reads the clock.
DEFAULT_AS_OF = dt.date(2025, 12, 31)
DEFAULT_BATCH = 10_000

Format = Literal["jsonl", "csv"]


def _batches(n: int, batch_size: int) -> list[tuple[int, list[int]]]:
    """(first block, block sizes) of each batch: whole blocks, at least one per batch."""
    blocks = [min(BLOCK, n - s) for s in range(0, n, BLOCK)]
    per = max(1, batch_size // BLOCK)
    return [(i, blocks[i:i + per]) for i in range(0, len(blocks), per)]


def _check(n: int, seed: int, batch_size: int) -> None:
    if n < 1:
        raise InputError(f"--patients must be at least 1, got {n}", code="bad_argument",
                         field="patients")
    if seed < 0:
        raise InputError(f"--seed must be >= 0, got {seed}", code="bad_argument", field="seed")
    if batch_size < 1:
        raise InputError(f"--batch-size must be >= 1, got {batch_size}", code="bad_argument",
                         field="batch-size")


def _profile(profile: str | Profile) -> Profile:
    return profile if isinstance(profile, Profile) else get_profile(profile)


def simulate(n: int, seed: int, profile: str | Profile = "first-line", *,
             as_of: dt.date = DEFAULT_AS_OF, batch_size: int = DEFAULT_BATCH
             ) -> Iterator[BatchResult]:
    """The simulated batches of the cohort, in order (for callers that want the raw logs)."""
    _check(n, seed, batch_size)
    prof = _profile(profile)
    for first, sizes in _batches(n, batch_size):
        yield simulate_batch(prof, seed, first, sizes, as_of)


def generate_cohort_dicts(n: int, seed: int, profile: str | Profile = "first-line", *,
                          as_of: dt.date = DEFAULT_AS_OF, batch_size: int = DEFAULT_BATCH
                          ) -> Iterator[dict[str, Any]]:
    """The cohort as plain dicts in the shape of the patient-record contract (JSON)."""
    for res in simulate(n, seed, profile, as_of=as_of, batch_size=batch_size):
        yield from batch_to_dicts(res, as_of.toordinal())


def generate_cohort(n: int, seed: int, profile: str | Profile = "first-line", *,
                    as_of: dt.date = DEFAULT_AS_OF, batch_size: int = DEFAULT_BATCH
                    ) -> Iterator[PatientRecord]:
    """``n`` synthetic patients as validated records, streamed batch by batch.

    The same (n, seed, profile, as_of) always gives the same patients. ``as_of`` is the
    generation date: nothing is dated after it.
    """
    ctx = {"today": as_of}
    for d in generate_cohort_dicts(n, seed, profile, as_of=as_of, batch_size=batch_size):
        yield PatientRecord.model_validate(d, context=ctx)


def output_format(path: Path) -> Format:
    """``.jsonl`` (or ``.jsonl.gz``) -> JSON Lines; no extension (or an existing folder) -> a
    folder of CSV tables."""
    if path.name.lower().endswith((".jsonl", ".jsonl.gz")):
        return "jsonl"
    if path.suffix == "" or path.is_dir():
        return "csv"
    raise InputError(
        f"cannot tell the output format from {str(path)!r}: use a .jsonl file or a folder name",
        code="bad_argument", field="out",
    )


def _work(job: tuple[Profile, int, int, list[int], dt.date, Format, str]
          ) -> tuple[int, dict[str, str]]:
    """Simulate one batch and write its text to part files (cheaper than sending it back)."""
    prof, seed, first, sizes, as_of, fmt, part_dir = job
    res = simulate_batch(prof, seed, first, sizes, as_of)
    texts = ({"cohort.jsonl": batch_to_jsonl(res, as_of.toordinal())} if fmt == "jsonl"
             else batch_to_csv(res, as_of.toordinal()))
    parts = {}
    for name, text in texts.items():
        part = os.path.join(part_dir, f"part-{first:07d}-{name}")
        with open(part, "wb") as fh:
            fh.write(text.encode("utf-8"))
        parts[name] = part
    return res.n, parts


def _append(dst: BinaryIO, src: str) -> None:
    """Append file ``src`` to ``dst`` (in the kernel where it can) and delete ``src``."""
    with open(src, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        done = 0
        try:
            while done < size:
                k = os.sendfile(dst.fileno(), fh.fileno(), done, size - done)
                if k == 0:
                    break
                done += k
        except OSError:
            pass
        if done < size:
            fh.seek(done)
            shutil.copyfileobj(fh, dst)
    os.unlink(src)


def write_cohort(
    n: int, seed: int, out: str | os.PathLike[str], profile: str | Profile = "first-line", *,
    as_of: dt.date = DEFAULT_AS_OF, batch_size: int = DEFAULT_BATCH, workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Write the cohort to ``out`` (``.jsonl`` or a CSV folder), streaming batch by batch.

    Built in a temporary sibling folder and moved into place at the end, so an interrupted run
    leaves nothing half-written. ``workers`` > 1 simulates batches in parallel processes (at
    most two batches per worker in flight, so memory stays bounded); the output is identical.
    ``progress`` is called with the number of patients finished after each batch.
    """
    _check(n, seed, batch_size)
    prof = _profile(profile)
    path = Path(out)
    fmt = output_format(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"folder {str(parent)!r} does not exist", code="not_found", field="out")
    if fmt == "csv" and path.exists() and not path.is_dir():
        raise InputError(f"{str(path)!r} exists and is not a folder", code="bad_argument",
                         field="out")
    tmpdir = parent / f".{path.name}.{os.getpid()}.tmp"
    shutil.rmtree(tmpdir, ignore_errors=True)
    tmpdir.mkdir()
    # batch parts in RAM where there is a tmpfs: the disk then sees each byte once
    shm = "/dev/shm"
    part_dir = tempfile.mkdtemp(prefix="cmltrack-synth-",
                                dir=shm if os.access(shm, os.W_OK) else str(tmpdir))
    jobs = [(prof, seed, first, sizes, as_of, fmt, part_dir)
            for first, sizes in _batches(n, batch_size)]
    names = ["cohort.jsonl"] if fmt == "jsonl" else list(CSV_TABLES)
    try:
        handles = {name: open(tmpdir / name, "wb", buffering=0)  # noqa: SIM115
                   for name in names}
        try:
            if fmt == "csv":
                for name, cols in CSV_TABLES.items():
                    handles[name].write((",".join(cols) + "\n").encode())
            for k, parts in _run(jobs, workers):
                for name, part in parts.items():
                    _append(handles[name], part)
                if progress:
                    progress(k)
        finally:
            for fh in handles.values():
                fh.close()
        if fmt == "jsonl" and path.name.lower().endswith(".gz"):
            # Read back as .jsonl.gz by every reader; compressed once the whole file is written.
            import gzip

            with open(tmpdir / "cohort.jsonl", "rb") as src, \
                    gzip.open(tmpdir / "cohort.jsonl.gz", "wb", compresslevel=6) as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            os.replace(tmpdir / "cohort.jsonl.gz", path)
        elif fmt == "jsonl":
            os.replace(tmpdir / "cohort.jsonl", path)
        elif path.is_dir():
            for name in names:
                os.replace(tmpdir / name, path / name)
        else:
            os.replace(tmpdir, path)
    finally:
        shutil.rmtree(part_dir, ignore_errors=True)
        shutil.rmtree(tmpdir, ignore_errors=True)
    return path


def _run(jobs: list[Any], workers: int) -> Iterator[tuple[int, dict[str, str]]]:
    """Results of ``_work`` in job order, with a bounded number of jobs in flight."""
    if workers <= 1 or len(jobs) == 1:
        for job in jobs:
            yield _work(job)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending: list[Future[tuple[int, dict[str, str]]]] = []
        it = iter(jobs)
        for job in it:
            pending.append(pool.submit(_work, job))
            if len(pending) >= 2 * workers:
                break
        for job in it:
            yield pending.pop(0).result()
            pending.append(pool.submit(_work, job))
        while pending:
            yield pending.pop(0).result()
