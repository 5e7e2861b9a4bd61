"""Analyse many conversations: per-conversation results plus per-agent, day and shop rollups.

:func:`analyze` streams: it holds one chunk of conversations at a time, the
rollups (mergeable sums and fixed-size sketches), and a bounded number of
"worst" examples for the report, so memory stays flat in the number of
conversations.  Per-conversation results can be written to a JSON Lines file as
they are produced.  With ``workers > 1`` chunks are scored in worker processes;
results come back in input order, so the output is the same whatever the
worker count.
"""

from __future__ import annotations

import heapq
import math
import os
import warnings
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import attrs

from ._escalation import NOTHING_MATERIAL_ZH
from ._escalation_types import check_model
from ._frozendict import FrozenDict, frozen_dict
from ._jsontext import dumps
from ._signals import Signals, signals, signals_many
from ._topic_kpis import TopicKPIs, _TopicAcc
from ._topics import topics as _conversation_topics
from ._trends import Trends, TrendSums, _TrendAcc, build_trends
from .competency import assess
from .evidence import Evidence
from .exceptions import ConfigError, InputTypeError, UndefinedMetricWarning
from .model import Conversation
from .outcomes._tables import agent_columns
from .redact import RedactionPolicy, buyer_ids, pseudonym, redact
from .timing import TimingSummary, iter_columns, response_times

__all__ = [
    "AgentRollup",
    "Analysis",
    "ConversationResult",
    "analyze",
    "analyze_conversation",
    "iter_results",
    "merge_analyses",
    "trends_of",
]

#: Evidence kinds from politeness that count as a problem hit in the report.
PROBLEM_KINDS = frozenset({"banned_phrase", "harsh_tone", "offensive", "overpromise"})


@attrs.frozen
class ConversationResult:
    """Everything measured on one conversation (JSON-ready via :meth:`to_record`)."""

    id: str
    shop: str | None
    buyer: str | None
    agents: tuple[str, ...]
    started_at: datetime | None
    messages: int
    first_response_s: float | None
    mean_response_s: float | None
    reply_rate: float | None
    within_sla_rate: float | None
    duration_s: float | None
    rounds: int
    answered: int
    buyer_sentiment: float | None
    politeness: float | None
    impolite_messages: int
    agent_messages_scored: int
    escalation: float | None
    escalation_level: str | None
    escalation_reasons: tuple[str, ...]
    total: float | None
    dimensions: tuple[tuple[str, float | None], ...]
    critical: tuple[str, ...]
    hits: tuple[Evidence, ...]
    per_agent_politeness: tuple[tuple[str, float, int, int], ...] = ()
    per_agent_waits: tuple[tuple[str, tuple[int, ...]], ...] = ()
    dimension_labels: tuple[tuple[str, str], ...] = ()
    topic: str | None = None
    topic_name: str | None = None

    def to_record(self) -> dict[str, Any]:
        """Return a JSON-ready dict (evidence as ``[start, end, text, kind, message_index]``)."""
        rec = attrs.asdict(self, recurse=False)
        rec["started_at"] = None if self.started_at is None else self.started_at.isoformat()
        rec["agents"] = list(self.agents)
        rec["escalation_reasons"] = list(self.escalation_reasons)
        rec["dimensions"] = dict(self.dimensions)
        rec["critical"] = list(self.critical)
        rec["hits"] = [[e.start, e.end, e.text, e.kind, e.message_index] for e in self.hits]
        del rec["per_agent_politeness"]
        del rec["per_agent_waits"]
        del rec["dimension_labels"]
        del rec["topic_name"]
        return rec

    def redacted(
        self,
        conversation: Conversation,
        policy: RedactionPolicy | None = None,
        *,
        pseudonymize: bool = False,
    ) -> ConversationResult:
        """Return a copy for people: evidence texts and reasons redacted under *policy*.

        Evidence is masked in the context of its whole message (*conversation*
        is the one this result measured), so spans keep their meaning.  With
        *pseudonymize*, ``buyer`` becomes a 16-hex-character keyed hash
        (:func:`kefu_standards.redact.pseudonym`); otherwise it stays as data.

        .. versionadded:: 0.2.0
        """
        policy = RedactionPolicy() if policy is None else policy
        known = buyer_ids(conversation)
        messages = conversation.messages
        hits = []
        for e in self.hits:
            i = e.message_index
            if i is not None and 0 <= i < len(messages):
                shown = redact(messages[i].text, policy, known=known).text[e.start : e.end]
            else:
                shown = redact(e.text, policy, known=known).text
            hits.append(e if shown == e.text else attrs.evolve(e, text=shown))
        reasons = tuple(redact(x, policy, known=known).text for x in self.escalation_reasons)
        buyer = self.buyer
        if pseudonymize and buyer is not None:
            buyer = pseudonym(buyer, policy, length=16)
        return attrs.evolve(self, hits=tuple(hits), escalation_reasons=reasons, buyer=buyer)


#: Upper bounds (seconds) of the wait buckets kept per agent; a last bucket counts
#: unanswered rounds.  The report's response-time distribution is drawn from them.
WAIT_BUCKETS_S: tuple[float, ...] = (30.0, 60.0, 180.0, 600.0, math.inf)


#: The agent-table name of rounds credited to no agent (no agent ever held the chat, or
#: the agent messages carry no ``sender``), and of the politeness and problem hits of
#: agent messages without a sender: one row, so one agent's chats are not split in two.
UNASSIGNED_AGENT = "未分配 (unassigned)"


def _wait_buckets(rounds: Iterable[Any]) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """Count counted rounds per credited agent into WAIT_BUCKETS_S (+ unanswered)."""
    out: dict[str, list[int]] = {}
    size = len(WAIT_BUCKETS_S) + 1
    for r in rounds:
        if not r.counted:
            continue
        who = r.agent or UNASSIGNED_AGENT
        counts = out.get(who)
        if counts is None:  # out.setdefault(who, [0] * size), building the list only when new
            counts = out[who] = [0] * size
        if r.wait_s is None:
            counts[-1] += int(not r.answered)
            continue
        counts[bisect_left(WAIT_BUCKETS_S, r.wait_s)] += 1  # first bucket with wait <= hi
    return tuple((k, tuple(v)) for k, v in out.items())


def _problem_markers(text: str, result: Any) -> tuple[Evidence, ...]:
    """Return the evidence of *result* (the politeness of *text*) of a ``PROBLEM_KINDS`` kind."""
    return tuple([e for e in result.evidence if e.kind in PROBLEM_KINDS])


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def analyze_conversation(conversation: Conversation, policy: Any = None) -> ConversationResult:
    """Measure one conversation: timing, sentiment, politeness, escalation and competency."""
    return _analyze_one(conversation, policy, signals(conversation))


def _analyze_one(conversation: Conversation, policy: Any, sig: Signals) -> ConversationResult:
    """:func:`analyze_conversation` given the conversation's signals.

    ``sig.escalation`` is the escalation under the analysis's model (see
    :func:`~kefu_standards.signals_many`).
    """
    conv = conversation
    t = sig.timing if policy is None else response_times(conv, policy=policy)
    finite = sig.buyer_sentiments()

    pol_values: list[float] = []
    impolite = 0
    hits: list[Evidence] = []
    per_agent: dict[str, list[float]] = {}
    per_agent_bad: dict[str, int] = {}
    messages = conv.messages
    for i, p in sig.agent_politeness():
        if p.score is None:
            continue
        pol_values.append(p.score)
        who = messages[i].sender or UNASSIGNED_AGENT
        scores = per_agent.get(who)
        if scores is None:
            scores = per_agent[who] = []
        scores.append(p.score)
        if p.label == "impolite":
            impolite += 1
            per_agent_bad[who] = per_agent_bad.get(who, 0) + 1
        if p.evidence:
            found = _problem_markers(messages[i].text, p)
            if found:
                hits += [e.at(i) for e in found]

    # the signals hold the escalation of the analysis's model (computed once): the
    # scorecard's dimensions read the same one
    esc = sig.escalation
    a = assess(conv, signals=sig)
    top = _conversation_topics(conv).topics  # the buyer's topics, ranked
    topic = top[0] if top else None
    return ConversationResult(
        id=conv.id,
        shop=conv.shop,
        buyer=conv.buyer,
        agents=conv.agents,
        started_at=conv.started_at,
        messages=len(conv),
        first_response_s=t.first_response_s,
        mean_response_s=t.mean_response_s,
        reply_rate=t.reply_rate,
        within_sla_rate=t.within_sla_rate,
        duration_s=t.duration_s,
        rounds=t.n_rounds,
        answered=t.n_answered,
        buyer_sentiment=_mean(finite),
        politeness=_mean(pol_values),
        impolite_messages=impolite,
        agent_messages_scored=len(pol_values),
        escalation=esc.score,
        escalation_level=esc.level,
        escalation_reasons=tuple(r.zh for r in esc.risk_reasons),  # material, raising
        total=a.total,
        dimensions=tuple([(name, d.score) for name, d in a.dimensions.items()]),
        dimension_labels=tuple([(name, d.label) for name, d in a.dimensions.items()]),
        critical=tuple(c.name for c in a.critical),
        hits=tuple(hits),
        per_agent_politeness=tuple(
            (who, sum(v), len(v), per_agent_bad.get(who, 0)) for who, v in per_agent.items()
        ),
        per_agent_waits=_wait_buckets(t.rounds),
        topic=None if topic is None else topic.label,
        topic_name=None if topic is None else topic.name,
    )


def _score_chunk(args: tuple[Any, ...]) -> list[ConversationResult]:
    """Score a chunk: ``args`` is ``(chunk, policy)`` or ``(chunk, policy, escalation_model)``."""
    chunk, policy, model = (*args, None) if len(args) == 2 else args
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        # one batched sentiment and politeness call for the whole chunk (chat repeats itself)
        sigs = signals_many(chunk, escalation_model=model)
        return [_analyze_one(c, policy, s) for c, s in zip(chunk, sigs, strict=True)]


def _check_stream(items: object, caller: str) -> None:
    """Refuse what is not a stream of conversations, saying what to pass instead."""
    if isinstance(items, Conversation):
        msg = (
            f"{caller} needs an iterable of Conversation objects, got one Conversation: pass [conv]"
        )
        raise InputTypeError(msg)
    if isinstance(items, (str, bytes, os.PathLike)):
        msg = (
            f"{caller} needs an iterable of Conversation objects, got a path or text "
            f"({type(items).__name__}): to analyse a file pass read_conversations(path)"
        )
        raise InputTypeError(msg)
    if not isinstance(items, Iterable):
        msg = f"{caller} needs an iterable of Conversation objects, got {type(items).__name__}"
        raise InputTypeError(msg)


def _chunks(items: Iterable[Conversation], size: int) -> Iterator[list[Conversation]]:
    _check_stream(items, "analyze()")
    chunk: list[Conversation] = []
    for c in items:
        if not isinstance(c, Conversation):
            raise InputTypeError(f"analyze() needs Conversation objects, got {type(c).__name__}")
        chunk.append(c)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def iter_results(
    conversations: Iterable[Conversation],
    *,
    policy: Any = None,
    workers: int = 1,
    chunk_size: int = 64,
    escalation_model: Any = None,
) -> Iterator[tuple[list[Conversation], list[ConversationResult]]]:
    """Yield ``(chunk, results)`` pairs in input order; scored in *workers* processes."""
    if workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    if chunk_size < 1:
        raise ConfigError(f"chunk_size must be >= 1, got {chunk_size}")
    chunks = _chunks(conversations, chunk_size)
    if workers == 1:
        for chunk in chunks:
            yield chunk, _score_chunk((chunk, policy, escalation_model))
        return
    import multiprocessing as mp

    ctx = mp.get_context("spawn" if os.name == "nt" else "fork")
    with ctx.Pool(workers) as pool:
        pending: list[Any] = []
        for chunk in chunks:
            job = pool.apply_async(_score_chunk, ((chunk, policy, escalation_model),))
            pending.append((chunk, job))
            while len(pending) > 2 * workers:
                first, job = pending.pop(0)
                yield first, job.get()
        for first, job in pending:
            yield first, job.get()


def _as_tuple(items: Iterable[Any]) -> tuple[Any, ...]:
    return items if type(items) is tuple else tuple(items)


def _no_waits() -> tuple[int, ...]:
    return (0,) * (len(WAIT_BUCKETS_S) + 1)


@attrs.frozen
class AgentRollup:
    """Mergeable per-agent sums (politeness, problems, competency, escalation).

    Frozen: :meth:`merge` returns a new rollup.

    .. versionchanged:: 0.2.0
       Frozen; ``wait_buckets`` is a tuple, ``dim_sum`` and ``dim_n`` are read-only
       mappings, and :meth:`merge` no longer adds into ``self``.
    """

    agent: str
    conversations: int = 0
    politeness_sum: float = 0.0
    politeness_n: int = 0
    impolite_messages: int = 0
    problem_hits: int = 0
    high_risk: int = 0
    total_sum: float = 0.0
    total_n: int = 0
    dim_sum: Mapping[str, float] = attrs.field(factory=FrozenDict, converter=frozen_dict)
    dim_n: Mapping[str, int] = attrs.field(factory=FrozenDict, converter=frozen_dict)
    wait_buckets: tuple[int, ...] = attrs.field(factory=_no_waits, converter=_as_tuple)

    def merge(self, other: AgentRollup) -> AgentRollup:
        """Return the sums of this rollup and *other* (the same agent) as a new rollup."""
        dim_sum = dict(self.dim_sum)
        dim_n = dict(self.dim_n)
        for k, v in other.dim_sum.items():
            dim_sum[k] = dim_sum.get(k, 0.0) + v
            dim_n[k] = dim_n.get(k, 0) + other.dim_n.get(k, 0)
        return AgentRollup(
            agent=self.agent,
            conversations=self.conversations + other.conversations,
            politeness_sum=self.politeness_sum + other.politeness_sum,
            politeness_n=self.politeness_n + other.politeness_n,
            impolite_messages=self.impolite_messages + other.impolite_messages,
            problem_hits=self.problem_hits + other.problem_hits,
            high_risk=self.high_risk + other.high_risk,
            total_sum=self.total_sum + other.total_sum,
            total_n=self.total_n + other.total_n,
            dim_sum=dim_sum,
            dim_n=dim_n,
            wait_buckets=tuple(
                a + b for a, b in zip(self.wait_buckets, other.wait_buckets, strict=True)
            ),
        )

    @property
    def politeness(self) -> float | None:
        """Mean politeness of this agent's scored messages."""
        return self.politeness_sum / self.politeness_n if self.politeness_n else None

    @property
    def total(self) -> float | None:
        """Mean competency total of the conversations this agent served."""
        return self.total_sum / self.total_n if self.total_n else None

    def dimension(self, name: str) -> float | None:
        """Mean score of one dimension (``None`` when always N/A)."""
        n = self.dim_n.get(name, 0)
        return self.dim_sum[name] / n if n else None


@attrs.define
class _AgentSums:
    """The running sums of one agent inside :func:`analyze` (frozen into an AgentRollup)."""

    agent: str
    conversations: int = 0
    politeness_sum: float = 0.0
    politeness_n: int = 0
    impolite_messages: int = 0
    problem_hits: int = 0
    high_risk: int = 0
    total_sum: float = 0.0
    total_n: int = 0
    dim_sum: dict[str, float] = attrs.field(factory=dict)
    dim_n: dict[str, int] = attrs.field(factory=dict)
    wait_buckets: list[int] = attrs.field(factory=lambda: [0] * (len(WAIT_BUCKETS_S) + 1))

    def frozen(self) -> AgentRollup:
        """Return these sums as a frozen :class:`AgentRollup`."""
        return AgentRollup(**attrs.asdict(self, recurse=False))  # the same fields, frozen


def _rollup(rollups: dict[str, _AgentSums], who: str) -> _AgentSums:
    """``rollups.setdefault(who, _AgentSums(who))``, building the sums only when new."""
    roll = rollups.get(who)
    if roll is None:
        roll = rollups[who] = _AgentSums(who)
    return roll


def _add_result(rollups: dict[str, _AgentSums], r: ConversationResult) -> None:
    for who in r.agents:
        roll = _rollup(rollups, who)
        roll.conversations += 1
        roll.high_risk += r.escalation_level == "high"
        if r.total is not None:
            roll.total_sum += r.total
            roll.total_n += 1
        for name, score in r.dimensions:
            if score is not None:
                roll.dim_sum[name] = roll.dim_sum.get(name, 0.0) + score
                roll.dim_n[name] = roll.dim_n.get(name, 0) + 1
    for who, s, n, bad in r.per_agent_politeness:
        roll = _rollup(rollups, who)
        roll.politeness_sum += s
        roll.politeness_n += n
        roll.impolite_messages += bad
    for who, counts in r.per_agent_waits:
        roll = _rollup(rollups, who)
        roll.wait_buckets = [a + b for a, b in zip(roll.wait_buckets, counts, strict=True)]


@attrs.frozen
class Analysis:
    """The outcome of :func:`analyze`: rollups, team KPIs and the worst examples.

    Per-conversation results are not kept (memory stays flat); pass
    ``results=`` to :func:`analyze` to stream them to a file.  Frozen:
    :meth:`merge` and :func:`merge_analyses` return a new analysis, and
    ``attrs.evolve(analysis, outcomes=...)`` one with outcomes joined.

    ``escalation_model`` names the fitted escalation model the risks came from
    (:meth:`EscalationModel.describe <kefu_standards.EscalationModel.describe>`:
    fingerprint, file, training data), ``None`` for the shipped model.

    .. versionchanged:: 0.2.0
       Frozen; ``agents`` and ``dimension_labels`` are read-only mappings,
       ``riskiest`` and ``problems`` tuples.  ``escalation_model``.
    """

    conversations: int
    messages: int
    agents: Mapping[str, AgentRollup] = attrs.field(converter=frozen_dict)
    timing_by_agent: Any
    timing_by_day: Any
    timing_by_shop: Any
    riskiest: tuple[tuple[ConversationResult, Conversation], ...] = attrs.field(converter=_as_tuple)
    problems: tuple[tuple[ConversationResult, Conversation, Evidence], ...] = attrs.field(
        converter=_as_tuple
    )
    first_time: datetime | None
    last_time: datetime | None
    dimension_names: tuple[str, ...] = attrs.field(converter=_as_tuple)
    dimension_labels: Mapping[str, str] = attrs.field(factory=FrozenDict, converter=frozen_dict)
    # timing by (agent, day) (counts and sums, no quantile sketch) and per-(agent, day)
    # sums: the material of ``trends``
    timing_by_agent_day: Any = None
    trend_sums: TrendSums = attrs.field(factory=TrendSums)

    @property
    def trends(self) -> Trends:
        """Per-week (or per-day) rows per agent and for the team, and each agent's 持续学习.

        Built from the mergeable sums on each access (a few rows per agent and
        period); the period is chosen from the data's span, see
        :func:`kefu_standards.analysis.trends_of`.

        .. versionadded:: 0.2.0
        """
        return trends_of(self)

    topics: TopicKPIs = attrs.field(factory=TopicKPIs)
    # -- outcomes (#15): an OutcomeResult when ratings/orders/refunds were joined
    outcomes: Any = None
    # -- outcomes (#15): timing by shop under each platform preset whose target the
    # report holds KPIs against (PLATFORM_PRESETS), whatever the run's policy
    timing_by_platform: Mapping[str, Any] = attrs.field(factory=FrozenDict, converter=frozen_dict)
    # -- escfit (#16): which escalation model scored the conversations
    escalation_model: str | None = None

    def topic_rows(self) -> list[dict[str, Any]]:
        """One row per consultation topic: share, response times, reply, escalation, impolite rates.

        .. versionadded:: 0.2.0
        """
        return self.topics.rows()

    def topic_agent_rows(self) -> list[dict[str, Any]]:
        """One row per agent, day and topic (the rows of ``topics_by_agent.csv``).

        Columns: ``agent``, ``day``, ``topic``, ``name`` and the KPI columns of
        :meth:`topic_rows` (``share`` is of the agent's conversations that day).

        .. versionadded:: 0.2.0
        """
        return self.topics.agent_day_rows()

    def agent_rows(self) -> list[dict[str, Any]]:
        """One row per agent: volume, response times, politeness, competency."""
        # the timing table keys rounds credited to no agent by None; the rollups by UNASSIGNED_AGENT
        timing = {
            UNASSIGNED_AGENT if row["agent"] is None else row["agent"]: row
            for row in self.timing_by_agent.table().rows()
        }
        rows = []
        for name in sorted(self.agents):
            roll = self.agents[name]
            t = timing.get(name, {})
            rows.append(
                {
                    "agent": name,
                    "conversations": roll.conversations,
                    "rounds": t.get("rounds", 0),
                    "reply_rate": t.get("reply_rate"),
                    "mean_wait_s": t.get("mean_s"),
                    "p90_wait_s": t.get("p90_s"),
                    "sla_rate": t.get("sla_rate"),
                    "politeness": roll.politeness,
                    "impolite": roll.impolite_messages,
                    "problem_hits": roll.problem_hits,
                    "high_risk": roll.high_risk,
                    "total": roll.total,
                }
            )
            # -- outcomes (#15): the KPI columns of outcomes.OUTCOME_COLUMNS
            if self.outcomes is not None:
                rows[-1] |= agent_columns(self.outcomes, name, UNASSIGNED_AGENT)
        return rows

    def trend_rows(self) -> list[dict[str, Any]]:
        """Return the ``trends.csv`` rows: one per agent (and the team) and period.

        .. versionadded:: 0.2.0
        """
        return self.trends.records()

    def conversation_rows(self) -> list[dict[str, Any]]:
        """Return the riskiest conversations, one row each."""
        return [
            {
                "id": r.id,
                "risk": r.escalation,
                "level": r.escalation_level,
                "total": r.total,
                "reasons": "; ".join(r.escalation_reasons[:2]) or NOTHING_MATERIAL_ZH,
            }
            for r, _ in self.riskiest
        ]

    def merge(self, *others: Analysis, top_k: int = 10) -> Analysis:
        """Return the analysis of this and *others* (disjoint conversations) together."""
        return merge_analyses((self, *others), top_k=top_k)


def trends_of(
    analysis: Analysis,
    *,
    period: str | None = None,
    min_conversations: int = 5,
    learning_scale: float = 2.0,
) -> Trends:
    """Return the :class:`~kefu_standards.Trends` of *analysis*.

    *period* is ``"week"`` (ISO weeks), ``"day"``, or ``None``: weeks when the
    conversations span at least 21 days, days otherwise.  持续学习 uses periods
    with at least *min_conversations* conversations; its score is
    ``0.5 + slope / (2 * learning_scale)`` clipped to [0, 1], the slope being
    that of the agent's mean total per period, in points per week (so +2 points
    a week scores 1 by default).  When outcome files were joined
    (``analysis.outcomes``), each row also has the outcome KPIs of
    :data:`~kefu_standards._trends.OUTCOME_TREND_COLUMNS` for its period.

    .. versionadded:: 0.2.0
    """
    return build_trends(
        analysis.trend_sums,
        analysis.timing_by_agent_day,
        analysis.timing_by_day,
        period=period,
        min_conversations=min_conversations,
        learning_scale=learning_scale,
        labels=analysis.dimension_labels,
        outcomes=analysis.outcomes,
    )


def analyze(
    conversations: Iterable[Conversation],
    *,
    policy: Any = None,
    workers: int = 1,
    chunk_size: int = 64,
    results: str | os.PathLike[str] | IO[str] | None = None,
    top_k: int = 10,
    escalation_model: Any = None,
    redaction: RedactionPolicy | None = None,
    pseudonymize: bool = False,
    on_result: Callable[[Conversation, ConversationResult], object] | None = None,
) -> Analysis:
    """Analyse a stream of conversations.

    Parameters
    ----------
    conversations:
        Any iterable of :class:`~kefu_standards.Conversation` (e.g. from
        :func:`~kefu_standards.read_conversations`); consumed once, in chunks.
    policy:
        Timing policy (a :class:`~kefu_standards.timing.TimingPolicy` or a preset
        name such as ``"taobao"``); ``None`` for the plain defaults.
    workers:
        Processes used to score chunks; the output does not depend on it.
    chunk_size:
        Conversations per chunk (the unit of work and of memory).
    results:
        A path or text stream to write one JSON line per conversation to.
    top_k:
        How many riskiest conversations and problem hits the report keeps.
    escalation_model:
        An :class:`~kefu_standards.EscalationModel` fitted on the shop's own
        chats: the escalation risk (and the criteria that read it) come from it.

        .. versionadded:: 0.2.0
    redaction:
        What the *results* lines mask in evidence texts and reasons (default:
        masking on, see :class:`~kefu_standards.redact.RedactionPolicy`).
        Scores never depend on it: analysers read the raw text.
    pseudonymize:
        Write each buyer id in *results* as a keyed hash
        (:meth:`ConversationResult.redacted`) instead of the id itself.
    on_result:
        Called with each conversation and its (unredacted)
        :class:`ConversationResult`, in stream order, e.g.
        ``on_result=join.add`` of an :class:`~kefu_standards.outcomes.OutcomeJoin`
        so the outcome diagnosis gets the measured signals in the same pass.

        .. versionadded:: 0.2.0

    .. versionchanged:: 0.2.0
       *redaction* and *pseudonymize*; results lines are redacted by default.

    """
    if top_k < 0:
        raise ConfigError(f"top_k must be >= 0, got {top_k}")
    check_model(escalation_model, "analyze(escalation_model=...)")
    if redaction is not None and not isinstance(redaction, RedactionPolicy):
        raise ConfigError(f"redaction must be a RedactionPolicy, got {type(redaction).__name__}")
    shown = RedactionPolicy() if redaction is None else redaction
    sink: IO[str] | None
    close = False
    if results is None or hasattr(results, "write"):
        sink = results  # type: ignore[assignment]
    else:
        sink = Path(results).open("w", encoding="utf-8")  # noqa: SIM115 - closed below
        close = True
    by_agent = TimingSummary.empty(("agent",), policy)
    by_day = TimingSummary.empty(("day",), policy)
    by_shop = TimingSummary.empty(("shop",), policy)
    by_agent_day = TimingSummary.empty(("agent", "day"), policy)
    trend_sums = _TrendAcc()  # frozen into the analysis' TrendSums at the end
    rollups: dict[str, _AgentSums] = {}
    risk_heap: list[tuple[float, int, ConversationResult, Conversation]] = []
    hit_heap: list[tuple[float, int, ConversationResult, Conversation, Evidence]] = []
    n_conv = n_msg = seq = hit_seq = 0
    first: datetime | None = None
    last: datetime | None = None
    dim_names: dict[str, None] = {}
    dim_labels: dict[str, str] = {}
    topic_kpis = _TopicAcc()  # frozen into the analysis' TopicKPIs at the end
    # -- outcomes (#15): the platform presets' timing, for the report's targets
    by_platform = {name: TimingSummary.empty(("shop",), name) for name in PLATFORM_PRESETS}
    # timing rollups are summarised over batches of about _TIMING_BATCH messages: the
    # vectorised summary has a fixed cost per call, and merging is exact
    pending: list[Conversation] = []
    pending_msg = 0

    def summarise_pending() -> None:
        nonlocal by_agent, by_day, by_shop, by_agent_day, pending_msg
        # one columnar conversion per batch serves all three groupings
        for cols in iter_columns(pending):
            for name, summary in by_platform.items():  # outcomes (#15)
                by_platform[name] = summary.merge(
                    TimingSummary.from_columns(cols, ("shop",), name, sketch=False)
                )
            by_agent = by_agent.merge(TimingSummary.from_columns(cols, ("agent",), policy))
            by_day = by_day.merge(TimingSummary.from_columns(cols, ("day",), policy))
            by_shop = by_shop.merge(TimingSummary.from_columns(cols, ("shop",), policy))
            by_agent_day = by_agent_day.merge(  # trends: no quantile sketch, flat memory
                TimingSummary.from_columns(cols, ("agent", "day"), policy, sketch=False)
            )
        pending.clear()
        pending_msg = 0

    try:
        for chunk, results_chunk in iter_results(
            conversations,
            policy=policy,
            workers=workers,
            chunk_size=chunk_size,
            escalation_model=escalation_model,
        ):
            pending.extend(chunk)
            pending_msg += sum(len(c.messages) for c in chunk)
            if pending_msg >= _TIMING_BATCH:
                summarise_pending()
            for conv, r in zip(chunk, results_chunk, strict=True):
                seq += 1
                n_conv += 1
                n_msg += len(conv)
                started = r.started_at  # conv.started_at, read once when it was scored
                if started is not None and (first is None or started < first):
                    first = started
                if conv.ended_at is not None and (last is None or conv.ended_at > last):
                    last = conv.ended_at
                _add_result(rollups, r)
                trend_sums.add(r)
                topic_kpis.add(r, r.topic, r.topic_name, conv)
                for name, _ in r.dimensions:
                    dim_names.setdefault(name, None)
                dim_labels.update(r.dimension_labels)
                for e in r.hits:
                    who = conv.messages[e.message_index or 0].sender or UNASSIGNED_AGENT
                    _rollup(rollups, who).problem_hits += 1
                    hit_seq += 1
                    _push(hit_heap, (-e.weight, -hit_seq, r, conv, e), top_k)
                if r.escalation is not None:
                    _push(risk_heap, (r.escalation, -seq, r, conv), top_k)
                if on_result is not None:  # outcomes (#15): e.g. OutcomeJoin.add
                    on_result(conv, r)
                if sink is not None:
                    out = r.redacted(conv, shown, pseudonymize=pseudonymize)
                    sink.write(dumps(out.to_record()) + "\n")
        if pending:
            summarise_pending()
    finally:
        if close and sink is not None:
            sink.close()
    riskiest = [(r, c) for _, _, r, c in sorted(risk_heap, key=lambda t: (-t[0], -t[1]))]
    problems = [(r, c, e) for _, _, r, c, e in sorted(hit_heap, key=lambda t: (-t[0], -t[1]))]
    return Analysis(
        conversations=n_conv,
        messages=n_msg,
        agents={name: sums.frozen() for name, sums in rollups.items()},
        timing_by_agent=by_agent,
        timing_by_day=by_day,
        timing_by_shop=by_shop,
        riskiest=riskiest,
        problems=problems,
        first_time=first,
        last_time=last,
        dimension_names=tuple(dim_names),
        dimension_labels=dim_labels,
        timing_by_agent_day=by_agent_day,
        trend_sums=trend_sums.frozen(),
        topics=topic_kpis.frozen(),
        timing_by_platform=by_platform,  # outcomes (#15)
        escalation_model=_model_name(escalation_model),
    )


#: Platform timing presets whose targets the report holds KPIs against (三分钟响应率
#: ≥ 90 %: Taobao; 平均响应时长 < 40 s: JD), computed in the same pass whatever the
#: run's policy (outcomes #15).
PLATFORM_PRESETS: tuple[str, ...] = ("taobao", "jd")


def _model_name(model: Any) -> str | None:
    """One line naming a fitted escalation model (``None``: the shipped model)."""
    if model is None:
        return None
    describe = getattr(model, "describe", None)
    return str(describe()) if callable(describe) else type(model).__name__


#: Messages per timing-rollup batch in :func:`analyze` (memory stays bounded by it).
_TIMING_BATCH = 8192


def _push(heap: list[Any], item: tuple[Any, ...], k: int) -> None:
    """Keep the *k* largest items (by the tuple order) in a min-heap."""
    if k == 0:
        return
    if len(heap) < k:
        heapq.heappush(heap, item)
    elif item[:2] > heap[0][:2]:
        heapq.heapreplace(heap, item)


def merge_analyses(parts: Sequence[Analysis], *, top_k: int = 10, policy: Any = None) -> Analysis:
    """Merge :class:`Analysis` objects of disjoint sets of conversations into one.

    The inputs are not modified.  Ties among the riskiest conversations and the
    worst problem hits keep stream order (the parts in the order given, then each
    part's own order), so merging consecutive shards in order gives exactly the
    :func:`analyze` result of the whole stream.
    """
    agents: dict[str, AgentRollup] = {}
    for part in parts:
        for name, roll in part.agents.items():
            have = agents.get(name)
            agents[name] = roll if have is None else have.merge(roll)
    timing: dict[str, TimingSummary] = {}
    for attr, by in (
        ("timing_by_agent", "agent"),
        ("timing_by_day", "day"),
        ("timing_by_shop", "shop"),
    ):
        start = getattr(parts[0], attr) if parts else TimingSummary.empty((by,), policy)
        timing[attr] = start.merge(*(getattr(p, attr) for p in parts[1:]))
    by_agent_day = TimingSummary.empty(("agent", "day"), policy)
    if parts and parts[0].timing_by_agent_day is not None:
        by_agent_day = parts[0].timing_by_agent_day
    by_agent_day = by_agent_day.merge(
        *(p.timing_by_agent_day for p in parts[1:] if p.timing_by_agent_day is not None)
    )
    trend_sums = TrendSums().merge(*(p.trend_sums for p in parts))
    # Ties keep stream order: parts in the order given, then each part's own
    # order, so consecutive shards merge to exactly what ``analyze`` of the whole
    # gives.  Problem hits are worst (most negative weight) first.
    riskiest = [
        pair
        for _, _, _, pair in sorted(
            (-(pair[0].escalation or 0.0), k, i, pair)
            for k, p in enumerate(parts)
            for i, pair in enumerate(p.riskiest)
        )[:top_k]
    ]
    problems = [
        hit
        for _, _, _, hit in sorted(
            (hit[2].weight, k, i, hit)
            for k, p in enumerate(parts)
            for i, hit in enumerate(p.problems)
        )[:top_k]
    ]
    firsts = [p.first_time for p in parts if p.first_time is not None]
    lasts = [p.last_time for p in parts if p.last_time is not None]
    names: dict[str, None] = {}
    labels: dict[str, str] = {}
    for p in parts:
        names.update(dict.fromkeys(p.dimension_names))
        labels.update(p.dimension_labels)
    return Analysis(
        conversations=sum(p.conversations for p in parts),
        messages=sum(p.messages for p in parts),
        agents=agents,
        riskiest=riskiest,
        problems=problems,
        first_time=min(firsts) if firsts else None,
        last_time=max(lasts) if lasts else None,
        dimension_names=tuple(names),
        dimension_labels=labels,
        timing_by_agent=timing["timing_by_agent"],
        timing_by_day=timing["timing_by_day"],
        timing_by_shop=timing["timing_by_shop"],
        timing_by_agent_day=by_agent_day,
        trend_sums=trend_sums,
        topics=TopicKPIs().merge(*(p.topics for p in parts)),
        # -- outcomes (#15): the parts' join results and platform-preset timing added
        outcomes=_merge_outcomes([p.outcomes for p in parts if p.outcomes is not None]),
        timing_by_platform={
            name: TimingSummary.empty(("shop",), name).merge(
                *(p.timing_by_platform[name] for p in parts if name in p.timing_by_platform)
            )
            for name in PLATFORM_PRESETS
        },
        escalation_model=_merge_model_names([p.escalation_model for p in parts]),
    )


def _merge_model_names(names: list[str | None]) -> str | None:
    """Return the parts' escalation model: the one they share, or each named when they differ."""
    distinct = list(dict.fromkeys(names))
    if distinct in ([], [None]):
        return None
    if len(distinct) == 1:
        return distinct[0]
    return "mixed: " + "; ".join(n or "the shipped model" for n in distinct)


def _merge_outcomes(parts: list[Any]) -> Any:
    """Merge the parts' outcome results (``None`` when no part has any)."""
    return parts[0].merge(*parts[1:]) if parts else None
