"""Frozen results of the patient-level core. Every judgement carries its rule id and basis.

These are the types the guideline engine, the CLI, reports and statistics read. ``to_dict``
methods give the JSON of the assessment contract (``cmltrack.assessment/1``).
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Generic, NamedTuple, TypeVar, overload

from cmltrack.domain.enums import (
    Action,
    CytogeneticResponse,
    EventKind,
    FollowUpStatus,
    HematologicResponse,
    MilestoneStatus,
    MolecularResponse,
    Phase,
)

T = TypeVar("T")


class Classified(Generic[T]):
    """A classification with the rule that made it and the values it used.

    ``value`` is None when the result cannot be classified (the reason is in ``basis``).
    ``basis`` may be given as text or as a function that writes it: only ``explain`` and the
    reports read it, so the classifiers defer formatting numbers until someone asks (an
    assessment classifies hundreds of results and most bases are never read).
    """

    # Read-only properties over plain slots: as immutable to callers as a frozen dataclass,
    # without its object.__setattr__ per field (an assessment makes hundreds of these).
    __slots__ = ("_basis", "_rule", "_value")

    def __init__(self, value: T | None, rule: str, basis: str | Callable[[], str]) -> None:
        self._value = value
        self._rule = rule
        self._basis = basis

    @property
    def value(self) -> T | None:
        """The category, or None when the result cannot be classified."""
        return self._value

    @property
    def rule(self) -> str:
        """The id of the rule that classified it (see the module's ``SOURCES``)."""
        return self._rule

    @property
    def basis(self) -> str:
        """The rule's comparison written out with the values it used."""
        b = self._basis
        if isinstance(b, str):
            return b
        text = self._basis = b()  # written once, kept
        return text

    def _key(self) -> tuple[object, str, str]:
        return (self.value, self.rule, self.basis)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Classified)
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Classified(value={self.value!r}, rule={self.rule!r}, basis={self.basis!r})"


#: No grade that day (a read-only empty mapping, shared).
_NO_TOXICITY: Mapping[str, int] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class RiskScore:
    """A baseline risk score: the published formula's value and group, or what is missing."""

    score: float | None
    group: str | None
    missing: tuple[str, ...] = ()
    rule: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"score": self.score, "group": self.group, "missing": list(self.missing)}


class Timepoint(NamedTuple):
    """Everything classified on one date of the record.

    Immutable, as every result here. A named tuple rather than a frozen dataclass: an
    assessment builds one per dated result (about a hundred for ten years), and a frozen
    dataclass costs four times as much to build (it sets each field through
    ``object.__setattr__``). Change one with ``_replace``.
    """

    date: dt.date
    months: float | None
    hematologic: HematologicResponse | None = None
    cytogenetic: CytogeneticResponse | None = None
    molecular: MolecularResponse | None = None
    phase: Phase | None = None
    toxicity: Mapping[str, int] = _NO_TOXICITY
    #: BCR::ABL1 % IS measured that day (None if no PCR or undetected), for milestone rules.
    bcr_abl1_is: float | None = None
    #: Ph+ % (banding, or FISH where only FISH was done) that day.
    ph_pct: float | None = None
    #: True when the cytogenetic category comes from FISH alone.
    fish_based: bool = False
    #: The day's classifications with rule and basis (``explain`` reads them): a tuple, or a
    #: ``LazyEvidence`` that classifies when first read.
    evidence: Sequence[Classified[Any]] = ()

    def to_dict(self) -> dict[str, Any]:
        # _s written out: a hundred timepoints a patient make the function calls count.
        day, months, hem, cyt, mol, phase, tox = self[:7]
        return {
            "date": day.isoformat(),
            "months": months,
            "hematologic": None if hem is None else str(hem),
            "cytogenetic": None if cyt is None else str(cyt),
            "molecular": None if mol is None else str(mol),
            "phase": None if phase is None else str(phase),
            "toxicity": dict(tox),
        }


_DATE = operator.attrgetter("date")


def timepoints_up_to(timepoints: Iterable[Timepoint], as_of: dt.date) -> list[Timepoint]:
    """The timepoints dated on or before ``as_of``, in date order (a stable sort: results of
    one day keep their order)."""
    tps = sorted(timepoints, key=_DATE)  # linear on the usual, already sorted, input
    del tps[bisect.bisect_right(tps, as_of, key=_DATE):]
    return tps


@dataclass(frozen=True, slots=True)
class Milestone:
    month: int
    status: MilestoneStatus
    date: dt.date | None
    basis: str
    rule: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "status": str(self.status),
            "date": self.date.isoformat() if self.date else None,
            "basis": self.basis,
        }


@dataclass(frozen=True, slots=True)
class ClinicalEvent:
    kind: EventKind
    date: dt.date
    basis: str
    rule: str = ""
    #: A death's cause, as recorded (clinical-rules-2 section 10).
    cause: str | None = None
    #: A post-transplant relapse's level: molecular, cytogenetic or hematologic.
    level: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": str(self.kind), "date": self.date.isoformat(), "basis": self.basis
        }
        if self.kind is EventKind.DEATH:
            out["cause"] = self.cause
        if self.level is not None:
            out["level"] = self.level
        return out


@dataclass(frozen=True, slots=True)
class Recommendation:
    action: Action
    rule: str
    source: str
    because: str
    drug: str | None = None
    dose_mg_per_day: float | None = None
    #: ``switch_tki`` / ``start_tki``: the suitable TKIs, the ones a mutation rules out, and
    #: each option's label start dose for the phase (clinical-rules-2 sections 3 and 10).
    options: tuple[str, ...] | None = None
    avoid: tuple[str, ...] | None = None
    start_dose_mg_per_day: Mapping[str, float] | None = None
    #: ``combine_chemotherapy``: ``AML-type`` or ``ALL-type``.
    regimen: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "action": str(self.action),
            "drug": self.drug,
            "dose_mg_per_day": self.dose_mg_per_day,
            "rule": self.rule,
            "source": self.source,
            "because": self.because,
        }
        if self.options is not None:
            out["options"] = list(self.options)
            out["avoid"] = list(self.avoid or ())
            out["start_dose_mg_per_day"] = dict(self.start_dose_mg_per_day or {})
        if self.regimen is not None:
            out["regimen"] = self.regimen
        return out


@dataclass(frozen=True, slots=True)
class Current:
    status: MilestoneStatus | FollowUpStatus | None
    phase: Phase | None
    drug: str | None
    dose_mg_per_day: float | None
    best_hematologic: HematologicResponse | None
    best_cytogenetic: CytogeneticResponse | None
    best_molecular: MolecularResponse | None
    #: The label dose for the current drug, phase and line (clinical-rules-2 sections 1, 6).
    label_dose_mg_per_day: float | None = None
    #: The latest recorded blast lineage: myeloid, lymphoid or mixed (section 5).
    blast_lineage: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": _s(self.status),
            "phase": _s(self.phase),
            "drug": self.drug,
            "dose_mg_per_day": self.dose_mg_per_day,
            "best_hematologic": _s(self.best_hematologic),
            "best_cytogenetic": _s(self.best_cytogenetic),
            "best_molecular": _s(self.best_molecular),
            "label_dose_mg_per_day": self.label_dose_mg_per_day,
            "blast_lineage": self.blast_lineage,
        }


#: The tests ``next_due`` schedules, in output order.
SCHEDULED_TESTS: tuple[str, ...] = ("pcr", "blood", "marrow")


@dataclass(frozen=True, slots=True)
class NextDue:
    """When each test is next due (clinical-rules-2 section 9): a date or None per test,
    the tests overdue at ``as_of`` (due strictly before it), and why each date."""

    due: Mapping[str, dt.date | None]
    overdue: tuple[str, ...] = ()
    basis: Mapping[str, str] = field(default_factory=dict)
    rule: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in SCHEDULED_TESTS:
            day = self.due.get(key)
            out[key] = day.isoformat() if day is not None else None
        out["overdue"] = list(self.overdue)
        out["basis"] = dict(self.basis)
        return out


def _s(v: object) -> str | None:
    return None if v is None else str(v)


class Lazy(Sequence[T]):
    """Items made when first read, then kept: a read-only sequence.

    ``make(*args)`` makes them. Compares equal to a tuple of the same items (and to another
    lazy sequence of them); pickles as its items.
    """

    __slots__ = ("_args", "_items", "_make")

    def __init__(self, make: Callable[..., Iterable[T]], *args: Any) -> None:
        self._make: Callable[..., Iterable[T]] | None = make
        self._args = args
        self._items: tuple[T, ...] = ()

    def _made(self) -> tuple[T, ...]:
        if self._make is not None:
            self._items = tuple(self._make(*self._args))
            self._make, self._args = None, ()  # made once; drops what making needed
        return self._items

    def __len__(self) -> int:
        return len(self._made())

    @overload
    def __getitem__(self, i: int) -> T: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[T, ...]: ...

    def __getitem__(self, i: int | slice) -> T | tuple[T, ...]:
        return self._made()[i]

    def __iter__(self) -> Iterator[T]:
        return iter(self._made())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Lazy | tuple):
            return self._made() == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._made())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._made()!r})"

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return type(self), (tuple, self._made())


class LazyLines(Lazy[str]):
    """Lines of text written when first read (``Lazy``).

    An assessment's trail (every judgement worded, for ``explain``) is read only by
    ``explain``; writing it costs a good part of an assessment, so it is written on demand.
    """

    __slots__ = ()

    @classmethod
    def join(cls, *parts: Sequence[str]) -> LazyLines:
        """The lines of ``parts`` one after the other, none read before the result is."""
        return cls(itertools.chain.from_iterable, parts)


class LazyEvidence(Lazy[Classified[Any]]):
    """A day's classifications, made when first read (``Lazy``).

    The assessment needs only the categories of its hundred-odd timepoints; the
    classifications with their rule and basis are read by ``explain`` and the reports alone,
    so they are made on demand, by the same classifiers.
    """

    __slots__ = ()
