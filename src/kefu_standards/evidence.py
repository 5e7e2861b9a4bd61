"""Evidence: the span of text (or the event) that made a score move."""

from __future__ import annotations

import attrs

from .exceptions import ConfigError

__all__ = ["Evidence"]


def _check_span(inst: Evidence, _attr: attrs.Attribute[int], _value: int) -> None:
    if inst.start < 0 or inst.end < inst.start:
        msg = f"Evidence span must satisfy 0 <= start <= end, got ({inst.start}, {inst.end})"
        raise ConfigError(msg)


@attrs.frozen(slots=True)
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

    def at(self, message_index: int) -> Evidence:
        """Return a copy attached to message *message_index* of a conversation."""
        # what attrs.evolve(self, message_index=message_index) builds, without its
        # field-by-field introspection (this runs for every hit of every message)
        return Evidence(
            self.start, self.end, self.text, self.kind, self.weight, self.rule, message_index
        )
