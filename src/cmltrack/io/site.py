"""Site configuration: the laboratory's reference limits, read from a TOML file.

```toml
# site.toml: limits used where an observation carries no <field>_lln / <field>_uln
[limits]
anc_lln = 1.5            # 10^9/L
platelets_lln = 150
hemoglobin_lln_female = 12.0   # g/dL
hemoglobin_lln_male = 13.0
alt_uln = 45             # U/L
bilirubin_uln = 1.2      # mg/dL
```
Every key is a field of :class:`cmltrack.domain.options.LabLimits`; a key not given keeps its
default. Unknown keys, non-numbers and limits <= 0 are refused with the file and the key.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

from cmltrack.domain.options import LabLimits
from cmltrack.errors import InputError


def read_site_config(path: str | Path) -> LabLimits:
    """The reference limits of a site configuration file (TOML, table ``[limits]``)."""
    p = Path(path)
    name = str(p)
    if not p.is_file():
        raise InputError("no such file", code="not_found", file=name)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"not valid TOML: {exc}", code="bad_format", file=name) from None
    unknown_tables = sorted(set(data) - {"limits"})
    if unknown_tables:
        raise InputError(
            "unknown table (expected [limits])", code="unknown_field", file=name,
            field=unknown_tables[0],
        )
    limits = data.get("limits", {})
    known = {f.name for f in dataclasses.fields(LabLimits)}
    values: dict[str, float] = {}
    for key, value in limits.items():
        if key not in known:
            raise InputError(
                f"unknown limit (known: {', '.join(sorted(known))})",
                code="unknown_field", file=name, path="limits", field=key,
            )
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError(f"{value!r} is not a number", code="bad_type", file=name,
                             path="limits", field=key)
        if value <= 0:
            raise InputError(f"a limit must be > 0, got {value!r}", code="impossible_value",
                             file=name, path="limits", field=key)
        values[key] = float(value)
    return LabLimits(**values)
