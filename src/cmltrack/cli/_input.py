"""Reading patient records for a command: an input without a single patient is an error (exit
2) unless the user says ``--allow-empty``, so that a wrong file or an empty export is not
mistaken for a clinic with nothing to do."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cmltrack.errors import InputError

if TYPE_CHECKING:
    from cmltrack.domain.records import PatientRecord
    from cmltrack.io import OnError

AllowEmptyOpt = Annotated[
    bool,
    typer.Option("--allow-empty", help="Accept an input with no patients (default: exit 2)."),
]


def patient_records(
    path: Path, *, allow_empty: bool = False, on_error: OnError | None = None,
    fhir_ids: dict[str, Any] | None = None,
) -> Iterator[PatientRecord]:
    """The records of ``path`` (lazily, as ``read_records``, which fills ``fhir_ids`` for FHIR
    input); raises InputError ``empty`` at the end when the input held no record at all
    (refused ones skipped by ``on_error`` count as records)."""
    from cmltrack.io import read_records

    seen = 0

    def counting(exc: InputError) -> None:
        nonlocal seen
        seen += 1
        assert on_error is not None
        on_error(exc)

    for rec in read_records(path, on_error=counting if on_error is not None else None,
                            fhir_ids=fhir_ids):
        seen += 1
        yield rec
    if seen == 0 and not allow_empty:
        raise InputError(
            "holds no patient records (use --allow-empty if that is expected)",
            code="empty", file=str(path),
        )
