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
from cmltrack.errors import InputError

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
        import pandas as pd

        self.name = str(path)
        if not path.is_file():
            raise InputError("file not found", code="not_found", file=self.name)
        try:
            self.frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
        except pd.errors.EmptyDataError:
            raise InputError("the file is empty", code="empty", file=self.name) from None
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable"
            raise InputError(
                f"not a CSV file: {first}", code="bad_format", file=self.name
            ) from None
        if len(self.frame) == 0:
            raise InputError("no data rows", code="empty", file=self.name)

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
        return InputError(message, code=code, file=self.name, row=index + 2, field=column)

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
    return "\n".join(
        "  ".join(str(c).rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells
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


@stats_app.command("km")
def km_cmd(
    file: Annotated[Path, typer.Argument(help="CSV file.")],
    time: TimeOpt,
    event: Annotated[str, typer.Option("--event", help="Column: 1 event, 0 censored.")],
    group: GroupOpt = None,
    at: AtOpt = None,
    ci: Annotated[str, typer.Option("--ci", help="loglog, log or plain.")] = "loglog",
    level: LevelOpt = 0.95,
    as_json: JsonOpt = False,
) -> None:
    """Kaplan-Meier survival with medians, readings at times and the log-rank test."""
    from cmltrack.stats.survival import kaplan_meier

    ci = _choice(ci, ("loglog", "log", "plain"), "--ci")
    times = parse_times(at)
    tab = Table(file)
    t = tab.numbers(time)
    e = tab.codes(event, (0, 1))
    g = tab.groups(group) if group else None
    r = kaplan_meier(t, e, g, at=times, ci=ci, level=level)  # type: ignore[arg-type]
    rows = []
    for c in r.groups:
        rows.append([c.group, c.n, c.events, c.median, c.median_lower, c.median_upper])
    lines = [_grid(["group", "n", "events", "median", "lower", "upper"], rows)]
    reads = [
        [c.group, a.time, a.survival, a.lower, a.upper, a.at_risk] for c in r.groups for a in c.at
    ]
    if reads:
        lines += ["", _grid(["group", "time", "survival", "lower", "upper", "at risk"], reads)]
    if r.logrank is not None:
        lines += [
            "",
            f"log-rank chi2 = {_num(r.logrank.chi2)}, df = {r.logrank.df}, p = {_num(r.logrank.p)}",
        ]
    _emit(r, as_json, "\n".join(lines))


@stats_app.command("cox")
def cox_cmd(
    file: Annotated[Path, typer.Argument(help="CSV file.")],
    time: TimeOpt,
    event: Annotated[str, typer.Option("--event", help="Column: 1 event, 0 censored.")],
    covariates: Annotated[str, typer.Option("--covariates", help="Columns A,B,...")],
    ties: Annotated[str, typer.Option("--ties", help="efron or breslow.")] = "efron",
    level: LevelOpt = 0.95,
    as_json: JsonOpt = False,
) -> None:
    """Cox proportional hazards regression (Wald intervals and tests), as R coxph."""
    import numpy as np

    from cmltrack.stats.cox import cox_ph

    ties = _choice(ties, ("efron", "breslow"), "--ties")
    names = [c.strip() for c in covariates.split(",") if c.strip()]
    if not names:
        raise InputError("no covariates given", code="bad_argument", field="--covariates")
    tab = Table(file)
    t = tab.numbers(time)
    e = tab.codes(event, (0, 1))
    x = np.column_stack([tab.numbers(c, non_negative=False) for c in names])
    r = cox_ph(t, e, x, names=names, ties=ties, level=level)  # type: ignore[arg-type]
    rows = [[c.name, c.coef, c.se, c.hr, c.lower, c.upper, c.p] for c in r.coefficients]
    text = "\n".join(
        [
            f"n = {r.n}, events = {r.events}, ties = {r.ties}, log-likelihood = "
            f"{r.loglik:.6g}, concordance = {r.concordance:.4g}",
            _grid(["covariate", "coef", "se", "HR", "lower", "upper", "p"], rows),
        ]
    )
    _emit(r, as_json, text)


@stats_app.command("cif")
def cif_cmd(
    file: Annotated[Path, typer.Argument(help="CSV file.")],
    time: TimeOpt,
    status: Annotated[
        str, typer.Option("--status", help="Column: 0 censored, 1 event, 2 competing event.")
    ],
    group: GroupOpt = None,
    at: AtOpt = None,
    level: LevelOpt = 0.95,
    as_json: JsonOpt = False,
) -> None:
    """Cumulative incidence with competing risks (Aalen-Johansen) and Gray's test."""
    from cmltrack.stats.competing import cumulative_incidence

    times = parse_times(at)
    tab = Table(file)
    t = tab.numbers(time)
    s = tab.codes(status, (0, 1, 2))
    g = tab.groups(group) if group else None
    r = cumulative_incidence(t, s, g, at=times, level=level)
    rows = [[c.group, a.time, a.cif, a.var, a.lower, a.upper] for c in r.groups for a in c.at]
    lines = [
        _grid(
            ["group", "n", "events", "competing"],
            [[c.group, c.n, c.events, c.competing] for c in r.groups],
        )
    ]
    if rows:
        lines += ["", _grid(["group", "time", "cif", "var", "lower", "upper"], rows)]
    if r.gray is not None:
        lines += ["", f"Gray's test = {_num(r.gray.stat)}, df = {r.gray.df}, p = {_num(r.gray.p)}"]
    _emit(r, as_json, "\n".join(lines))


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
