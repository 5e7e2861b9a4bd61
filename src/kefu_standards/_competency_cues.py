"""The service cues of the competency scorecard, per message (``data/competency/cues.tsv``).

One text gives its cue hits (greeting, apology, solution, question, product
topic ...), whether it has content and whether it asks a question
(:func:`text_cues`, cached by text: chat repeats itself); one conversation gives
a :class:`CueView`, those cues message by message.  The scorers of
``scorers`` read the view from :class:`~kefu_standards.Signals`.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

import attrs

from ._matcher import PhraseMatcher
from .evidence import Evidence
from .exceptions import ModelFileError
from .model import Conversation, Role
from .resources import lazy, load_tsv
from .text import fold, has_content, normalize

__all__ = ["CueHit", "CueMessage", "CueView", "cue_view", "text_cues"]

_SIDES = ("buyer", "agent", "system")
_CUE_FILE = "competency/cues.tsv"

#: Roles bound once: an enum class-attribute look-up costs about 0.1 µs per use.
_BUYER, _AGENT = Role.BUYER, Role.AGENT


@lazy
def _cue_matchers() -> dict[str, PhraseMatcher[frozenset[str]]]:
    per_side: dict[str, dict[str, frozenset[str]]] = {s: {} for s in _SIDES}
    for entry in load_tsv(_CUE_FILE):
        if len(entry.fields) < 2 or entry.fields[0] not in per_side:
            msg = (
                f"kefu_standards/data/{_CUE_FILE}, line {entry.line}: expected "
                "phrase<TAB>side<TAB>kinds with side one of buyer, agent, system"
            )
            raise ModelFileError(msg)
        kinds = frozenset(k.strip() for k in entry.fields[1].split(",") if k.strip())
        per_side[entry.fields[0]][fold(entry.phrase)] = kinds
    return {side: PhraseMatcher(phrases.items()) for side, phrases in per_side.items()}


@attrs.frozen(slots=True)
class CueHit:
    start: int
    end: int
    kinds: frozenset[str]


_QUESTION_RE = re.compile(
    r"[?？]|吗|多少|什么|怎么|哪|几|是不是|有没有|能不能|可不可以|为什么|啥|咋"
)


@functools.lru_cache(maxsize=32768)
def text_cues(side: str, text: str) -> tuple[tuple[CueHit, ...], bool, bool, frozenset[str]]:
    """Return ``(cue hits, has content, is a question, cue kinds)`` of one text (cached)."""
    if not has_content(text):
        return (), False, False, frozenset()
    norm = normalize(text)
    hits = tuple(
        CueHit(m.start, m.end, m.payload)
        for m in _cue_matchers()[side].find(norm)
        if "neutral" not in m.payload
    )
    kinds = frozenset(k for h in hits for k in h.kinds)
    return hits, True, _QUESTION_RE.search(norm) is not None, kinds


class CueMessage(NamedTuple):
    """One message with its cues (a named tuple: built for every message, so kept cheap)."""

    index: int  # type: ignore[assignment]  # shadows tuple.index (never called on it)
    role: Role
    text: str
    hits: tuple[CueHit, ...]
    content: bool
    question: bool
    kinds: frozenset[str]

    def has(self, kind: str) -> bool:
        return kind in self.kinds

    def spans(self, kind: str) -> list[CueHit]:
        if kind not in self.kinds:
            return []
        return [h for h in self.hits if kind in h.kinds]

    def evidence(self, kind: str, weight: float, rule: str = "") -> list[Evidence]:
        if kind not in self.kinds:
            return []
        return [
            Evidence(h.start, h.end, self.text[h.start : h.end], kind, weight, rule, self.index)
            for h in self.spans(kind)
        ]


def _side(role: Role) -> str:
    if role is _BUYER:
        return "buyer"
    if role is _AGENT:
        return "agent"
    return "system"


class CueView(tuple[CueMessage, ...]):
    """The per-message cues of a conversation, with its agent and buyer messages picked once.

    ``agents`` / ``buyers`` are the messages with content of that role (every
    dimension asks for them; a plain tuple works too, see :func:`_agents`).
    """

    agents: tuple[CueMessage, ...]
    buyers: tuple[CueMessage, ...]


_SIDE_OF = {_BUYER: "buyer", _AGENT: "agent"}  # :func:`_side` as a look-up


def cue_view(conversation: Conversation) -> CueView:
    """Return the per-message cues of *conversation* (every dimension reads them)."""
    side, cues, new = _SIDE_OF.get, text_cues, tuple.__new__
    # tuple.__new__(CueMessage, ...) is what CueMessage(...) returns, without its
    # Python-level __new__
    view = CueView(
        [
            new(CueMessage, (i, m.role, m.text, *cues(side(m.role, "system"), m.text)))
            for i, m in enumerate(conversation.messages)
        ]
    )
    view.agents = tuple(m for m in view if m.role is _AGENT and m.content)
    view.buyers = tuple(m for m in view if m.role is _BUYER and m.content)
    return view
