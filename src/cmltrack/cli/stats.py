"""``cmltrack stats rate|km|cox|cif|simon|current``: cohort statistics (contract v1).

With ``--json`` each command prints exactly one JSON object; without, a readable table. Input
tables are CSV with a header row; error messages count rows like a spreadsheet (the header is
row 1, the first data row row 2) and name the file and the column.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from cmltrack.cli.app import app
from cmltrack.errors import CmltrackError, InputError

stats_app = typer.Typer(
    name="stats",
    help="Cohort statistics that match R (survival, cmprsk): rates, Kaplan-Meier, Cox, "
    "competing risks, Simon designs, current cumulative incidence.",
    no_args_is_help=True,
)
app.add_typer(stats_app, name="stats")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
LevelOpt = Annotated[float, typer.Option("--level", help="Confidence level.")]
TimeOpt = Annotated[str, typer.Option("--time", help="Column of follow-up times.")]
GroupOpt = Annotated[str | None, typer.Option("--group", help="Column of groups to compare.")]
AtOpt = Annotated[str | None, typer.Option("--at", help="Times to read the curve at: T1,T2,...")]


# ------------------------------------------------------------------------------ reading CSV


class Table:
    """A CSV file read as text, so that every bad cell can be reported with row and column."""

    def __init__(self, path: Path) -> None:
        from cmltrack.io.stattable import read_stat_table

        self.name = str(path)
        self.frame = read_stat_table(path)

    #: File row of each data row (set when rows were selected or joined); None: index + 2.
    rows: list[int] | None = None

    def derived(self, frame: Any, rows: list[int]) -> Table:
        """A table of selected (or joined) rows that still names the file's own rows."""
        new = object.__new__(Table)
        new.name, new.frame, new.rows = self.name, frame.reset_index(drop=True), rows
        return new

    def column(self, name: str) -> list[str]:
        if name not in self.frame.columns:
            raise InputError(
                f"column not found (columns: {', '.join(map(str, self.frame.columns))})",
                code="missing_field",
                file=self.name,
                field=name,
            )
        return [s.strip() for s in self.frame[name].tolist()]

    def error(self, message: str, code: str, index: int, column: str) -> InputError:
        # index 0 is the first data row: row 2 of the file.
        row = self.rows[index] if self.rows is not None else index + 2
        return InputError(message, code=code, file=self.name, row=row, field=column)

    def numbers(self, name: str, *, allow_empty: bool = False, non_negative: bool = True) -> Any:
        import numpy as np
        import pandas as pd

        text = pd.Series(self.column(name), dtype=object)
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
        empty = (text == "").to_numpy()
        bad = ~np.isfinite(values) & ~(empty & allow_empty)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            what = "is empty" if empty[i] else "is not a finite number"
            raise self.error(f"{text.iloc[i]!r} {what}", "bad_type", i, name)
        if non_negative and (values < 0).any():
            i = int(np.flatnonzero(values < 0)[0])
            raise self.error(f"{text.iloc[i]} is negative", "impossible_value", i, name)
        return values

    def codes(self, name: str, allowed: tuple[int, ...]) -> Any:
        import numpy as np

        values = self.numbers(name, non_negative=False)
        bad = ~np.isin(values, allowed)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise self.error(
                f"{self.column(name)[i]!r} is not one of {', '.join(map(str, allowed))}",
                "unknown_value",
                i,
                name,
            )
        return values.astype(np.int64)

    def groups(self, name: str) -> list[Any]:
        """Group values; numeric when every value is a number (so that 2 sorts before 10)."""
        raw = self.column(name)
        for i, text in enumerate(raw):
            if text == "":
                raise self.error("empty group value", "missing_field", i, name)
        try:
            nums = [float(t) for t in raw]
        except ValueError:
            return raw
        return [int(v) if v.is_integer() else v for v in nums]


def _in_file(tab: Table, fit: Any, *args: Any, **kwargs: Any) -> Any:
    """``fit(*args, **kwargs)``, its refusals of the data naming the table's file."""
    try:
        return fit(*args, **kwargs)
    except InputError as exc:
        if exc.code == "bad_argument" or exc.file:
            raise
        raise exc.located(file=tab.name) from None
    except CmltrackError as exc:  # a fit the data cannot give (a singular Cox information)
        raise InputError(str(exc), code="inconsistent", file=tab.name) from None


def parse_times(text: str | None, option: str = "--at") -> list[float]:
    """``"12,24"`` -> [12.0, 24.0]; each a number >= 0."""
    if text is None or text.strip() == "":
        return []
    out: list[float] = []
    for part in text.split(","):
        try:
            v = float(part)
        except ValueError:
            raise InputError(
                f"{part.strip()!r} is not a number", code="bad_argument", field=option
            ) from None
        if not math.isfinite(v) or v < 0:
            raise InputError(f"{part.strip()} must be >= 0", code="bad_argument", field=option)
        out.append(v)
    return out


def _choice(value: str, allowed: tuple[str, ...], option: str) -> str:
    if value not in allowed:
        raise InputError(
            f"{value!r} is not one of {', '.join(allowed)}", code="bad_argument", field=option
        )
    return value


# ------------------------------------------------------------------------------ output


def _emit(result: Any, as_json: bool, table: str) -> None:
    if as_json:
        typer.echo(json.dumps(result.to_dict(), allow_nan=False))
    else:
        typer.echo(table)


def _num(v: Any, digits: int = 4) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{v:.{digits}g}" if isinstance(v, float) else str(v)


def _grid(header: list[str], rows: list[list[Any]]) -> str:
    cells = [header] + [[_num(c) for c in r] for r in rows]
    widths = [max(len(str(r[j])) for r in cells) for j in range(len(header))]
    # Labels (the first column) left, numbers right, as printed tables have them.
    return "\n".join(
        "  ".join(str(c).ljust(w) if j == 0 else str(c).rjust(w)
                  for j, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip()
        for r in cells
    )


# ------------------------------------------------------------------------------ commands


@stats_app.command("rate")
def rate_cmd(
    k: Annotated[int, typer.Argument(help="Responders.")],
    n: Annotated[int, typer.Argument(help="Patients.")],
    method: Annotated[str, typer.Option("--method", help="exact, wilson or wald.")] = "exact",
    level: LevelOpt = 0.95,
    as_json: JsonOpt = False,
) -> None:
    """A response rate k/n with its confidence interval (exact Clopper-Pearson by default)."""
    from cmltrack.stats.rates import rate_ci

    r = rate_ci(k, n, _choice(method, ("exact", "wilson", "wald"), "--method"), level)  # type: ignore[arg-type]
    text = (
        f"{r.k}/{r.n} = {r.estimate:.1%}  {r.level:.0%} CI {r.lower:.1%} to {r.upper:.1%} "
        f"({r.method})"
    )
    _emit(r, as_json, text)


ParamOpt = Annotated[
    str | None,
    typer.Option("--param", help="ADTTE input (from cmltrack endpoints): the PARAMCD to analyse, "
                 "e.g. PFS, OS, TTMMR."),
]
EventOpt = Annotated[
    str | None,
    typer.Option("--event", help="Column: 1 event, 0 censored (not needed for ADTTE input)."),
]
CensorOpt = Annotated[
    str | None,
    typer.Option("--censor", help="Column coded as CDISC CNSR: 0 event, 1 (or more) censored. "
                 "ADTTE input uses CNSR."),
]
BaselineOpt = Annotated[
    Path | None,
    typer.Option("--baseline", help="Baseline table (endpoints --baseline) joined by USUBJID: "
                 "its columns serve as --group or covariates."),
]
TimeOptional = Annotated[
    str | None, typer.Option("--time", help="Column of follow-up times (ADTTE: AVAL).")
]

#: Column names that say "censored" (CNSR, censor, censored, cens): given as --event, the
#: coding would be read the wrong way round.
_CENSOR_NAME = re.compile(r"(^|_)(cnsr|cens|censor|censored|censoring)($|_)", re.IGNORECASE)
_ADTTE = ("PARAMCD", "AVAL", "CNSR")


class Survival:
    """The time and event columns of a survival analysis, read from a plain table or the
    ADTTE table ``cmltrack endpoints`` writes (one parameter chosen with ``--param``)."""

    def __init__(self, file: Path, param: str | None, baseline: Path | None) -> None:
        tab = Table(file)
        self.adtte = all(c in tab.frame.columns for c in _ADTTE)
        self.param = param
        self.label: str | None = None
        if self.adtte:
            codes = tab.column("PARAMCD")
            present = list(dict.fromkeys(codes))
            if param is None and len(present) > 1:
                raise InputError(
                    f"an ADTTE table with {len(present)} parameters ({', '.join(present)}): "
                    "choose one with --param",
                    code="bad_argument", file=tab.name, field="--param",
                )
            param = param if param is not None else present[0]
            if param not in present:
                raise InputError(
                    f"no rows with PARAMCD {param!r} (parameters: {', '.join(present)})",
                    code="unknown_value", file=tab.name, field="--param",
                )
            keep = [i for i, c in enumerate(codes) if c == param]
            tab = tab.derived(tab.frame.iloc[keep], [i + 2 for i in keep])
            self.param = param
            if "PARAM" in tab.frame.columns:
                self.label = tab.column("PARAM")[0]
            if "USUBJID" in tab.frame.columns:
                seen: dict[str, int] = {}
                for i, pid in enumerate(tab.column("USUBJID")):
                    if pid in seen:
                        raise tab.error(
                            f"patient {pid!r} has a second {param} row (first at row "
                            f"{tab.rows[seen[pid]] if tab.rows else seen[pid] + 2})",
                            "duplicate", i, "USUBJID",
                        )
                    seen[pid] = i
        elif param is not None:
            raise InputError(
                "--param selects the rows of an ADTTE table (columns PARAMCD, AVAL, CNSR, as "
                "cmltrack endpoints writes), and this file has no PARAMCD column",
                code="missing_field", file=tab.name, field="PARAMCD",
            )
        if baseline is not None:
            tab = _join_baseline(tab, Table(baseline))
        self.table = tab

    def times(self, column: str | None) -> Any:
        if column is None:
            if not self.adtte:
                raise InputError("name the column of follow-up times with --time",
                                 code="missing_field", field="--time")
            column = "AVAL"
        return self.table.numbers(column)

    def events(self, event: str | None, censor: str | None) -> Any:
        """1 event, 0 censored, from ``--event`` (1 = event) or ``--censor`` (CNSR coding)."""
        import numpy as np

        tab = self.table
        if event is not None and censor is not None:
            raise InputError("give --event or --censor, not both", code="bad_argument",
                             field="--censor")
        if event is None and censor is None:
            if not self.adtte:
                raise InputError(
                    "name the event column: --event COL (1 = event, 0 = censored) or "
                    "--censor COL (CDISC CNSR: 0 = event, 1 or more = censored)",
                    code="missing_field", field="--event",
                )
            censor = "CNSR"
        if event is not None:
            if _CENSOR_NAME.search(event):
                raise InputError(
                    f"column {event!r} is named as a censoring flag (1 = censored), the "
                    f"opposite of --event's 1 = event: pass --censor {event} if it holds "
                    "censoring, or rename the column if it holds events",
                    code="bad_argument", file=tab.name, field="--event",
                )
            values = tab.numbers(event, non_negative=False)
            if np.isin(values, (1, 2)).all() and (values == 2).any():
                raise InputError(
                    "coded 1/2 (in R's Surv, 1 = censored and 2 = event; elsewhere 2 can "
                    "mean a competing event): recode to 1 = event, 0 = censored",
                    code="unknown_value", file=tab.name, field=event,
                )
            return tab.codes(event, (0, 1))
        assert censor is not None
        values = tab.numbers(censor)
        frac = values != np.floor(values)
        if frac.any():
            i = int(np.flatnonzero(frac)[0])
            raise tab.error(f"{tab.column(censor)[i]!r} is not a censoring code (0 = event, "
                            "1 or more = censored)", "unknown_value", i, censor)
        return (values == 0).astype(np.int64)

    def status(self, status: str | None) -> Any:
        """0 censored, 1 event, 2 competing event; ADTTE: from CNSR and CMPEVNT."""
        import numpy as np

        tab = self.table
        if status is not None:
            return tab.codes(status, (0, 1, 2))
        if not self.adtte:
            raise InputError("name the status column with --status (0 censored, 1 event, "
                             "2 competing event)", code="missing_field", field="--status")
        event = self.events(None, None)
        competing = (tab.codes("CMPEVNT", (0, 1)) if "CMPEVNT" in tab.frame.columns
                     else np.zeros_like(event))
        return np.where(event == 1, 1, np.where(competing == 1, 2, 0)).astype(np.int64)

    def title(self) -> str | None:
        if self.param is None:
            return None
        return f"{self.param}: {self.label}" if self.label else self.param


def _join_baseline(tab: Table, base: Table) -> Table:
    """``tab`` with the baseline table's columns added, matched by USUBJID."""
    import pandas as pd

    ids = tab.column("USUBJID")
    base_ids = base.column("USUBJID")
    where: dict[str, int] = {}
    for i, pid in enumerate(base_ids):
        if pid in where:
            raise base.error(f"patient {pid!r} appears twice", "duplicate", i, "USUBJID")
        where[pid] = i
    for i, pid in enumerate(ids):
        if pid not in where:
            raise tab.error(f"patient {pid!r} is not in the baseline table {base.name}",
                            "inconsistent", i, "USUBJID")
    extra = [c for c in base.frame.columns if c not in tab.frame.columns]
    added = base.frame.iloc[[where[pid] for pid in ids]][extra].reset_index(drop=True)
    joined = pd.concat([tab.frame.reset_index(drop=True), added], axis=1)
    return tab.derived(joined, tab.rows or [i + 2 for i in range(len(ids))])


def _order(labels: list[Any]) -> list[int]:
    """Indices of ``labels`` in the natural clinical order (low, intermediate, high)."""
    from cmltrack.display import natural_order

    rank = {v: i for i, v in enumerate(natural_order(labels))}
    return sorted(range(len(labels)), key=lambda i: rank[labels[i]])


@stats_app.command("km")
def km_cmd(
    file: Annotated[Path, typer.Argument(help="CSV file (an ADTTE table from endpoints, too).")],
    time: TimeOptional = None,
    event: EventOpt = None,
    censor: CensorOpt = None,
    param: ParamOpt = None,
    group: GroupOpt = None,
    baseline: BaselineOpt = None,
    at: AtOpt = None,
    ci: Annotated[str, typer.Option(
        "--ci", help="log (R's default), log-log (SAS's default; also loglog) or plain.")
    ] = "log",
    level: LevelOpt = 0.95,
    as_json: JsonOpt = False,
) -> None:
    """Kaplan-Meier survival with medians, readings at times and the log-rank test."""
    from cmltrack.display import format_median, format_p, format_percent
    from cmltrack.stats.survival import kaplan_meier

    ci = _choice(ci, ("log", "log-log", "loglog", "plain"), "--ci")
    ci = "loglog" if ci == "log-log" else ci
    times = parse_times(at)
    data = Survival(file, param, baseline)
    t = data.times(time)
    e = data.events(event, censor)
    g = data.table.groups(group) if group else None
    r = _in_file(data.table, kaplan_meier, t, e, g, at=times, ci=ci, level=level)
    pct = f"{level:.0%}"
    header = ["group", "n", "events", f"median ({pct} CI)"] + [f"at {a:g}" for a in times]
    rows = []
    curves = [r.groups[i] for i in _order([c.group for c in r.groups])]
    for c in curves:
        rows.append([str(c.group), c.n, c.events,
                     format_median(c.median, c.median_lower, c.median_upper)]
                    + [format_percent(a.survival, a.lower, a.upper) for a in c.at])
    title = data.title()
    lines = [title] if title else []
    lines.append(_grid(header, rows))
    if times:
        lines += ["", "Numbers at risk",
                  _grid(["group"] + [f"{a:g}" for a in times],
                        [[str(c.group)] + [a.at_risk for a in c.at] for c in curves])]
    if r.logrank is not None:
        lines += ["", f"log-rank p = {format_p(r.logrank.p)} "
                  f"(chi-square {r.logrank.chi2:.2f}, {r.logrank.df} df)"]
    lines.append("NR: not reached; NE: not estimable.")
    _emit(r, as_json, "\n".join(lines))


@stats_app.command("cox")
def cox_cmd(
    file: Annotated[Path, typer.Argument(help="CSV file (an ADTTE table from endpoints, too).")],
    covariates: Annotated[str, typer.Option("--covariates", help="Columns A,B,... (text "
                                            "columns are dummy coded).")],
    time: TimeOptional = None,
    event: EventOpt = None,
    censor: CensorOpt = None,
    param: ParamOpt = None,
    baseline: BaselineOpt = None,
    reference: Annotated[
        str | None,
        typer.Option("--reference", help="Reference levels of text covariates: COL=LEVEL,... "
                     "(default: the first in clinical order, e.g. low)."),
    ] = None,
    ties: Annotated[str, typer.Option("--ties", help="efron or breslow.")] = "efron",
    level: LevelOpt = 0.95,
    as_json: JsonOpt = False,
) -> None:
    """Cox proportional hazards regression (Wald intervals and tests), as R coxph."""
    from cmltrack.display import format_estimate, format_p
    from cmltrack.stats.cox import cox_ph
    from cmltrack.stats.design import design_matrix, parse_reference

    ties = _choice(ties, ("efron", "breslow"), "--ties")
    names = [c.strip() for c in covariates.split(",") if c.strip()]
    if not names:
        raise InputError("no covariates given", code="bad_argument", field="--covariates")
    refs = parse_reference(reference)
    data = Survival(file, param, baseline)
    t = data.times(time)
    e = data.events(event, censor)
    tab = data.table
    columns = {}
    for c in names:
        raw = tab.column(c)
        for i, v in enumerate(raw):
            if v == "":
                raise tab.error("empty covariate value", "bad_type", i, c)
        columns[c] = raw
    try:
        x, labels = design_matrix(columns, refs)
    except InputError as exc:
        raise InputError(exc.message, code=exc.code, file=tab.name, field=exc.field) from None
    r = _in_file(tab, cox_ph, t, e, x, names=labels, ties=ties, level=level)
    rows = [[c.name, format_estimate(c.hr, c.lower, c.upper), format_p(c.p)]
            for c in r.coefficients]
    title = data.title()
    lines = [title] if title else []
    lines += [
        f"n = {r.n}, events = {r.events} ({r.ties} ties); concordance {r.concordance:.2f}",
        _grid(["covariate", f"HR ({level:.0%} CI)", "p"], rows),
    ]
    _emit(r, as_json, "\n".join(lines))


@stats_app.command("cif")
def cif_cmd(
    file: Annotated[Path, typer.Argument(help="CSV file (an ADTTE table from endpoints, too).")],
    time: TimeOptional = None,
    status: Annotated[
        str | None,
        typer.Option("--status", help="Column: 0 censored, 1 event, 2 competing event (ADTTE: "
                     "from CNSR and CMPEVNT)."),
    ] = None,
    param: ParamOpt = None,
    group: GroupOpt = None,
    baseline: BaselineOpt = None,
    at: AtOpt = None,
    level: LevelOpt = 0.95,
    as_json: JsonOpt = False,
) -> None:
    """Cumulative incidence with competing risks (Aalen-Johansen) and Gray's test."""
    from cmltrack.display import format_p, format_percent
    from cmltrack.stats.competing import cumulative_incidence

    times = parse_times(at)
    data = Survival(file, param, baseline)
    t = data.times(time)
    s = data.status(status)
    g = data.table.groups(group) if group else None
    r = _in_file(data.table, cumulative_incidence, t, s, g, at=times, level=level)
    curves = [r.groups[i] for i in _order([c.group for c in r.groups])]
    header = ["group", "n", "events", "competing"] + [f"at {a:g}" for a in times]
    rows = [[str(c.group), c.n, c.events, c.competing]
            + [format_percent(a.cif, a.lower, a.upper) for a in c.at] for c in curves]
    title = data.title()
    lines = [title] if title else []
    lines.append(_grid(header, rows))
    if r.gray is not None:
        lines += ["", f"Gray's test p = {format_p(r.gray.p)} "
                  f"(statistic {r.gray.stat:.2f}, {r.gray.df} df)"]
    _emit(r, as_json, "\n".join(lines))


@stats_app.command("table1")
def table1_cmd(
    file: Annotated[Path, typer.Argument(
        help="Baseline table (CSV from endpoints --baseline) or patient records "
        "(.json, .jsonl, a CSV folder).")],
    by: Annotated[str | None, typer.Option("--by", help="Column of groups, e.g. sokal_group.")
                  ] = None,
    variables: Annotated[str | None, typer.Option("--vars", help="Columns A,B,... (default: "
                                                  "all but USUBJID).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Baseline characteristics by group (Table 1): n (%), median (IQR) and range, p-values."""
    from cmltrack.stats.table1 import baseline_table

    name = file.name.lower().removesuffix(".gz")
    if file.is_dir() or name.endswith((".json", ".jsonl")):
        from cmltrack.cli._input import patient_records
        from cmltrack.stats.tables import derive_cohort_tables

        _, frame = derive_cohort_tables(patient_records(file))
        frame = frame.astype(object).where(frame.notna(), "").astype(str)
        source = str(file)
    else:
        tab = Table(file)
        frame, source = tab.frame, tab.name
    names = [v.strip() for v in variables.split(",") if v.strip()] if variables else None
    try:
        r = baseline_table(frame, by=by, variables=names)
    except InputError as exc:
        raise InputError(exc.message, code=exc.code, file=source, field=exc.field) from None
    if as_json:
        typer.echo(json.dumps(r.to_dict(), allow_nan=False))
        return
    t = r.to_frame()
    header = ["Characteristic", *map(str, t.columns)]
    rows = [[idx, *map(str, vals)] for idx, vals in zip(t.index, t.to_numpy(), strict=True)]
    cells = [header, *rows]
    widths = [max(len(str(row[j])) for row in cells) for j in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) if j == 0 else str(c).rjust(w)
                       for j, (c, w) in enumerate(zip(row, widths, strict=True)))
             for row in cells]
    typer.echo("\n".join(lines))


@stats_app.command("simon")
def simon_cmd(
    p0: Annotated[float, typer.Option("--p0", help="Uninteresting response rate.")],
    p1: Annotated[float, typer.Option("--p1", help="Desirable response rate.")],
    alpha: Annotated[float, typer.Option("--alpha", help="Type I error.")] = 0.05,
    power: Annotated[float, typer.Option("--power", help="Power.")] = 0.8,
    nmax: Annotated[int, typer.Option("--nmax", help="Largest total sample size.")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """Simon's optimal and minimax two-stage designs."""
    from cmltrack.stats.simon import simon_two_stage

    r = simon_two_stage(p0, p1, alpha, power, nmax)
    rows = [
        [name, d.r1, d.n1, d.r, d.n, d.en0, d.pet0, d.alpha, d.power]
        for name, d in (("optimal", r.optimal), ("minimax", r.minimax))
    ]
    _emit(
        r, as_json, _grid(["design", "r1", "n1", "r", "n", "EN0", "PET0", "alpha", "power"], rows)
    )


@stats_app.command("current")
def current_cmd(
    file: Annotated[Path, typer.Argument(help="CSV: remission_1, loss_1, ..., follow_up, death.")],
    at: Annotated[str, typer.Option("--at", help="Days: T1,T2,...")],
    as_json: JsonOpt = False,
) -> None:
    """Current cumulative incidence (CCI) and current leukaemia-free survival (Pavlik 2011)."""
    from cmltrack.stats.current import current_cumulative_incidence

    times = parse_times(at)
    if not times:
        raise InputError("no times given", code="bad_argument", field="--at")
    tab = Table(file)
    cols = [str(c) for c in tab.frame.columns]
    k = 0
    while f"remission_{k + 1}" in cols:
        k += 1
    if k == 0:
        tab.column("remission_1")  # raises: names the missing column
    # A numbered remission or loss column past a gap would be silently ignored: refuse it.
    numbered = re.compile(r"(remission|loss)_(\d+)$")
    for c in cols:
        m = numbered.match(c)
        if m and int(m.group(2)) > k:
            raise InputError(
                f"column {c!r} follows no remission_{k + 1} (numbered columns run without gaps)",
                code="missing_field", file=str(file), field=f"remission_{k + 1}",
            )
    rem = [tab.numbers(f"remission_{i}", allow_empty=True) for i in range(1, k + 1)]
    # Every remission but the last needs its loss column; the last one's is optional.
    n_loss = k if f"loss_{k}" in cols else k - 1
    los = [tab.numbers(f"loss_{i}", allow_empty=True) for i in range(1, n_loss + 1)]
    fu = tab.numbers("follow_up")
    death = tab.codes("death", (0, 1))
    try:
        r = current_cumulative_incidence(rem, los, fu, death, at=times)
    except InputError as exc:
        # The core counts data rows from 1; the file's first data row is row 2.
        raise InputError(
            exc.message,
            code=exc.code,
            file=tab.name,
            row=None if exc.row is None else exc.row + 1,
            field=exc.field,
        ) from None
    rows = [
        [t, c, m, s, f]
        for t, c, m, s, f in zip(r.cci_times, r.cci, r.comci, r.clfs, r.lfs, strict=True)
    ]
    text = "\n".join(
        [
            f"n = {r.n}, reached a first remission = {r.remissions}",
            _grid(["day", "CCI", "comCI", "CLFS", "LFS"], rows),
        ]
    )
    _emit(r, as_json, text)
