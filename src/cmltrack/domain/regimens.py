"""Regimens as data: a dosing calendar with body-surface-area doses (aml spec section 4).

Each regimen is a YAML file under ``rules/data/regimens`` with its source. BSA is Mosteller
(default) or DuBois, rounded half-up to 0.01 m^2; that rounded value multiplies the per-m^2 dose,
and each administration is rounded half-up to the drug's step. All of it is decimal arithmetic,
so an exact tie rounds up (160 cm, 60 kg: BSA 1.63, cladribine 5 x 1.63 = 8.15 -> 8.2 mg, where
binary floating point or ``round()`` give 8.1).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from importlib import resources
from typing import Any, Literal

import yaml

from cmltrack.errors import InputError, RuleTableError

SCHEMA = "cmltrack.regimen/1"
BsaFormula = Literal["mosteller", "dubois"]
_CENT = Decimal("0.01")
_CTX = Context(prec=34)
#: Plausible adult and paediatric ranges; outside them a typing error is more likely.
HEIGHT_CM = (Decimal(40), Decimal(250))
WEIGHT_KG = (Decimal(2), Decimal(350))


def regimen_names() -> list[str]:
    folder = resources.files("cmltrack.rules").joinpath("data", "regimens")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


@functools.cache
def load_regimen(name: str) -> Mapping[str, Any]:
    """The regimen's table (``rules/data/regimens/<name>.yaml``)."""
    if name not in regimen_names():
        raise InputError(f"unknown regimen {name!r} (known: {', '.join(regimen_names())})",
                         code="unknown_value", field="regimen")
    path = resources.files("cmltrack.rules").joinpath("data", "regimens", f"{name}.yaml")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("regimen") != name or not data.get("drugs"):
        raise RuleTableError(f"regimen table {name!r} is malformed")
    table: Mapping[str, Any] = data
    return table


def _dec(value: float | int | str | Decimal) -> Decimal:
    # str() of a float is its shortest repr: 170.5 stays 170.5, not its binary expansion.
    return value if isinstance(value, Decimal) else Decimal(str(value))


def bsa(height_cm: float | Decimal, weight_kg: float | Decimal,
        formula: BsaFormula = "mosteller") -> Decimal:
    """Body surface area in m^2, rounded half-up to 0.01."""
    h, w = _dec(height_cm), _dec(weight_kg)
    with localcontext(_CTX):
        if formula == "mosteller":
            value = (h * w / Decimal(3600)).sqrt()
        else:
            value = Decimal("0.007184") * w ** Decimal("0.425") * h ** Decimal("0.725")
        return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def round_half_up(value: Decimal, step: Decimal) -> Decimal:
    """``value`` rounded half-up to a multiple of ``step`` (1, 0.1, ...)."""
    with localcontext(_CTX):
        return (value / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step


def _number(d: Decimal) -> int | float:
    """A JSON number: whole values as integers (3640), others as floats (8.2)."""
    return int(d) if d == d.to_integral_value() else float(d)


@dataclass(frozen=True, slots=True)
class DrugPlan:
    drug: str
    route: str
    per_m2_mg: Decimal | None
    dose_mg: Decimal
    doses_per_day: int
    days: tuple[int, ...]
    start: dt.date
    timing: str | None
    after: str | None
    source: str
    label: str | None

    @property
    def daily_mg(self) -> Decimal:
        return self.dose_mg * self.doses_per_day

    @property
    def n_doses(self) -> int:
        return len(self.days) * self.doses_per_day

    def date_of(self, day: int) -> dt.date:
        return self.start + dt.timedelta(days=day - 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "drug": self.drug, "route": self.route,
            "per_m2_mg": None if self.per_m2_mg is None else _number(self.per_m2_mg),
            "dose_mg": _number(self.dose_mg), "doses_per_day": self.doses_per_day,
            "daily_mg": _number(self.daily_mg), "days": list(self.days),
            "n_days": len(self.days), "n_doses": self.n_doses,
            "first_date": self.date_of(self.days[0]).isoformat(),
            "last_date": self.date_of(self.days[-1]).isoformat(),
            "total_mg": _number(self.dose_mg * self.n_doses),
            "timing": self.timing, "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class RegimenPlan:
    regimen: str
    title: str
    source: str
    start: dt.date
    height_cm: Decimal | None
    weight_kg: Decimal | None
    bsa_formula: BsaFormula
    bsa_m2: Decimal | None
    bsa_uncapped_m2: Decimal | None
    drugs: tuple[DrugPlan, ...]
    notes: tuple[str, ...]

    def calendar(self) -> list[tuple[int, dt.date, list[DrugPlan]]]:
        """Each day with its administrations; a drug given 'after' another comes after it."""
        last = max(d.days[-1] for d in self.drugs)
        out = []
        for n in range(1, last + 1):
            given = [d for d in self.drugs if n in d.days]
            names = {d.drug for d in given}
            ordered: list[DrugPlan] = []
            for d in given:
                if d.after in names:
                    continue  # placed right after the drug it follows
                ordered.append(d)
                ordered += [x for x in given if x.after == d.drug]
            out.append((n, self.start + dt.timedelta(days=n - 1), ordered))
        return out

    def to_dict(self) -> dict[str, Any]:
        def num(v: Decimal | None) -> int | float | None:
            return None if v is None else _number(v)

        out: dict[str, Any] = {
            "schema": SCHEMA, "regimen": self.regimen, "start": self.start.isoformat(),
            "height_cm": num(self.height_cm), "weight_kg": num(self.weight_kg),
            "bsa_formula": self.bsa_formula, "bsa_m2": num(self.bsa_m2),
        }
        if self.bsa_uncapped_m2 is not None:
            out["bsa_uncapped_m2"] = num(self.bsa_uncapped_m2)
        out["drugs"] = [d.to_dict() for d in self.drugs]
        out["calendar"] = [
            {"day": n, "date": date.isoformat(),
             "administrations": [{"drug": d.drug, "dose_mg": _number(d.dose_mg),
                                  "route": d.route}
                                 for d in given for _ in range(d.doses_per_day)]}
            for n, date, given in self.calendar()]
        out["notes"] = list(self.notes)
        return out


def _check_range(value: Decimal, bounds: tuple[Decimal, Decimal], option: str,
                 unit: str) -> None:
    lo, hi = bounds
    if not lo <= value <= hi:
        raise InputError(f"{value} {unit} is impossible here (must be {lo}-{hi} {unit})",
                         code="impossible_value", field=option)


def _days(spec: Any, n: int) -> tuple[int, ...]:
    if isinstance(spec, list):
        return tuple(int(d) for d in spec)
    lo = int(spec["from"])
    hi = n if spec["to"] == "N" else int(spec["to"])
    return tuple(range(lo, hi + 1))


def _option_dose(table: Mapping[str, Any], name: str, given: int | None) -> Decimal:
    spec = table.get("options", {}).get(name)
    if spec is None:
        raise RuleTableError(f"regimen {table['regimen']!r} names option {name!r} it lacks")
    value = spec["default"] if given is None else given
    flag = "--" + name.replace("_", "-")
    if "allowed" in spec and value not in spec["allowed"]:
        raise InputError(f"{value} is not one of {', '.join(map(str, spec['allowed']))}",
                         code="bad_argument", field=flag)
    if "min" in spec and not spec["min"] <= value <= spec["max"]:
        raise InputError(f"{value} mg is outside {spec['min']}-{spec['max']} mg",
                         code="bad_argument", field=flag)
    return Decimal(int(value))


def plan_regimen(
    name: str,
    start: dt.date,
    *,
    height_cm: float | None = None,
    weight_kg: float | None = None,
    bsa_formula: BsaFormula = "mosteller",
    days: int | None = None,
    imatinib_mg: int | None = None,
    pioglitazone_mg: int | None = None,
    bsa_cap_m2: float | None = None,
) -> RegimenPlan:
    """The regimen's doses and calendar from ``start`` (day 1)."""
    table = load_regimen(name)
    notes: list[str] = []
    options = table.get("options", {})
    for option, given in (("imatinib_mg", imatinib_mg), ("pioglitazone_mg", pioglitazone_mg)):
        if given is not None and option not in options:
            raise InputError(f"--{option.replace('_', '-')} does not apply to {name}",
                             code="bad_argument", field=f"--{option.replace('_', '-')}")
    if table.get("fixed_days"):
        n = 0
        if days is not None:
            notes.append(f"--days {days} ignored: {name} is one fixed course")
    else:
        n = int(table["default_days"]) if days is None else days
        if not 1 <= n <= 3660:
            raise InputError(f"{n} days is outside 1-3660", code="bad_argument", field="--days")
    needs_bsa = any("per_m2_mg" in d for d in table["drugs"])
    h = w = bsa_m2 = uncapped = None
    if height_cm is not None or weight_kg is not None:
        if height_cm is None or weight_kg is None:
            missing = "--height-cm" if height_cm is None else "--weight-kg"
            raise InputError("height and weight go together for the body surface area",
                             code="missing_field", field=missing)
        h, w = _dec(height_cm), _dec(weight_kg)
        _check_range(h, HEIGHT_CM, "--height-cm", "cm")
        _check_range(w, WEIGHT_KG, "--weight-kg", "kg")
        bsa_m2 = bsa(h, w, bsa_formula)
        if bsa_cap_m2 is not None:
            cap = _dec(bsa_cap_m2)
            if cap <= 0:
                raise InputError("the BSA cap must be > 0", code="bad_argument",
                                 field="--bsa-cap")
            if bsa_m2 > cap:
                uncapped, bsa_m2 = bsa_m2, cap
                notes.append(f"BSA {uncapped} m^2 capped at {cap} m^2")
    elif needs_bsa:
        drugs = ", ".join(d["drug"] for d in table["drugs"] if "per_m2_mg" in d)
        raise InputError(f"{name} doses {drugs} by body surface area: give --height-cm and "
                         "--weight-kg", code="missing_field", field="--height-cm")
    plans: list[DrugPlan] = []
    for d in table["drugs"]:
        per_m2 = None
        if "per_m2_mg" in d:
            assert bsa_m2 is not None
            per_m2 = _dec(d["per_m2_mg"])
            with localcontext(_CTX):
                dose = round_half_up(per_m2 * bsa_m2, _dec(d["round_to_mg"]))
        elif str(d["dose_mg"]).startswith("option:"):
            option = str(d["dose_mg"]).split(":", 1)[1]
            dose = _option_dose(table, option, imatinib_mg if option == "imatinib_mg"
                                else pioglitazone_mg)
        else:
            dose = _dec(d["dose_mg"])
        plans.append(DrugPlan(
            drug=d["drug"], route=d["route"], per_m2_mg=per_m2, dose_mg=dose,
            doses_per_day=int(d["doses_per_day"]), days=_days(d["days"], n), start=start,
            timing=d.get("timing"), after=d.get("after"), source=d["source"],
            label=d.get("label")))
    return RegimenPlan(
        regimen=name, title=table["title"], source=table["source"], start=start,
        height_cm=h, weight_kg=w, bsa_formula=bsa_formula, bsa_m2=bsa_m2,
        bsa_uncapped_m2=uncapped, drugs=tuple(plans), notes=tuple(notes))


def render_calendar(plan: RegimenPlan, disclaimer: str) -> str:
    """The calendar as a table, one row per day."""
    lines = [f"{plan.title} [{plan.regimen}]  source: {plan.source}"]
    if plan.bsa_m2 is not None:
        lines.append(f"height {_plain(plan.height_cm)} cm, weight {_plain(plan.weight_kg)} kg: BSA "
                     f"{plan.bsa_m2} m^2 ({plan.bsa_formula})")
    for d in plan.drugs:
        per = f" ({d.per_m2_mg} mg/m^2)" if d.per_m2_mg is not None else ""
        times = "once daily" if d.doses_per_day == 1 else f"{d.doses_per_day} times daily"
        days = _span(d.days)
        timing = f", {d.timing}" if d.timing else ""
        lines.append(f"  {d.label or d.drug}: {d.dose_mg} mg{per} {d.route} {times}, days "
                     f"{days}{timing}; {d.n_doses} doses, total {d.dose_mg * d.n_doses} mg "
                     f"({d.source})")
    lines.append(f"{'day':>4}  {'date':<10}  administrations")
    lines.append("-" * 72)
    for n, date, given in plan.calendar():
        text = "; ".join(
            f"{d.drug} {d.dose_mg} mg {d.route}"
            + (f" x{d.doses_per_day}" if d.doses_per_day > 1 else "")
            + (f" ({d.timing})" if d.after and any(g.drug == d.after for g in given) else "")
            for d in given)
        lines.append(f"{n:>4}  {date.isoformat():<10}  {text or '-'}")
    lines += list(plan.notes)
    lines.append(disclaimer)
    return "\n".join(lines)


def _plain(d: Decimal | None) -> str:
    return "-" if d is None else format(d.normalize(), "f")


def _span(days: Sequence[int]) -> str:
    if list(days) == list(range(days[0], days[-1] + 1)):
        return f"{days[0]}-{days[-1]}" if len(days) > 1 else str(days[0])
    return ", ".join(map(str, days))
