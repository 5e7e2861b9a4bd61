"""Scorecards and assessments (see :mod:`kefu_standards.competency`, the public module).

A :class:`Scorecard` is a flat list of :class:`Criterion` objects; each names a
scorer (built-in, plug-in, or any object with ``name`` and ``score``), a
weight, whether it is **critical** (一票否决: failing it sets the total to 0) and
what to do when it does not apply (N/A).  :func:`assess` runs a scorecard over
one conversation and returns an :class:`Assessment` (total in [0, 100], one
:class:`DimensionScore` per criterion, the failed critical items).

Scorecards load from and print back to TOML (``Scorecard.from_toml(sc.to_toml())
== sc``) and plain dicts.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from os import PathLike
from pathlib import Path
from typing import Any, Literal

import attrs

from ._escalation import escalation
from ._frozendict import FrozenDict
from ._signals import Signals, signals_of
from .evidence import Evidence
from .exceptions import ConfigError, InputTypeError, UnknownNameError
from .model import Conversation
from .resources import lazy, read_text
from .scoring import ScoreResult, as_score_result, get_scorer
from .typing import Scorer

__all__ = [
    "NA_RULES",
    "PERIODS",
    "Assessment",
    "Criterion",
    "CriticalFailure",
    "DimensionScore",
    "Scorecard",
    "assess",
]

#: What an N/A result does: ``exclude`` (leave the maximum: the criterion drops out
#: of the denominator, the default), ``full`` (counts as full marks), ``zero``
#: (counts as zero: the item is mandatory).
NA_RULES: tuple[str, ...] = ("exclude", "full", "zero")

#: Periods :func:`profile_agent` groups by.
PERIODS: tuple[str, ...] = ("day", "week", "month")

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


def _frozen(value: Mapping[str, Any]) -> FrozenDict:
    """Return *value* as a FrozenDict, without copying one that already is."""
    return value if isinstance(value, FrozenDict) else FrozenDict(value)


# -- Criterion -------------------------------------------------------------------------
def _check_cname(_inst: object, _attr: object, value: Any) -> None:
    if not isinstance(value, str) or not _NAME_RE.match(value):
        msg = (
            "Criterion.name must be an identifier (letters, digits, '_' or '-', not starting "
            f"with a digit), got {value!r}"
        )
        raise ConfigError(msg)


def _check_scorer(_inst: object, _attr: object, value: Any) -> None:
    if isinstance(value, str):
        if not value:
            raise ConfigError("Criterion.scorer must be a scorer name or a scorer object")
        return
    if not isinstance(value, Scorer):
        msg = (
            "Criterion.scorer must be a scorer name (see get_scorer_names()) or an object "
            f"with 'name' and 'score', got {value!r}"
        )
        raise ConfigError(msg)


def _to_weight(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"Criterion.weight must be a number >= 0, got {value!r}")
    out = float(value)
    if not math.isfinite(out) or out < 0:
        raise ConfigError(f"Criterion.weight must be a finite number >= 0, got {value!r}")
    return out


def _to_pass_mark(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"Criterion.pass_mark must be a number in (0, 1], got {value!r}")
    out = float(value)
    if not 0.0 < out <= 1.0:
        raise ConfigError(f"Criterion.pass_mark must be in (0, 1], got {value!r}")
    return out


def _check_bool(_inst: object, attr: attrs.Attribute[bool], value: object) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"Criterion.{attr.name} must be true or false, got {value!r}")


def _check_na(_inst: object, _attr: object, value: object) -> None:
    if value not in NA_RULES:
        raise UnknownNameError("N/A rule", value, NA_RULES)


def _check_str(_inst: object, attr: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str):
        raise InputTypeError(f"Criterion.{attr.name} must be a str, got {type(value).__name__}")


def _check_params(inst: Criterion, _attr: object, value: FrozenDict) -> None:
    if value and not isinstance(inst.scorer, str):
        raise ConfigError("Criterion.params can only be given with a scorer *name*")
    for k, v in value.items():
        if not _is_toml_value(v):
            msg = (
                f"Criterion.params[{k!r}] must be a str, int, float, bool or a list of those, "
                f"got {v!r}"
            )
            raise ConfigError(msg)


def _is_toml_value(v: object) -> bool:
    if isinstance(v, (str, bool, int)):
        return True
    if isinstance(v, float):
        return math.isfinite(v)
    if isinstance(v, tuple):
        return all(isinstance(x, (str, bool, int, float)) and _is_toml_value(x) for x in v)
    return False


@attrs.frozen(slots=True)
class Criterion:
    """One line of a scorecard.

    **Fields**

    name:
        Identifier of the line (``"service_attitude"``); key of
        :attr:`Assessment.dimensions`.
    scorer:
        A scorer name (see :func:`~kefu_standards.scoring.get_scorer_names`)
        or any object with ``name`` and ``score(conversation)``.
    weight:
        Relative weight (>= 0).  Weights need not sum to 100: the total is
        rescaled over the criteria that apply.
    critical:
        一票否决: if the scorer's score is below *pass_mark*, the whole
        assessment's total is 0 and :attr:`Assessment.critical` says why.
    pass_mark:
        In (0, 1]; only used when *critical*.
    na:
        One of :data:`NA_RULES` (``"exclude"``, ``"full"``, ``"zero"``).
    label:
        Display name (``"服务态度"``).
    description:
        What the line measures, for people.
    params:
        Keyword options for a named scorer's factory
        (``get_scorer(scorer, **params)``).

    """

    name: str = attrs.field(validator=_check_cname)
    scorer: str | Scorer = attrs.field(validator=_check_scorer)
    weight: float = attrs.field(default=1.0, converter=_to_weight)
    critical: bool = attrs.field(default=False, validator=_check_bool)
    pass_mark: float = attrs.field(default=0.5, converter=_to_pass_mark)
    na: str = attrs.field(default="exclude", validator=_check_na)
    label: str = attrs.field(default="", validator=_check_str)
    description: str = attrs.field(default="", validator=_check_str)
    params: FrozenDict = attrs.field(
        factory=FrozenDict, converter=FrozenDict, validator=_check_params
    )

    @property
    def display(self) -> str:
        """The label, or the name when there is no label."""
        return self.label or self.name

    def to_dict(self) -> dict[str, Any]:
        """Return the plain-dict form read by :meth:`Scorecard.from_dict`."""
        if not isinstance(self.scorer, str):
            msg = (
                f"criterion {self.name!r} uses a scorer object ({self.scorer!r}); only scorers "
                "referred to by name can be written out (register it as an entry point)"
            )
            raise ConfigError(msg)
        out: dict[str, Any] = {
            "name": self.name,
            "scorer": self.scorer,
            "weight": self.weight,
            "critical": self.critical,
            "pass_mark": self.pass_mark,
            "na": self.na,
            "label": self.label,
            "description": self.description,
        }
        if self.params:
            out["params"] = self.params.thaw()
        return out


_CRITERION_KEYS = frozenset(a.name for a in attrs.fields(Criterion))


def _criterion_from(item: object, i: int) -> Criterion:
    if isinstance(item, Criterion):
        return item
    if not isinstance(item, Mapping):
        raise InputTypeError(f"criteria[{i}] must be a table/mapping, got {type(item).__name__}")
    unknown = set(item) - _CRITERION_KEYS
    if unknown:
        msg = (
            f"criteria[{i}] has unknown key(s) {sorted(unknown)}; valid keys are "
            f"{sorted(_CRITERION_KEYS)}"
        )
        raise ConfigError(msg)
    missing = {"name", "scorer"} - set(item)
    if missing:
        raise ConfigError(f"criteria[{i}] is missing {sorted(missing)}")
    return Criterion(**item)


# -- Scorecard -------------------------------------------------------------------------
def _to_criteria(value: Iterable[Criterion | Mapping[str, Any]]) -> tuple[Criterion, ...]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise ConfigError("Scorecard.criteria must be a sequence of Criterion or mappings")
    return tuple(_criterion_from(c, i) for i, c in enumerate(value))


def _check_criteria(_inst: object, _attr: object, value: tuple[Criterion, ...]) -> None:
    if not value:
        raise ConfigError("a Scorecard needs at least one criterion")
    names = [c.name for c in value]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"criterion names must be unique; repeated: {dupes}")
    if not any(c.weight > 0 for c in value):
        raise ConfigError("a Scorecard needs at least one criterion with weight > 0")


def _check_card_str(_inst: object, attr: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str):
        raise InputTypeError(f"Scorecard.{attr.name} must be a str, got {type(value).__name__}")


_CARD_KEYS = frozenset({"name", "version", "description", "criteria"})


@attrs.frozen(slots=True)
class Scorecard:
    """A named, weighted list of :class:`Criterion` objects.

    Scorers are resolved when the scorecard is built, so an unknown scorer
    name fails here (listing the valid names), not in the middle of a batch.

    >>> sc = Scorecard.default()
    >>> [c.name for c in sc.criteria][:3]
    ['product_knowledge', 'communication', 'service_attitude']
    >>> Scorecard.from_toml(sc.to_toml()) == sc
    True
    """

    name: str = attrs.field(validator=_check_card_str)
    criteria: tuple[Criterion, ...] = attrs.field(converter=_to_criteria, validator=_check_criteria)
    description: str = attrs.field(default="", validator=_check_card_str)
    version: str = attrs.field(default="1", validator=_check_card_str)
    _scorers: tuple[Scorer, ...] = attrs.field(init=False, eq=False, repr=False, hash=False)

    def __attrs_post_init__(self) -> None:
        scorers = tuple(
            get_scorer(c.scorer, **c.params) if isinstance(c.scorer, str) else c.scorer
            for c in self.criteria
        )
        object.__setattr__(self, "_scorers", scorers)

    # -- named constructors -----------------------------------------------------------
    @classmethod
    def default(cls) -> Scorecard:
        """Return the nine-standard scorecard with its two critical items."""
        return _default_scorecard()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scorecard:
        """Build from a mapping with ``name``, ``criteria`` (+ ``description``, ``version``)."""
        if not isinstance(data, Mapping):
            raise InputTypeError(f"a scorecard must be a mapping, got {type(data).__name__}")
        unknown = set(data) - _CARD_KEYS
        if unknown:
            msg = f"unknown scorecard key(s) {sorted(unknown)}; valid keys are {sorted(_CARD_KEYS)}"
            raise ConfigError(msg)
        if "name" not in data or "criteria" not in data:
            raise ConfigError("a scorecard needs 'name' and 'criteria'")
        return cls(
            name=data["name"],
            criteria=data["criteria"],
            description=data.get("description", ""),
            version=str(data.get("version", "1")),
        )

    @classmethod
    def from_toml(cls, text: str) -> Scorecard:
        """Parse TOML text (top-level keys plus ``[[criteria]]`` tables)."""
        toml = _tomllib()
        try:
            data = toml.loads(text)
        except toml.TOMLDecodeError as exc:
            raise ConfigError(f"invalid scorecard TOML: {exc}") from None
        return cls.from_dict(data)

    @classmethod
    def load(cls, path: str | PathLike[str]) -> Scorecard:
        """Read a scorecard from a ``.toml`` file (UTF-8)."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read scorecard {str(p)!r}: {exc.strerror}") from None
        try:
            return cls.from_toml(text)
        except ConfigError as exc:
            raise ConfigError(f"{p}: {exc}") from None

    # -- output -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Return the plain-dict form (``from_dict(sc.to_dict()) == sc``)."""
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "criteria": [c.to_dict() for c in self.criteria],
        }

    def to_toml(self) -> str:
        """Return TOML text that :meth:`from_toml` reads back to an equal scorecard."""
        lines = [
            f"name = {_toml_value(self.name)}",
            f"version = {_toml_value(self.version)}",
            f"description = {_toml_value(self.description)}",
        ]
        for c in self.criteria:
            d = c.to_dict()
            params = d.pop("params", None)
            lines += ["", "[[criteria]]"]
            lines += [f"{k} = {_toml_value(v)}" for k, v in d.items()]
            if params:
                lines.append("[criteria.params]")
                lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in params.items()]
        return "\n".join(lines) + "\n"

    # -- access -------------------------------------------------------------------------
    @property
    def scorers(self) -> tuple[Scorer, ...]:
        """The resolved scorer of each criterion, in order."""
        return self._scorers

    def criterion(self, name: str) -> Criterion:
        """Return the criterion called *name*."""
        for c in self.criteria:
            if c.name == name:
                return c
        raise UnknownNameError("criterion", name, [c.name for c in self.criteria])

    def evolve(self, **changes: Any) -> Scorecard:
        """Return a copy with *changes* (``name``, ``criteria``, ``description``, ``version``)."""
        data = {
            "name": self.name,
            "criteria": self.criteria,
            "description": self.description,
            "version": self.version,
            **changes,
        }
        return Scorecard(**data)

    def with_criterion(self, name: str, **changes: Any) -> Scorecard:
        """Return a copy where criterion *name* has *changes* (``weight=``, ``critical=`` ...)."""
        self.criterion(name)
        criteria = tuple(attrs.evolve(c, **changes) if c.name == name else c for c in self.criteria)
        return self.evolve(criteria=criteria)


def _tomllib() -> Any:
    import importlib
    import sys

    # tomllib is in the standard library from Python 3.11; tomli is the same parser before.
    return importlib.import_module("tomllib" if sys.version_info >= (3, 11) else "tomli")


_BARE_KEY = re.compile(r"^[A-Za-z0-9_\-]+$")
_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def _toml_str(s: str) -> str:
    out = []
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml_key(k: str) -> str:
    return k if _BARE_KEY.match(k) else _toml_str(k)


def _toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return _toml_str(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)  # shortest round-trip form; finite (checked on construction)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise ConfigError(f"cannot write {v!r} as TOML")


@lazy
def _default_toml() -> str:
    return read_text("competency/default.toml")


@lazy
def _default_scorecard() -> Scorecard:
    return Scorecard.from_toml(_default_toml())


# -- assessment ------------------------------------------------------------------------
@attrs.frozen(slots=True)
class DimensionScore:
    """One criterion's result inside an :class:`Assessment`.

    ``score`` is in [0, 1] or ``None`` (N/A, with ``reason``).  ``points`` is
    its contribution to the total out of ``max_points`` (both on the 0-100
    scale, after rescaling over the criteria that apply); an excluded N/A has
    ``points=None`` and ``max_points=0``.
    """

    name: str
    label: str
    score: float | None
    weight: float
    points: float | None
    max_points: float
    evidence: tuple[Evidence, ...] = ()
    reason: str = ""
    critical: bool = False
    details: FrozenDict = attrs.field(factory=FrozenDict, converter=_frozen)

    @property
    def applicable(self) -> bool:
        """False when the criterion was N/A for this conversation."""
        return self.score is not None

    @property
    def lost(self) -> float:
        """Points lost on this criterion (0 when N/A)."""
        return 0.0 if self.points is None else self.max_points - self.points


@attrs.frozen(slots=True)
class CriticalFailure:
    """A failed critical item (一票否决): which criterion, why, and the evidence."""

    name: str
    label: str
    reason: str
    evidence: tuple[Evidence, ...] = ()


@attrs.frozen(slots=True)
class Assessment:
    """The scorecard's verdict on one conversation.

    **Fields**

    conversation_id:
        ``Conversation.id``.
    total:
        In [0, 100]; 0 when a critical item failed; ``None`` when no weighted
        criterion applies (e.g. no agent message), with ``reason``.
    dimensions:
        Criterion name → :class:`DimensionScore`, in scorecard order.
    critical:
        The failed critical items (empty when none failed).
    total_before_critical:
        The weighted total before the 一票否决 rule.
    reason:
        Why the total is 0 or ``None``; empty otherwise.
    scorecard:
        The scorecard's name.

    """

    conversation_id: str
    total: float | None
    dimensions: FrozenDict
    critical: tuple[CriticalFailure, ...] = ()
    total_before_critical: float | None = None
    reason: str = ""
    scorecard: str = ""

    @property
    def failed(self) -> bool:
        """True when a critical item failed (the total is 0)."""
        return bool(self.critical)

    @property
    def lost(self) -> float | None:
        """Points lost out of 100 (``None`` when the total is N/A)."""
        return None if self.total is None else 100.0 - self.total

    def worst(self) -> DimensionScore | None:
        """Return the applicable dimension that lost the most points (``None`` if none applies)."""
        scored = [d for d in self.dimensions.values() if d.points is not None and d.lost > 0]
        return max(scored, key=lambda d: d.lost, default=None)

    def explain(self) -> str:
        """One line saying what cost the most: the critical failure, else the worst dimension."""
        if self.critical:
            return "一票否决: " + "; ".join(f"{c.label}: {c.reason}" for c in self.critical)
        if self.total is None:
            return self.reason
        d = self.worst()
        if d is None:
            return "no points lost"
        why = d.reason or ", ".join(e.text for e in d.evidence if e.weight < 0)[:60]
        return f"{d.label} lost {d.lost:.1f} points" + (f" ({why})" if why else "")

    def to_record(self) -> dict[str, Any]:
        """Return a JSON-ready dict (scores, points, reasons; evidence as text spans)."""
        return {
            "conversation_id": self.conversation_id,
            "scorecard": self.scorecard,
            "total": self.total,
            "total_before_critical": self.total_before_critical,
            "reason": self.reason,
            "critical": [{"name": c.name, "reason": c.reason} for c in self.critical],
            "dimensions": {
                name: {
                    "label": d.label,
                    "score": d.score,
                    "weight": d.weight,
                    "points": d.points,
                    "max_points": d.max_points,
                    "reason": d.reason,
                    "evidence": [
                        {"message": e.message_index, "text": e.text, "kind": e.kind}
                        for e in d.evidence
                    ],
                }
                for name, d in self.dimensions.items()
            },
        }


def _call(scorer: Scorer, conversation: Conversation, sig: Signals | None) -> object:
    """Return the scorer's result, from the shared signals when it reads them.

    A :class:`~kefu_standards.typing.SignalsScorer` gets *sig*; others the conversation.
    """
    from_signals = getattr(scorer, "score_signals", None) if sig is not None else None
    if from_signals is not None:
        return from_signals(sig)
    return scorer.score(conversation)


def _run(
    scorer: Scorer,
    criterion: Criterion,
    conversation: Conversation,
    errors: str,
    sig: Signals | None,
) -> ScoreResult:
    if errors == "raise":
        return as_score_result(_call(scorer, conversation, sig), criterion.name)
    try:
        return as_score_result(_call(scorer, conversation, sig), criterion.name)
    except Exception as exc:
        return ScoreResult.na(f"scorer {scorer.name!r} raised {type(exc).__name__}: {exc}")


def assess(
    conversation: Conversation,
    scorecard: Scorecard | None = None,
    *,
    errors: Literal["raise", "na"] = "raise",
    escalation_model: Any = None,
    signals: Signals | None = None,
) -> Assessment:
    """Assess one conversation with *scorecard* (default: :meth:`Scorecard.default`).

    Each criterion's scorer gives a score in [0, 1] or N/A.  The total is
    ``100 · Σ wᵢ·sᵢ / Σ wᵢ`` over the criteria that apply: an N/A criterion
    leaves the maximum (its weight leaves the denominator) unless its ``na``
    rule says ``"full"`` or ``"zero"``.  If a critical criterion scores below
    its ``pass_mark``, the total is 0 and :attr:`Assessment.critical` lists
    why (一票否决).  ``errors="na"`` turns a scorer that raises into an N/A
    line saying so, instead of raising.  ``escalation_model`` (an
    :class:`~kefu_standards.EscalationModel`) replaces the shipped escalation
    risk wherever a criterion reads it (``.. versionadded:: 0.2.0``).

    The analysers run once per conversation: scorers that read
    :class:`~kefu_standards.Signals` (the built-in ones, through
    ``score_signals``) share them, and *signals* passes ones computed already
    (:func:`kefu_standards.signals`; they must describe *conversation*).  Other
    scorers get the conversation.

    .. versionchanged:: 0.2.0
       ``signals=``.

    >>> from kefu_standards import Conversation
    >>> conv = Conversation.from_records([
    ...     {"role": "buyer", "text": "这款有货吗?"},
    ...     {"role": "agent", "text": "您好，有现货的哦，今天下单明天发货，感谢您的支持"}], id="c1")
    >>> a = assess(conv)
    >>> 0 <= a.total <= 100, a.critical
    (True, ())
    """
    if not isinstance(conversation, Conversation):
        raise InputTypeError(f"assess() needs a Conversation, got {type(conversation).__name__}")
    if errors not in ("raise", "na"):
        raise UnknownNameError("errors policy", errors, ("raise", "na"))
    card = Scorecard.default() if scorecard is None else scorecard
    if not isinstance(card, Scorecard):
        raise InputTypeError(f"scorecard must be a Scorecard or None, got {type(card).__name__}")
    scorers = card.scorers
    if escalation_model is not None:
        scorers = _with_escalation_model(scorers, conversation, escalation_model)
    sig = signals
    if sig is not None or any(hasattr(s, "score_signals") for s in scorers):
        sig = signals_of(conversation, sig)
    results = [
        _run(s, c, conversation, errors, sig) for c, s in zip(card.criteria, scorers, strict=True)
    ]
    effective: list[float | None] = []
    for c, r in zip(card.criteria, results, strict=True):
        if r.score is not None or c.na == "exclude":
            effective.append(r.score)
        else:
            effective.append(1.0 if c.na == "full" else 0.0)
    denom = sum(c.weight for c, s in zip(card.criteria, effective, strict=True) if s is not None)
    dims: dict[str, DimensionScore] = {}
    failures: list[CriticalFailure] = []
    for c, r, s in zip(card.criteria, results, effective, strict=True):
        if s is None or denom == 0:
            points, max_points = None, 0.0
        else:
            max_points = 100.0 * c.weight / denom
            points = max_points * s
        reason = r.reason
        if r.score is None and s is not None:
            reason = f"{r.reason} (N/A counted as {'full marks' if s == 1.0 else 'zero'})"
        dims[c.name] = DimensionScore(
            c.name,
            c.display,
            s,
            c.weight,
            points,
            max_points,
            r.evidence,
            reason,
            c.critical,
            r.details,
        )
        if c.critical and s is not None and s < c.pass_mark:
            why = r.reason or f"scored {s:.2f}, below the pass mark {c.pass_mark:.2f}"
            failures.append(CriticalFailure(c.name, c.display, why, r.evidence))
    if denom == 0:
        total = None
        reason = "no weighted criterion applies to this conversation: " + "; ".join(
            f"{d.label}: {d.reason}" for d in dims.values() if d.weight > 0
        )
        before = None
    else:
        before = _clip100(sum(d.points for d in dims.values() if d.points is not None))
        total, reason = before, ""
    if failures:
        total = 0.0
        reason = "一票否决 (critical item failed): " + "; ".join(
            f"{f.label}: {f.reason}" for f in failures
        )
    # the values are frozen DimensionScores, which freeze() keeps as they are
    dims_frozen = FrozenDict._of_frozen(dims)
    return Assessment(
        conversation.id, total, dims_frozen, tuple(failures), before, reason, card.name
    )


def _with_escalation_model(
    scorers: tuple[Scorer, ...], conversation: Conversation, model: Any
) -> tuple[Scorer, ...]:
    """*scorers*, each that reads the default escalation risk reading *model*'s instead.

    The risk of *conversation* is computed once and shared by those scorers.
    """
    result = escalation(conversation, model=model)

    def fitted(conv: Conversation) -> Any:
        return result if conv is conversation else escalation(conv, model=model)

    return tuple(
        attrs.evolve(s, escalation=fitted)  # type: ignore[misc]
        if attrs.has(type(s)) and getattr(s, "escalation", fitted) is None
        else s
        for s in scorers
    )


def _clip100(x: float) -> float:
    return min(100.0, max(0.0, x))
