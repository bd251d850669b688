"""Units: each record field's standard unit and the conversions cmltrack accepts.

A value in another unit is accepted only where the unit is stated and the conversion is
unambiguous (patient-record contract v1). Conversion factors:
- cell counts: 10^3/uL = 10^9/L; /uL (cells per microlitre) / 1000 = 10^9/L
- hemoglobin: g/L / 10 = g/dL; mmol/L (monomer, Fe) x 1.6113 = g/dL (1 g/dL = 0.6206 mmol/L)
- bilirubin: umol/L / 17.104 = mg/dL; creatinine: umol/L / 88.42 = mg/dL
- transaminases: ukat/L x 60 = U/L
"""

from __future__ import annotations

from collections.abc import Callable

# Canonical spelling of unit strings: lower case, micro sign and 'mc' folded to 'u', no spaces.
_ALIASES = {
    "µ": "u",
    "μ": "u",
    " ": "",
    "x10": "10",
    "×10": "10",
    "*": "^",
    "mcl": "ul",
}


def normalise_unit(unit: str) -> str:
    """Fold the many spellings of a unit to one key (``'x10^9/L'`` -> ``'10^9/l'``)."""
    u = unit.strip().lower()
    for a, b in _ALIASES.items():
        u = u.replace(a, b)
    return u


_Conv = Callable[[float], float]


def _same(x: float) -> float:
    return x


_COUNT: dict[str, _Conv] = {
    "10^9/l": _same,
    "g/l": _same,
    "/nl": _same,
    "10^3/ul": _same,
    "k/ul": _same,
    "thou/ul": _same,
    "10^3/mm3": _same,
    "/ul": lambda x: x / 1000.0,
    "cells/ul": lambda x: x / 1000.0,
    "/mm3": lambda x: x / 1000.0,
    "10^6/l": lambda x: x / 1000.0,
}
_HGB: dict[str, _Conv] = {
    "g/dl": _same,
    "g/l": lambda x: x / 10.0,
    "mmol/l": lambda x: x * 1.6113,
}
_PCT: dict[str, _Conv] = {"%": _same, "percent": _same, "%is": _same, "%(is)": _same}
_CM: dict[str, _Conv] = {"cm": _same, "mm": lambda x: x / 10.0}
_ENZ: dict[str, _Conv] = {"u/l": _same, "iu/l": _same, "ukat/l": lambda x: x * 60.0}
_BILI: dict[str, _Conv] = {"mg/dl": _same, "umol/l": lambda x: x / 17.104}
_CREA: dict[str, _Conv] = {"mg/dl": _same, "umol/l": lambda x: x / 88.42}
_COPIES: dict[str, _Conv] = {"copies": _same, "copies/reaction": _same}
_DOSE: dict[str, _Conv] = {"mg/day": _same, "mg/d": _same, "mg": _same}
_YEARS: dict[str, _Conv] = {"years": _same, "y": _same, "yr": _same}
_NUMBER: dict[str, _Conv] = {"n": _same, "count": _same}

#: field -> (standard unit as written in the contract, accepted units -> conversion)
FIELD_UNITS: dict[str, tuple[str, dict[str, _Conv]]] = {}


def _register(fields: list[str], standard: str, table: dict[str, _Conv]) -> None:
    for f in fields:
        FIELD_UNITS[f] = (standard, table)


_COUNTS = ["wbc", "anc", "platelets", "lymphocytes"]
_register(_COUNTS + [f"{f}_{s}" for f in _COUNTS for s in ("lln", "uln")], "10^9/L", _COUNT)
_register(["hemoglobin", "hemoglobin_lln", "hemoglobin_uln"], "g/dL", _HGB)
_register(
    [
        "blasts_pb", "promyelocytes_pb", "myelocytes_pb", "metamyelocytes_pb", "basophils_pb",
        "eosinophils_pb", "blasts_bm", "promyelocytes_bm", "basophils_bm", "ph_pct",
        "fish_pct", "bcr_abl1_is",
    ],
    "%",
    _PCT,
)
_register(["spleen_cm"], "cm", _CM)
_register(["alt", "alt_uln", "ast", "ast_uln"], "U/L", _ENZ)
_register(["bilirubin", "bilirubin_uln"], "mg/dL", _BILI)
_register(["creatinine", "creatinine_uln"], "mg/dL", _CREA)
_register(["control_copies"], "copies", _COPIES)
_register(["ph_pos", "metaphases", "pos_nuclei", "nuclei"], "count", _NUMBER)
_register(["dose_mg_per_day"], "mg/day", _DOSE)
_register(["age"], "years", _YEARS)


class UnitError(ValueError):
    """A unit that is unknown for the field or cannot be converted."""


def to_standard(field: str, value: float, unit: str | None) -> float:
    """Convert ``value`` given in ``unit`` to the field's standard unit.

    ``unit`` None or empty means the value is already in the standard unit.
    Raises :class:`UnitError` for a field without units or a unit it cannot convert.
    """
    if unit is None or unit.strip() == "":
        return value
    entry = FIELD_UNITS.get(field)
    if entry is None:
        raise UnitError(f"field {field!r} takes no unit, got {unit!r}")
    standard, table = entry
    conv = table.get(normalise_unit(unit))
    if conv is None:
        accepted = ", ".join(sorted(table))
        raise UnitError(f"unit {unit!r} cannot be converted to {standard} (accepted: {accepted})")
    return conv(value)
