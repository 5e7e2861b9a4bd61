"""Service KPIs per consultation topic: mergeable sums, like the timing summaries.

Each analysed conversation counts under its **top topic** (:func:`~kefu_standards.topics`;
conversations whose buyer messages carry no topic count under ``None``), so the
conversation shares add up to 1.  Per topic (and per topic and agent, per topic
and day) the rollup keeps sums only, so shards merge exactly.

KPIs per row:

- ``conversations`` and ``share`` (of all analysed conversations);
- ``first_response_s`` — mean first response time over conversations where it is defined;
- ``mean_response_s`` — mean of the conversations' mean response times;
- ``reply_rate`` — answered rounds / counted rounds, over all the topic's rounds;
- ``escalation_rate`` — conversations with escalation level ``"high"`` / conversations
  with a level;
- ``impolite_rate`` — conversations with at least one impolite agent message /
  conversations with a scored agent message.

A KPI with no defined input is ``None``, not 0.

Rows come per topic (:meth:`TopicKPIs.rows`, ``topics.csv``), per topic and agent,
per topic and day, and per topic, agent and day (:meth:`TopicKPIs.agent_day_rows`,
``topics_by_agent.csv``).  The number of rollups is bounded by topics × agents ×
days, like the timing summaries by agent and day.

The rollup also counts the buyers' most frequent questions (topical buyer messages
of at most ``QUESTION_MAX_CHARS`` characters that are not pasted cards or links,
keyed by their folded letters and digits, numbers as ``0``), without jieba so the
analysis stays fast.  Per question it keeps how often it was asked, how often no
agent message followed it (unanswered), how often its conversation's escalation
level was ``"high"`` (the library's prediction of a dissatisfied buyer), and the
agents' most common first replies to it.

Memory is bounded: at most ``2 * QUESTION_KEEP`` questions are held (beyond that
the rarer half is dropped, so the counts are exact while there are at most
``QUESTION_KEEP`` distinct questions and approximate beyond), and per question at
most ``2 * ANSWER_KEEP`` distinct replies of at most ``ANSWER_MAX_CHARS``
characters (pruned the same way): about 4,000 × (6 × 80 + 40) characters, a few
megabytes at most, whatever the number of conversations.
:func:`~kefu_standards.frequent_questions` is the fuller tool (jieba words, exact
groups, but it holds the conversations it groups).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, TypeVar

import attrs

from ._frozendict import FrozenDict, FrozenMap, frozen_dict, frozen_map
from ._topics import is_pasted
from ._topics import topic as _topic_of
from .model import Conversation, Role
from .redact import RedactionPolicy, redact
from .text import fold

__all__ = [
    "KPI_COLUMNS",
    "NO_TOPIC",
    "TOPIC_AGENT_COLUMNS",
    "QuestionCount",
    "TopicKPIs",
    "TopicRollup",
    "question_text_key",
]

#: How conversations without a topic are named in rows and ``topics.csv``.
NO_TOPIC = "(no topic)"
#: The KPI columns of every topic row, in order (stable: ``topics.csv`` and
#: ``topics_by_agent.csv`` keep these names).
KPI_COLUMNS = (
    "conversations",
    "share",
    "first_response_s",
    "mean_response_s",
    "reply_rate",
    "escalation_rate",
    "impolite_rate",
)
#: The columns of ``topics_by_agent.csv``.
TOPIC_AGENT_COLUMNS = ("agent", "day", "topic", "name", *KPI_COLUMNS)
#: Longest buyer message (characters) counted as a question.
QUESTION_MAX_CHARS = 40
#: Distinct questions kept exactly; beyond twice this, the rarer half is dropped.
QUESTION_KEEP = 2000
#: Distinct first replies kept per question; beyond twice this, the rarer half is dropped.
ANSWER_KEEP = 3
#: A reply is kept (and grouped) by its first this many characters.
ANSWER_MAX_CHARS = 80

_NOT_KEY = re.compile(r"[^0-9a-z\u3400-\u9fff]+")
_DIGITS = re.compile(r"[0-9]+")


def question_text_key(text: str) -> str:
    """Return the key of a question: folded letters, digits and CJK, each number as ``0``."""
    return _DIGITS.sub("0", _NOT_KEY.sub("", fold(text)))


@lru_cache(maxsize=65536)
def _question(text: str) -> tuple[str, str] | None:
    """``(key, topic)`` of a buyer message that counts as a question, else None (cached by text)."""
    label = _topic_of(text).label
    if label is None or is_pasted(text):
        return None
    key = question_text_key(text)
    return (key, label) if key else None


@attrs.define
class _QuestionAcc:
    """The running count of one question inside :func:`~kefu_standards.analyze` (mutable)."""

    count: int
    topic: str
    example: str
    unanswered: int = 0
    high_risk: int = 0
    answers: dict[str, int] = attrs.field(factory=dict)

    def add_answer(self, text: str, n: int = 1) -> None:
        """Count a first reply (*n* times); keep at most ``2 * ANSWER_KEEP`` distinct replies."""
        key = text[:ANSWER_MAX_CHARS]
        self.answers[key] = self.answers.get(key, 0) + n
        if len(self.answers) > 2 * ANSWER_KEEP:
            kept = sorted(self.answers.items(), key=lambda kv: (-kv[1], kv[0]))[:ANSWER_KEEP]
            self.answers = dict(kept)

    def frozen(self) -> QuestionCount:
        """Return this count as a frozen :class:`QuestionCount`."""
        return QuestionCount(
            self.count, self.topic, self.example, self.unanswered, self.high_risk, self.answers
        )


@attrs.frozen
class QuestionCount:
    """A frequent buyer question: how often, its topic, one example, and what followed.

    ``example`` is the first text seen (masked only when shown); ``unanswered``
    counts the asks no agent message followed; ``high_risk`` the asks whose
    conversation's escalation level was ``"high"``; ``answers`` the agents' first
    replies (their first ``ANSWER_MAX_CHARS`` characters) with their counts
    (a read-only mapping).

    .. versionchanged:: 0.2.0
       Frozen: counted by the analysis' private accumulator (no ``add_answer``).
    """

    count: int
    topic: str
    example: str
    unanswered: int = 0
    high_risk: int = 0
    answers: Mapping[str, int] = attrs.field(factory=FrozenDict, converter=frozen_dict)


@attrs.define
class _Rollup:
    """The running sums of one topic rollup inside the accumulator (mutable)."""

    conversations: int = 0
    first_sum: float = 0.0
    first_n: int = 0
    mean_sum: float = 0.0
    mean_n: int = 0
    rounds: int = 0
    answered: int = 0
    high_risk: int = 0
    leveled: int = 0
    impolite_conversations: int = 0
    scored_conversations: int = 0

    def add(self, result: Any) -> None:
        """Add one :class:`~kefu_standards.analysis.ConversationResult`."""
        self.conversations += 1
        if result.first_response_s is not None:
            self.first_sum += result.first_response_s
            self.first_n += 1
        if result.mean_response_s is not None:
            self.mean_sum += result.mean_response_s
            self.mean_n += 1
        self.rounds += result.rounds
        self.answered += result.answered
        if result.escalation_level is not None:
            self.leveled += 1
            self.high_risk += result.escalation_level == "high"
        if result.agent_messages_scored:
            self.scored_conversations += 1
            self.impolite_conversations += result.impolite_messages > 0

    def add_sums(self, other: TopicRollup) -> None:
        """Add *other*'s sums into these (*other* is not changed)."""
        for name in _ROLLUP_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def frozen(self) -> TopicRollup:
        """Return these sums as a frozen :class:`TopicRollup`."""
        return TopicRollup(**attrs.asdict(self, recurse=False))  # the same fields, frozen


@attrs.frozen
class TopicRollup:
    """Mergeable sums of one topic (or topic and agent, or topic and day).

    .. versionchanged:: 0.2.0
       Frozen: :meth:`merge` returns a new rollup (no ``add``).
    """

    conversations: int = 0
    first_sum: float = 0.0
    first_n: int = 0
    mean_sum: float = 0.0
    mean_n: int = 0
    rounds: int = 0
    answered: int = 0
    high_risk: int = 0
    leveled: int = 0
    impolite_conversations: int = 0
    scored_conversations: int = 0

    def merge(self, other: TopicRollup) -> TopicRollup:
        """Return the sums of this rollup and *other* as a new rollup."""
        return TopicRollup(
            **{name: getattr(self, name) + getattr(other, name) for name in _ROLLUP_FIELDS}
        )

    def kpis(self, total: int) -> dict[str, Any]:
        """Return the KPI columns, given the number of conversations analysed in all."""
        return {
            "conversations": self.conversations,
            "share": self.conversations / total if total else None,
            "first_response_s": self.first_sum / self.first_n if self.first_n else None,
            "mean_response_s": self.mean_sum / self.mean_n if self.mean_n else None,
            "reply_rate": self.answered / self.rounds if self.rounds else None,
            "escalation_rate": self.high_risk / self.leveled if self.leveled else None,
            "impolite_rate": (
                self.impolite_conversations / self.scored_conversations
                if self.scored_conversations
                else None
            ),
        }


_ROLLUP_FIELDS = tuple(f.name for f in attrs.fields(TopicRollup))

K = TypeVar("K")


def _merge_into(mine: dict[K, _Rollup], theirs: Mapping[K, TopicRollup]) -> None:
    """Add *theirs* into *mine*, copying rollups that are new (*theirs* is unchanged)."""
    for key, roll in theirs.items():
        have = mine.get(key)
        if have is None:
            mine[key] = _Rollup(**attrs.asdict(roll))
        else:
            have.add_sums(roll)


def _frozen_rolls(rolls: dict[K, _Rollup]) -> dict[K, TopicRollup]:
    return {key: roll.frozen() for key, roll in rolls.items()}


class _TopicAcc:
    """The running :class:`TopicKPIs` inside :func:`~kefu_standards.analyze` (mutable)."""

    def __init__(self) -> None:
        self.by_topic: dict[str | None, _Rollup] = {}
        self.by_agent: dict[tuple[str | None, str], _Rollup] = {}
        self.by_day: dict[tuple[str | None, str], _Rollup] = {}
        self.names: dict[str, str] = {}
        self.questions: dict[str, _QuestionAcc] = {}
        self.by_agent_day: dict[tuple[str | None, str, str], _Rollup] = {}

    def add(
        self,
        result: Any,
        topic: str | None,
        name: str | None = None,
        conversation: Conversation | None = None,
    ) -> None:
        """Count *result* (a ``ConversationResult``) under *topic*; its questions if given."""
        if conversation is not None:
            self._add_questions(conversation, result.escalation_level == "high")
        if topic is not None and name:
            self.names.setdefault(topic, name)
        roll = self.by_topic.get(topic)
        if roll is None:
            roll = self.by_topic[topic] = _Rollup()
        roll.add(result)
        for agent in result.agents:
            key = (topic, agent)
            r = self.by_agent.get(key)
            if r is None:
                r = self.by_agent[key] = _Rollup()
            r.add(result)
        if result.started_at is not None:
            day = result.started_at.date().isoformat()
            r = self.by_day.get((topic, day))
            if r is None:
                r = self.by_day[topic, day] = _Rollup()
            r.add(result)
            for agent in result.agents:
                key3 = (topic, agent, day)
                r = self.by_agent_day.get(key3)
                if r is None:
                    r = self.by_agent_day[key3] = _Rollup()
                r.add(result)

    def _add_questions(self, conversation: Conversation, high_risk: bool) -> None:
        buyer, agent = Role.BUYER, Role.AGENT
        waiting: list[_QuestionAcc] = []  # questions no agent message has followed yet
        questions = self.questions
        for msg in conversation.messages:
            role = msg.role
            if role is agent:
                if waiting:
                    reply = msg.text.strip()  # the first agent message after the question
                    for q in waiting:
                        q.add_answer(reply)
                    waiting.clear()
                continue
            if role is not buyer or len(msg.text) > QUESTION_MAX_CHARS:
                continue
            found = _question(msg.text)
            if found is None:
                continue
            key, label = found
            have = questions.get(key)
            if have is None:
                q = questions[key] = _QuestionAcc(0, label, msg.text.strip())
            else:
                q = have
            q.count += 1
            q.high_risk += high_risk
            waiting.append(q)
        for q in waiting:
            q.unanswered += 1
        if len(questions) > 2 * QUESTION_KEEP:
            self.prune()

    def prune(self) -> None:
        """Keep the ``QUESTION_KEEP`` most asked questions."""
        kept = sorted(self.questions.items(), key=lambda kv: (-kv[1].count, kv[0]))
        self.questions = dict(kept[:QUESTION_KEEP])

    def add_kpis(self, part: TopicKPIs) -> None:
        """Add a finished :class:`TopicKPIs` into these (*part* is not changed; no pruning)."""
        self.names.update(part.names)
        for key, q in part.questions.items():
            have = self.questions.get(key)
            if have is None:
                have = self.questions[key] = _QuestionAcc(0, q.topic, q.example)
            have.count += q.count
            have.unanswered += q.unanswered
            have.high_risk += q.high_risk
            for text, c in q.answers.items():
                have.add_answer(text, c)
        _merge_into(self.by_topic, part.by_topic)
        _merge_into(self.by_agent, part.by_agent)
        _merge_into(self.by_day, part.by_day)
        _merge_into(self.by_agent_day, part.by_agent_day)

    def frozen(self) -> TopicKPIs:
        """Return these counts as a frozen :class:`TopicKPIs`."""
        return TopicKPIs(
            by_topic=_frozen_rolls(self.by_topic),
            by_agent=_frozen_rolls(self.by_agent),
            by_day=_frozen_rolls(self.by_day),
            names=self.names,
            questions={key: q.frozen() for key, q in self.questions.items()},
            by_agent_day=_frozen_rolls(self.by_agent_day),
        )


@attrs.frozen
class TopicKPIs:
    """Topic rollups of an analysis: by topic, topic and agent, topic and day, and all three.

    ``names`` maps topic ids to display names (the taxonomy's Chinese names);
    ``questions`` holds the bounded question counts (see the module docstring).
    Every mapping is read-only and its values frozen; :meth:`merge` returns new KPIs.

    .. versionadded:: 0.2.0
    """

    by_topic: Mapping[str | None, TopicRollup] = attrs.field(
        factory=FrozenMap, converter=frozen_map
    )
    by_agent: Mapping[tuple[str | None, str], TopicRollup] = attrs.field(
        factory=FrozenMap, converter=frozen_map
    )
    by_day: Mapping[tuple[str | None, str], TopicRollup] = attrs.field(
        factory=FrozenMap, converter=frozen_map
    )
    names: Mapping[str, str] = attrs.field(factory=FrozenDict, converter=frozen_dict)
    questions: Mapping[str, QuestionCount] = attrs.field(factory=FrozenMap, converter=frozen_map)
    by_agent_day: Mapping[tuple[str | None, str, str], TopicRollup] = attrs.field(
        factory=FrozenMap, converter=frozen_map
    )

    @property
    def conversations(self) -> int:
        """Conversations counted (each under one topic)."""
        return sum(r.conversations for r in self.by_topic.values())

    def top_questions(
        self,
        n: int = 10,
        *,
        min_count: int = 1,
        answers: int = ANSWER_KEEP,
        policy: RedactionPolicy | None = None,
    ) -> list[dict[str, Any]]:
        """Return the *n* most frequent questions, most asked first.

        Each is a dict: ``question`` (an example), ``topic``, ``name``, ``count``,
        ``unanswered`` (asks no agent message followed), ``high_risk`` (asks in a
        conversation at escalation level ``"high"``) and ``answers`` (up to
        *answers* ``(reply, count)`` pairs, the agents' most common first replies).
        Texts are masked under *policy* (default :class:`~kefu_standards.redact.RedactionPolicy`).
        Questions asked fewer than *min_count* times are left out.
        """
        ranked = sorted(
            ((k, q) for k, q in self.questions.items() if q.count >= min_count),
            key=lambda kv: (-kv[1].count, kv[0]),
        )[:n]
        return [
            {
                "question": redact(q.example, policy).text,
                "topic": q.topic,
                "name": self.names.get(q.topic, q.topic),
                "count": q.count,
                "unanswered": q.unanswered,
                "high_risk": q.high_risk,
                "answers": [
                    (redact(text, policy).text, c)
                    for text, c in sorted(q.answers.items(), key=lambda kv: (-kv[1], kv[0]))[
                        :answers
                    ]
                ],
            }
            for _key, q in ranked
        ]

    def merge(self, *others: TopicKPIs) -> TopicKPIs:
        """Return the KPIs of this and *others* together (inputs unchanged)."""
        acc = _TopicAcc()
        for part in (self, *others):
            acc.add_kpis(part)
        if len(acc.questions) > 2 * QUESTION_KEEP:
            acc.prune()
        return acc.frozen()

    def _label(self, topic: str | None) -> tuple[str, str]:
        if topic is None:
            return NO_TOPIC, ""
        return topic, self.names.get(topic, topic)

    def rows(self) -> list[dict[str, Any]]:
        """One row per topic, most conversations first (``(no topic)`` last)."""
        total = self.conversations
        keys = sorted(
            self.by_topic, key=lambda k: (k is None, -self.by_topic[k].conversations, k or "")
        )
        rows = []
        for key in keys:
            label, name = self._label(key)
            rows.append({"topic": label, "name": name, **self.by_topic[key].kpis(total)})
        return rows

    def agent_rows(self) -> list[dict[str, Any]]:
        """One row per topic and agent (``share`` is of the agent's conversations)."""
        totals: dict[str, int] = {}
        for (_topic, agent), roll in self.by_agent.items():
            totals[agent] = totals.get(agent, 0) + roll.conversations
        return self._keyed_rows(self.by_agent.items(), "agent", totals)

    def day_rows(self) -> list[dict[str, Any]]:
        """One row per topic and day (``share`` is of the day's conversations)."""
        totals: dict[str, int] = {}
        for (_topic, day), roll in self.by_day.items():
            totals[day] = totals.get(day, 0) + roll.conversations
        return self._keyed_rows(self.by_day.items(), "day", totals)

    def agent_day_rows(self) -> list[dict[str, Any]]:
        """One row per agent, day and topic (``topics_by_agent.csv``), by agent, day, size.

        Columns (stable): ``agent``, ``day``, ``topic``, ``name`` and the KPI columns of
        :meth:`rows`; ``share`` is of the agent's conversations that day.
        """
        totals: dict[tuple[str, str], int] = {}
        for (_topic, agent, day), roll in self.by_agent_day.items():
            totals[agent, day] = totals.get((agent, day), 0) + roll.conversations
        rows = []
        for (topic, agent, day), roll in sorted(
            self.by_agent_day.items(),
            key=lambda kv: (
                kv[0][1],
                kv[0][2],
                kv[0][0] is None,
                -kv[1].conversations,
                kv[0][0] or "",
            ),
        ):
            label, name = self._label(topic)
            rows.append(
                {"agent": agent, "day": day, "topic": label, "name": name}
                | roll.kpis(totals[agent, day])
            )
        return rows

    def _keyed_rows(
        self,
        items: Iterable[tuple[tuple[str | None, str], TopicRollup]],
        column: str,
        totals: dict[str, int],
    ) -> list[dict[str, Any]]:
        rows = []
        for (topic, other), roll in sorted(
            items, key=lambda kv: (kv[0][1], kv[0][0] is None, -kv[1].conversations, kv[0][0] or "")
        ):
            label, name = self._label(topic)
            rows.append({column: other, "topic": label, "name": name, **roll.kpis(totals[other])})
        return rows
