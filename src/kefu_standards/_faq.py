"""Frequent questions: near-identical buyer questions grouped, with the agents' usual answers.

The material for a shop's 快捷短语 (quick replies) and FAQ page.  Each buyer
message is reduced to a key: its jieba words, numbers folded to ``0``,
placeholders (order ids) blanked, greetings and particles dropped
(``data/topics/faq_stopwords.tsv``), the remaining words as a sorted set.
Messages with the same key form a group; groups are ranked by size.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import attrs

from ._escalation import escalation
from ._segment import words
from ._topics import is_pasted, topic
from .exceptions import ConfigError
from .model import Conversation, Role
from .redact import redact
from .resources import lazy, load_tsv
from .text import has_content

__all__ = ["FrequentQuestion", "frequent_questions", "question_key"]


@lazy
def _stopwords() -> frozenset[str]:
    return frozenset(e.phrase for e in load_tsv("topics/faq_stopwords.tsv"))


def question_key(text: str) -> str:
    """Return the grouping key of *text*: its content words, sorted, space-separated.

    ``""`` when nothing is left (好的, an order number alone).
    """
    stop = _stopwords()
    return " ".join(sorted({w for w in words(text) if w not in stop}))


@attrs.frozen(slots=True)
class FrequentQuestion:
    """A group of near-identical buyer questions.

    ``key`` is the shared content words; ``count`` the buyer messages in the group
    and ``conversations`` the distinct conversations they come from; ``examples``
    up to a few distinct texts (phone numbers and order ids masked); ``answers`` the
    agents' most common first replies with their counts; ``topic`` the default
    topic of the group's most common text (``None`` when it has none);
    ``unanswered_rate`` the share of the questions no agent message followed;
    ``escalated_rate`` the share of the conversations whose escalation level is
    ``"high"`` (``None`` when not computed).

    .. versionadded:: 0.2.0
    """

    key: str
    count: int
    conversations: int
    examples: tuple[str, ...]
    answers: tuple[tuple[str, int], ...]
    topic: str | None
    unanswered_rate: float
    escalated_rate: float | None
    message_refs: tuple[tuple[str, int], ...] = attrs.field(repr=False)


def _first_answer(conversation: Conversation, index: int) -> str | None:
    """Return the first agent message after message *index* (None when no agent reply follows)."""
    for msg in conversation.messages[index + 1 :]:
        if msg.role is Role.AGENT:
            return msg.text
    return None


def frequent_questions(
    conversations: Iterable[Conversation],
    *,
    top: int = 50,
    min_count: int = 2,
    examples: int = 3,
    answers: int = 3,
    max_words: int = 8,
    escalation_rate: bool = True,
    topical: bool = True,
) -> list[FrequentQuestion]:
    """Group near-identical buyer questions across *conversations*; return the *top* largest.

    A buyer message takes part when its key (see :func:`question_key`) has between
    1 and *max_words* words (longer messages are narratives, not reusable
    questions).  With ``topical`` (the default) only messages that carry a topic
    (:func:`~kefu_standards.topic`) take part, so acknowledgements (好的, 对, 没有了)
    do not crowd out the questions; pasted order cards and bare links never take
    part (:func:`~kefu_standards.is_pasted`).  Groups smaller than
    *min_count* are left out.  With
    ``escalation_rate`` the escalation of each conversation that holds a grouped
    question is computed (the slow part) to fill ``escalated_rate``.

    .. versionadded:: 0.2.0
    """
    for name, value, low in (
        ("top", top, 1),
        ("min_count", min_count, 1),
        ("examples", examples, 0),
        ("answers", answers, 0),
        ("max_words", max_words, 1),
    ):
        if not isinstance(value, int) or value < low:
            raise ConfigError(
                f"frequent_questions(): {name} must be an int >= {low}, got {value!r}"
            )
    groups: dict[str, list[tuple[str, int]]] = {}
    texts: dict[str, Counter[str]] = {}
    replies: dict[str, Counter[str]] = {}
    unanswered: Counter[str] = Counter()
    convs: dict[str, Conversation] = {}
    for conv in conversations:
        if not isinstance(conv, Conversation):
            msg = f"frequent_questions() takes Conversations, got {type(conv).__name__}"
            raise ConfigError(msg)
        for i, msg in enumerate(conv.messages):
            if msg.role is not Role.BUYER or not has_content(msg.text) or is_pasted(msg.text):
                continue
            if topical and topic(msg.text).label is None:
                continue
            key = question_key(msg.text)
            if not key or key.count(" ") >= max_words:
                continue
            if key not in groups:
                groups[key], texts[key], replies[key] = [], Counter(), Counter()
            groups[key].append((conv.id, i))
            texts[key][msg.text.strip()] += 1
            reply = _first_answer(conv, i)
            if reply is None:
                unanswered[key] += 1
            else:
                replies[key][redact(reply.strip()).text] += 1
            convs.setdefault(conv.id, conv)
    ranked = sorted(
        (k for k, refs in groups.items() if len(refs) >= min_count),
        key=lambda k: (-len(groups[k]), k),
    )[:top]
    high: dict[str, bool] = {}
    out = []
    for key in ranked:
        refs = groups[key]
        ids = list(dict.fromkeys(cid for cid, _ in refs))
        rate: float | None = None
        if escalation_rate:
            for cid in ids:
                if cid not in high:
                    high[cid] = escalation(convs[cid]).level == "high"
            rate = sum(high[cid] for cid in ids) / len(ids)
        common = texts[key].most_common()
        out.append(
            FrequentQuestion(
                key=key,
                count=len(refs),
                conversations=len(ids),
                examples=tuple(redact(t).text for t, _ in common[:examples]),
                answers=tuple(replies[key].most_common(answers)),
                topic=topic(common[0][0]).label,
                unanswered_rate=unanswered[key] / len(refs),
                escalated_rate=rate,
                message_refs=tuple(refs),
            )
        )
    return out
