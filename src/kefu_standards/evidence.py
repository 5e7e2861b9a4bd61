"""Evidence and ScoreResult: what made a score move, and a score with its evidence."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ._frozendict import FrozenDict
from .exceptions import ConfigError, InputTypeError

__all__ = ["Evidence", "ScoreResult"]


def _check_span(inst: Evidence, _attr: attrs.Attribute[int], _value: int) -> None:
    if inst.start < 0 or inst.end < inst.start:
        msg = f"Evidence span must satisfy 0 <= start <= end, got ({inst.start}, {inst.end})"
        raise ConfigError(msg)


@attrs.frozen(slots=True, init=False)
class Evidence:
    """Why a score moved.

    ``start``/``end`` are offsets into the **original** message text, so
    ``text == original[start:end]`` always holds.  ``kind`` names the signal
    (``"courtesy"``, ``"banned_phrase"``, ``"negation"``, ``"wait"`` ...),
    ``weight`` its signed contribution, ``rule`` the rule or lexicon entry that
    fired, and ``message_index`` the message it belongs to when the evidence is
    about a conversation (``None`` for a single text).
    """

    start: int = attrs.field(validator=_check_span)
    end: int
    text: str
    kind: str
    weight: float = attrs.field(converter=float)
    rule: str = ""
    message_index: int | None = None

    def __init__(  # noqa: PLR0917 - the attrs fields, in order, as attrs would take them
        self,
        start: int,
        end: int,
        text: str,
        kind: str,
        weight: float,
        rule: str = "",
        message_index: int | None = None,
    ) -> None:
        """Build the evidence: what attrs would generate, written out (it runs for every hit).

        ``weight`` is converted with ``float``; the span is checked afterwards, unless
        attrs validators are disabled (``attrs.validators.set_disabled``).
        """
        _set_start(self, start)
        _set_end(self, end)
        _set_text(self, text)
        _set_kind(self, kind)
        _set_weight(self, float(weight))
        _set_rule(self, rule)
        _set_index(self, message_index)
        if (start < 0 or end < start) and not _validators_disabled():
            _check_span(self, _START, start)  # raises: the test above is its condition

    def at(self, message_index: int) -> Evidence:
        """Return a copy attached to message *message_index* of a conversation."""
        # what attrs.evolve(self, message_index=message_index) builds, without its
        # field-by-field introspection (this runs for every hit of every message)
        return Evidence(
            self.start, self.end, self.text, self.kind, self.weight, self.rule, message_index
        )


# the slots' own setters (what attrs' generated __init__ reaches through object.__setattr__)
_slot = vars(Evidence)
_set_start: Any = _slot["start"].__set__
_set_end: Any = _slot["end"].__set__
_set_text: Any = _slot["text"].__set__
_set_kind: Any = _slot["kind"].__set__
_set_weight: Any = _slot["weight"].__set__
_set_rule: Any = _slot["rule"].__set__
_set_index: Any = _slot["message_index"].__set__
_START = attrs.fields(Evidence).start
_validators_disabled = attrs.validators.get_disabled
del _slot


# -- ScoreResult: a score with the evidence behind it ----------------------------
# Defined here, next to Evidence, so that the analysers (escalation's scorer) and the
# dimension scorers below the scorecard can build one without importing ``scoring``;
# ``kefu_standards.scoring.ScoreResult`` is the same class.
def _to_score(value: object) -> float | None:
    if value is None:
        return None
    if type(value) is float and 0.0 <= value <= 1.0:  # the common case (NaN fails the test)
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        msg = f"score must be a number in [0, 1] or None (N/A), not {type(value).__name__}"
        raise InputTypeError(msg)
    out = float(value)
    if not (0.0 <= out <= 1.0):  # also rejects NaN
        raise ConfigError(f"score must be in [0, 1] (1 = best) or None (N/A), got {value!r}")
    return out


def _to_evidence(value: object) -> tuple[Evidence, ...]:
    if type(value) is tuple:  # the common case, checked without the general loop
        for e in value:
            if type(e) is not Evidence:
                break
        else:
            return value
    if not isinstance(value, (list, tuple)):
        msg = f"evidence must be a tuple of Evidence, not {type(value).__name__}"
        raise InputTypeError(msg)
    for i, e in enumerate(value):
        if not isinstance(e, Evidence):
            raise InputTypeError(f"evidence[{i}] is a {type(e).__name__}, not an Evidence")
    return tuple(value)


def _to_details(value: Mapping[str, Any] | None = None) -> FrozenDict:
    """Return *value* as a :class:`FrozenDict` (one that already is one is kept as is)."""
    return value if type(value) is FrozenDict else FrozenDict(value)


def _check_reason(inst: ScoreResult, _attr: object, value: object) -> None:
    if not isinstance(value, str):
        raise InputTypeError(f"reason must be a str, not {type(value).__name__}")
    if inst.score is None and not value.strip():
        msg = "an N/A result (score=None) needs a non-empty reason saying why it is N/A"
        raise ConfigError(msg)


@attrs.frozen(slots=True)
class ScoreResult:
    """What a scorer says about one conversation.

    **Fields**

    score:
        In ``[0, 1]``, 1 = best; or ``None`` when the criterion does not apply
        (N/A), in which case *reason* says why.
    evidence:
        The spans and events that moved the score
        (:class:`~kefu_standards.evidence.Evidence`, with ``message_index``).
    reason:
        A short human-readable explanation; required when ``score`` is ``None``.
    details:
        Named sub-scores and counts (read-only mapping), e.g.
        ``{"greeting": 1.0, "banned_hits": 0}``.

    """

    score: float | None = attrs.field(converter=_to_score)
    evidence: tuple[Evidence, ...] = attrs.field(default=(), converter=_to_evidence)
    reason: str = attrs.field(default="", validator=_check_reason)
    details: FrozenDict = attrs.field(factory=FrozenDict, converter=_to_details)

    @classmethod
    def na(cls, reason: str, *, details: Mapping[str, Any] | None = None) -> ScoreResult:
        """Return an N/A result (``score=None``) that says why."""
        return cls(score=None, reason=reason, details=_to_details(details))

    @property
    def applicable(self) -> bool:
        """True unless the result is N/A."""
        return self.score is not None
