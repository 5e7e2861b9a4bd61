"""Escalation's per-text parsing: what it reads from one buyer or agent text.

:func:`parse_buyer_text` and :func:`parse_agent_text` turn one text into the cues, bigrams and
flags the walk reads (each cached by the raw text: chat repeats itself; the only
caches escalation keeps); :func:`repeats_earlier` tells a repeated message;
:func:`impolite_verdict` reads a politeness result; :func:`sentiment_read` says
which messages the walk reads the other analysers for.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import attrs

from ._cues import (
    Cue,
    agent_cues,
    asking_for_human,
    buyer_cues,
    buyer_view,
    carries_identifier,
    is_acceptance,
    is_bare_okay,
    material_refusals,
    says_what_happens,
)
from ._escalation_types import PolitenessLike
from .evidence import Evidence
from .model import Message, Role
from .text import has_content

_THREAT_KINDS = frozenset({"threat", "complaint", "human"})
_HUMAN_KINDS = frozenset({"human"})
_EMOTION_KINDS = frozenset({"anger", "disappointment", "urgency", "unresolved"})
_GRATITUDE_KINDS = frozenset({"gratitude", "resolved"})
_IMPOLITE_KINDS = frozenset({"banned_phrase", "harsh_tone", "offensive"})


@attrs.frozen(slots=True)
class _BuyerText:
    """Everything escalation reads from one buyer text, computed once per distinct text."""

    card: bool  # a card or system line exported as the buyer's (skipped)
    content: bool  # letters, digits or CJK outside placeholders
    info_only: bool  # visible but no content and no cue: an order number, a phone, an emoticon
    cues: tuple[Cue, ...]
    threat: tuple[Cue, ...]
    human: tuple[Cue, ...]  # the human / manager requests among threat
    human_request: tuple[Cue, ...]  # those that ask for one (not 你是人工吗)
    felt: tuple[Cue, ...]  # anger / disappointment cues (negative_emotion)
    unsolved: tuple[Cue, ...]  # not solved / does not help (unresolved)
    urging: tuple[Cue, ...]  # urgency cues (the impatience reason)
    emotion: tuple[Cue, ...]
    emotion_strength: float  # min(3, sum of the emotion strengths)
    repeat: tuple[Cue, ...]
    repeat_count: float  # sum of the repeat strengths / 2
    nudges: tuple[Cue, ...]
    nudge_strength: float  # min(2, sum of the nudge / impatience strengths)
    gratitude: tuple[Cue, ...]
    gratitude_strength: float  # min(2, max strength)
    questions: tuple[Cue, ...]
    issues: tuple[Cue, ...]
    corrections: tuple[Cue, ...]
    correction_strength: float  # min(2, max strength)
    grams: frozenset[str]
    ack: bool
    accepts: bool  # thanks, 好的, 那我拍了, 没有了 (closes the open issues before it)
    bare_okay: bool  # only 好吧 / 行吧: accepts; its disappointment cue is minor
    statement: bool  # content that is not a pasted record (an order number): said again, counts
    log_length: float  # log(1 + content characters)


def _of(cues: Sequence[Cue], kinds: frozenset[str]) -> tuple[Cue, ...]:
    return tuple(c for c in cues if c.kind in kinds)


@lru_cache(maxsize=65536)
def parse_buyer_text(text: str) -> _BuyerText:
    """Per-text features of a buyer message (cached by the raw text: chat repeats itself)."""
    view = buyer_view(text)
    cues = view.cues
    content = has_content(text)
    emotion = _of(cues, _EMOTION_KINDS)
    gratitude = _of(cues, _GRATITUDE_KINDS)
    corrections = _of(cues, frozenset({"correction"}))
    repeat = _of(cues, frozenset({"repeat"}))
    # a trailing-off 。。。 weighs on the impatience feature as before; it is listed as emotion
    nudges = _of(cues, frozenset({"nudge", "impatience", "exasperation"}))
    return _BuyerText(
        card=view.card,
        content=content,
        info_only=not content and not cues and bool(text.strip()),
        cues=cues,
        threat=_of(cues, _THREAT_KINDS),
        human=_of(cues, _HUMAN_KINDS),
        human_request=asking_for_human(text, _of(cues, _HUMAN_KINDS)),
        felt=_of(emotion, frozenset({"anger", "disappointment"})),
        unsolved=_of(emotion, frozenset({"unresolved"})),
        urging=_of(emotion, frozenset({"urgency"})),
        emotion=emotion,
        emotion_strength=min(3.0, sum(c.strength for c in emotion)),
        repeat=repeat,
        repeat_count=sum(c.strength for c in repeat) / 2.0,
        nudges=nudges,
        nudge_strength=min(2.0, sum(c.strength for c in nudges)),
        gratitude=gratitude,
        gratitude_strength=min(2.0, max((c.strength for c in gratitude), default=0.0)),
        questions=_of(cues, frozenset({"question"})),
        issues=_of(cues, frozenset({"issue"})),
        corrections=corrections,
        correction_strength=min(2.0, max((c.strength for c in corrections), default=0.0)),
        grams=view.grams,
        ack=view.ack,
        accepts=view.ack or is_acceptance(text) or is_bare_okay(text),
        bare_okay=is_bare_okay(text),
        statement=content and not carries_identifier(text),
        log_length=math.log1p(view.length),
    )


def repeats_earlier(
    grams: frozenset[str], earlier: Sequence[frozenset[str]], threshold: float
) -> bool:
    """Tell whether *grams* repeats one of *earlier* (:func:`is_repeat_of`, min 3 bigrams).

    Sets whose sizes differ too much are skipped unread: the Jaccard index is at
    most ``min(n, m) / max(n, m)`` (and float division keeps that order).
    """
    n = len(grams)
    if n < 3:
        return False
    for g in earlier:
        m = len(g)
        if m < 3 or (m / n if m < n else n / m) < threshold:
            continue
        inter = len(grams & g)  # is_repeat_of(grams, g, ...), inlined (sizes checked above)
        if inter / (n + m - inter) >= threshold:
            return True
    return False


@attrs.frozen(slots=True)
class _AgentText:
    """Everything escalation reads from one agent text, computed once per distinct text."""

    content: bool
    apology: bool
    holding: bool  # a bare holding reply (稍等, no remedy or apology, short): must be followed up
    refusal: tuple[Cue, ...]
    refusal_material: tuple[Cue, ...]  # material_refusals of refusal
    credit: float  # de-escalation credit: apology + remedy + deadline 1, remedy + one of them 0.6
    used: tuple[Cue, ...]  # the apology / remedy / deadline cues behind the credit


@lru_cache(maxsize=65536)
def parse_agent_text(text: str) -> _AgentText:
    """Per-text features of an agent message (cached by the raw text: canned replies repeat)."""
    cues = agent_cues(text)
    kinds = {c.kind for c in cues}
    apology, remedy, deadline = "apology" in kinds, "remedy" in kinds, "deadline" in kinds
    credit = 0.0
    if remedy and (apology or deadline):
        credit = 1.0 if (apology and deadline) else 0.6
    return _AgentText(
        content=has_content(text),
        apology=apology,
        holding="holding" in kinds
        and not (kinds & {"remedy", "apology"})
        and len(text.strip()) <= 40
        and not says_what_happens(text),
        refusal=_of(cues, frozenset({"refusal"})),
        refusal_material=material_refusals(text, _of(cues, frozenset({"refusal"}))),
        credit=credit,
        used=_of(cues, frozenset({"apology", "remedy", "deadline"})) if credit else (),
    )


def _clear_caches() -> None:
    """Empty every per-text cache escalation keeps (for tests and cold benchmarks).

    The models it reads (sentiment, the chat-negativity head, politeness) keep
    their own caches, shared with ``analyze``; they are left as they are.
    """
    parse_buyer_text.cache_clear()
    parse_agent_text.cache_clear()
    buyer_cues.cache_clear()
    agent_cues.cache_clear()


_POLITE: tuple[bool, tuple[Evidence, ...], bool] = (False, (), False)


def impolite_verdict(result: PolitenessLike) -> tuple[bool, tuple[Evidence, ...], bool]:
    """``(impolite, impolite markers, material)`` of one politeness result."""
    if result.label != "impolite":  # the usual reply: no impolite marker, nothing to build
        for e in result.evidence:
            if e.kind in _IMPOLITE_KINDS:
                break
        else:
            return _POLITE
    bad = tuple(e for e in result.evidence if e.kind in _IMPOLITE_KINDS)
    lexical = [e for e in bad if not e.rule.startswith("model:")]
    material = any(e.kind == "banned_phrase" for e in bad) or (
        result.label == "impolite" and bool(lexical)
    )
    return result.label == "impolite" or bool(bad), bad, material


def sentiment_read(message: Message) -> bool:
    """Whether the walk reads the sentiment (an agent's: the politeness) of *message*."""
    if message.role is Role.BUYER:
        bt = parse_buyer_text(message.text)
        return bt.content and not bt.card
    return message.role is Role.AGENT and parse_agent_text(message.text).content
