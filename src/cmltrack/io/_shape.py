"""The compact JSON shape of a record: every field that is set, nothing that is None or empty."""

from __future__ import annotations

import re
from typing import Any

from cmltrack.domain.records import PatientRecord

# An empty list field as pydantic's compact JSON writes it. Inside a JSON string every quote is
# escaped, so the unescaped pattern can only be a key of our own output.
_EMPTY_FIRST = re.compile(r'\{"[a-z0-9_]+":\[\],?')
_EMPTY_LATER = re.compile(r',"[a-z0-9_]+":\[\]')


def _drop_empty(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_empty(v) for k, v in value.items() if v != [] and v != {}}
    if isinstance(value, list):
        return [_drop_empty(v) for v in value]
    return value


def record_to_dict(record: PatientRecord) -> dict[str, Any]:
    """The record as JSON-ready data in the contract's shape, omitting None and empty fields.

    ``PatientRecord.model_validate(record_to_dict(r)) == r`` for every record.
    """
    data: dict[str, Any] = _drop_empty(record.model_dump(mode="json", exclude_none=True))
    return data


def record_to_json(record: PatientRecord) -> str:
    """The compact shape as one line of JSON (what ``json.dumps(record_to_dict(r))`` holds).

    Faster than going through a dict: pydantic serialises in Rust, and the empty lists it
    writes are cut out of the text.
    """
    text = record.model_dump_json(exclude_none=True)
    text = _EMPTY_LATER.sub("", text)
    return _EMPTY_FIRST.sub(lambda m: "{", text)
