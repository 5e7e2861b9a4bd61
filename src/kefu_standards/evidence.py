"""Evidence: the span of text (or the event) that made a score move."""

from __future__ import annotations

from typing import Any

import attrs

from .exceptions import ConfigError

__all__ = ["Evidence"]


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
