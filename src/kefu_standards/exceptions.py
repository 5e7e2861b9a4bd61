"""Every error and warning kefu_standards raises.

Each error subclasses :class:`KefuError` *and* the builtin a caller would
naturally catch (``ValueError``, ``LookupError``, ...), and carries the data
needed to act on it as attributes, not only inside the message.
"""

from __future__ import annotations

__all__ = [
    "BadRecordError",
    "BadTimestampError",
    "BrokenBlockError",
    "ConfigError",
    "DecodeError",
    "InputTypeError",
    "KefuError",
    "KefuWarning",
    "MessageOrderError",
    "ModelFileError",
    "NotEnoughDataError",
    "ReadError",
    "ScorerContractError",
    "SkippedInputWarning",
    "UndefinedMetricWarning",
    "UnknownNameError",
    "UnknownRoleError",
]


class KefuError(Exception):
    """Base class of every error raised by kefu_standards."""


class ConfigError(KefuError, ValueError):
    """An argument or configuration value is invalid; the message says what is valid."""


class InputTypeError(ConfigError, TypeError):
    """An argument is of the wrong type; the message names the type given and the one expected.

    Also a :class:`ConfigError` (so a ``ValueError``), which is what the library
    raised for a wrong type before, and a ``TypeError``, which is what Python
    code raises for one.

    .. versionadded:: 0.2.0
    """


def _plural(noun: str) -> str:
    """English plural of the kinds named in messages (criterion, errors policy, format)."""
    if noun.endswith("criterion"):
        return noun[: -len("on")] + "a"
    if noun.endswith("y") and noun[-2:-1] not in ("a", "e", "i", "o", "u"):
        return noun[:-1] + "ies"
    return noun + "s"


class UnknownNameError(KefuError, LookupError):
    """A name (format, preset, scorer, lexicon) is not known.

    ``name`` is what was asked for and ``valid`` the names that exist.
    """

    def __init__(self, kind: str, name: object, valid: tuple[str, ...] | list[str]) -> None:
        self.kind = kind
        self.name = name
        self.valid = tuple(valid)
        choices = ", ".join(repr(v) for v in self.valid)
        super().__init__(f"unknown {kind} {name!r}; valid {_plural(kind)} are: {choices}")

    def __str__(self) -> str:  # LookupError would otherwise repr() the message
        return str(self.args[0])

    def __reduce__(self) -> tuple[type[UnknownNameError], tuple[str, object, tuple[str, ...]]]:
        return (type(self), (self.kind, self.name, self.valid))


class MessageOrderError(KefuError, ValueError):
    """Message timestamps go backwards inside one conversation."""

    def __init__(self, conversation_id: str, index: int, message: str) -> None:
        self.conversation_id = conversation_id
        self.index = index
        super().__init__(message)

    def __reduce__(self) -> tuple[type[MessageOrderError], tuple[str, int, str]]:
        return (type(self), (self.conversation_id, self.index, str(self.args[0])))


class ReadError(KefuError, ValueError):
    """Input could not be read.  Names the file, the line (1-based) and the reason.

    ``source`` is the file name (``"<stdin>"`` or ``"<records>"`` when there is
    none), ``line`` the 1-based line number (``None`` when not applicable) and
    ``reason`` the bare explanation.
    """

    def __init__(self, source: str, line: int | None, reason: str) -> None:
        self.source = source
        self.line = line
        self.reason = reason
        where = source if line is None else f"{source}, line {line}"
        super().__init__(f"{where}: {reason}")

    def __reduce__(self) -> tuple[type[ReadError], tuple[str, int | None, str]]:
        return (type(self), (self.source, self.line, self.reason))


class BadTimestampError(ReadError):
    """A timestamp could not be parsed."""


class UnknownRoleError(ReadError):
    """A role is not one of ``buyer``, ``agent``, ``bot``, ``system`` (or a known alias)."""


class BrokenBlockError(ReadError):
    """A structural unit of an export (block, header, session marker) is malformed."""


class BadRecordError(ReadError):
    """A record is missing a required field or has a field of the wrong type."""


class DecodeError(ReadError):
    """Bytes could not be decoded with the given or detected encoding."""


class ModelFileError(KefuError, ValueError):
    """A model or lexicon file is missing, malformed or of an unsupported version."""


class NotEnoughDataError(KefuError, ValueError):
    """Too few labelled examples to fit and cross-validate a model.

    ``what`` names what was counted, ``needed`` and ``got`` say how many were
    needed and how many there are.

    .. versionadded:: 0.2.0
    """

    def __init__(self, what: str, needed: str, got: str) -> None:
        self.what = what
        self.needed = needed
        self.got = got
        super().__init__(f"not enough {what} to fit and cross-validate: need {needed}; got {got}")

    def __reduce__(self) -> tuple[type[NotEnoughDataError], tuple[str, str, str]]:
        return (type(self), (self.what, self.needed, self.got))


class ScorerContractError(KefuError, AssertionError):
    """A scorer broke the contract checked by :func:`kefu_standards.testing.check_scorer`."""

    def __init__(self, scorer_name: str, check: str, detail: str) -> None:
        self.scorer_name = scorer_name
        self.check = check
        self.detail = detail
        super().__init__(f"scorer {scorer_name!r} fails check {check!r}: {detail}")

    def __reduce__(self) -> tuple[type[ScorerContractError], tuple[str, str, str]]:
        return (type(self), (self.scorer_name, self.check, self.detail))


class KefuWarning(UserWarning):
    """Base class of every warning issued by kefu_standards."""


class UndefinedMetricWarning(KefuWarning):
    """A metric is undefined for this input (no rounds, empty text, ...); ``None`` is returned."""


class SkippedInputWarning(KefuWarning):
    """Input was skipped under ``errors="collect"``; the skips are also returned."""
