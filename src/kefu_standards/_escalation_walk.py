"""The walk: escalation's state after each message, and the events that explain it.

:func:`walk_messages` reads a conversation once, message by message (decay, rounds,
waits, the buyer's and the agent's signals) and returns the turn head's log-odds,
the state in :data:`FEATURES` order and the events; :func:`_settle_open_issues`
decides the open issues once the whole chat is known; :func:`_trace` is the walk
under the shipped model (for the benchmarks and tests).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Sequence
from datetime import datetime

import attrs

from ._cues import Cue, echo_challenge
from ._escalation_model import LinearHeads, Readings, _default_model, read_signals
from ._escalation_text import impolite_verdict, parse_agent_text, parse_buyer_text, repeats_earlier
from ._escalation_types import FEATURES, EscalationPolicy, PolitenessFn, SentimentFn
from ._time import elapsed, wall_clock_exact
from .evidence import Evidence
from .model import Conversation, Message, Role
from .timing import TimingPolicy, walk_rounds

# ---------------------------------------------------------------- the trace


@attrs.frozen(slots=True)
class TraceEvent:
    kind: str  # a REASON_KINDS key
    index: int
    evidence: tuple[Evidence, ...]
    material: bool = True  # passes its kind's test in REASON_DEFINITIONS
    via: str | None = None  # the reason kind whose features weigh it, when not its own


@attrs.frozen(slots=True)
class _Trace:
    features: tuple[tuple[float, ...], ...]
    events: tuple[TraceEvent, ...]


def _cue_evidence(cues: Iterable[Cue], index: int, kind: str) -> tuple[Evidence, ...]:
    return tuple(
        [
            Evidence(c.start, c.end, c.phrase, kind, c.strength, f"escalation/{c.kind}", index)
            for c in cues
        ]
    )


def _whole(message: Message, index: int, kind: str, rule: str, weight: float = 1.0) -> Evidence:
    text = message.text
    lead = len(text) - len(text.lstrip())
    tail = max(lead, len(text.rstrip()))
    return Evidence(lead, tail, text[lead:tail], kind, weight, rule, index)


def _seconds(later: datetime | None, earlier: datetime | None) -> float | None:
    """Real seconds from *earlier* to *later* (``None`` if either is untimed)."""
    if later is None or earlier is None:
        return None
    return elapsed(later, earlier).total_seconds()


def _wall_seconds(later: datetime | None, earlier: datetime | None) -> float | None:
    """:func:`_seconds` for a conversation where wall-clock subtraction is exact."""
    if later is None or earlier is None:
        return None
    return (later - earlier).total_seconds()


#: Features that decay before each message: by ``decay``, or by ``threat_decay``.
_DECAYING = frozenset(
    {"repetition", "waiting", "agent_impolite", "agent_lapse", "deescalation", "open_issue"}
)
_DECAYING_SLOWLY = frozenset({"threat", "agent_refusal", "refused_problem"})
_LAPSE = FEATURES.index("agent_lapse")


def _decay_factors(policy: EscalationPolicy) -> tuple[float, ...]:
    """Per-feature factor of one step's decay (1.0 for a feature that does not decay)."""
    return tuple(
        policy.threat_decay if f in _DECAYING_SLOWLY else policy.decay if f in _DECAYING else 1.0
        for f in FEATURES
    )


# -- rounds (#14): the one round rule, over the messages escalation reads as turns --------
#: Rounds only: no idle-gap sessions, no bot answers, the answering agent credited.
_TURN_ROUNDS = TimingPolicy(credit="answerer")


def _is_turn(message: Message) -> bool:
    """Return whether *message* opens or answers escalation's rounds (is a *turn*).

    Turns are buyer messages with content or cues (not a card, not a bare answer)
    and agent messages with content.
    """
    if message.role is Role.BUYER:
        bt = parse_buyer_text(message.text)
        return not bt.card and not bt.info_only and bool(bt.content or bt.cues)
    return message.role is Role.AGENT and parse_agent_text(message.text).content


def _turn_rounds(messages: Sequence[Message]) -> tuple[frozenset[int], dict[int, int]]:
    """Return ``(openers, answer index -> opener index)`` of escalation's rounds.

    The rounds are :func:`~kefu_standards.timing.walk_rounds`' (the rule that
    ``testing.reference_rounds`` states) over the turns (:func:`_is_turn`), with
    the indexes of *messages*.
    """
    turns = [i for i, m in enumerate(messages) if _is_turn(m)]
    openers: set[int] = set()
    answers: dict[int, int] = {}
    for r in walk_rounds([messages[i] for i in turns], _TURN_ROUNDS):
        openers.add(turns[r.opened])
        if r.answered is not None:
            answers[turns[r.answered]] = turns[r.opened]
    return frozenset(openers), answers


# -- the walk --------------------------------------------------------------------------
def walk_messages(
    messages: Sequence[Message],
    *,
    policy: EscalationPolicy,
    sentiment: SentimentFn | None,
    politeness: PolitenessFn | None,
    model: LinearHeads,
    readings: Readings | None = None,
) -> tuple[list[float], list[tuple[float, ...]], list[TraceEvent]]:
    """Walk the conversation once; return the turn log-odds, the states and the events.

    After each message: the turn head's calibrated log-odds and the state in
    :data:`FEATURES` order (one local variable per feature: this loop runs for
    every message ``analyze`` sees, so it avoids attribute look-ups and calls);
    plus the events that explain the state.  Before each message the counted
    events decay (``decay``; threats and refusals by ``threat_decay``).  A
    holding reply never followed up is charged after the last message.

    What the other analysers say comes from *readings* (one value per message);
    without them, from :func:`read_signals` of *sentiment* and *politeness*.
    """
    if readings is None:
        readings = read_signals(messages, sentiment, politeness)
    pos_of, chat_of, polite_of = readings.sentiment, readings.chat_negativity, readings.politeness
    thanks_of, disagreement_of = readings.chat_thanks, readings.disagreement
    timed = [m.sent_at for m in messages if m.sent_at is not None]
    seconds = _wall_seconds if wall_clock_exact(timed) else _seconds
    d, td, w = policy.decay, policy.threat_decay, policy.average_weight
    long_wait, holding_s = policy.long_wait_s, policy.holding_followup_s
    apology_window, similarity = policy.apology_window, policy.repeat_similarity
    head = model.turn
    offset, scale, weights, mul = head.offset, head.scale, head.weights, operator.mul
    buyer, agent = Role.BUYER, Role.AGENT
    buyer_text, agent_text, log1p = parse_buyer_text, parse_agent_text, math.log1p
    events: list[TraceEvent] = []
    add = events.append
    logits: list[float] = []
    rows: list[tuple[float, ...]] = []
    row: tuple[float, ...] = ()  # the state after the latest message
    # the state (FEATURES)
    threat = emotion_now = emotion_avg = negativity_now = negativity_avg = 0.0
    negativity_mean = agent_negativity = repetition = impatience_now = gratitude_now = 0.0
    acknowledged_now = question_now = issue_now = correction_now = content_now = 0.0
    open_issue = unanswered_run = length = waiting = agent_impolite = agent_refusal = 0.0
    refused_problem = agent_lapse = deescalation = chat_negativity = 0.0
    negativity_total = negativity_sum = 0.0  # the feature, and the sum it is the log1p of
    chat_thanks = disagreement_mean = 0.0
    n_disagreement = 0  # buyer messages the disagreement head has read
    # the bookkeeping: buyer messages so far and in a row, the open round (its first
    # unanswered buyer message) and when a wait was last charged, an apology owed after a
    # long wait, a pending holding reply, whether the buyer has raised a problem
    buyer_bigrams: list[frozenset[str]] = []
    n_buyer = run = n_sentiment = n_agent = apology_due = 0
    round_open: int | None = None
    round_clock: datetime | None = None
    openers, answer_of = _turn_rounds(messages)  # the rounds, from the one round rule
    apology_from: int | None = None
    holding_at: int | None = None
    problem_raised = False
    # for the open-issue test: buyer messages that accept, that ask again; the last agent reply
    accepted: list[tuple[int, int]] = []  # (buyer message, the latest answer before it)
    asked_again: list[int] = []
    last_reply = -1
    last_answer = -1  # the latest agent reply with content, when it is not a bare holding reply
    since_reply = 0  # buyer_bigrams[since_reply:] are the buyer messages since the last reply
    pending = False  # a buyer message of any sort (order number, card) awaits a reply
    reply_text = ""  # the latest agent reply with content (什么好的 throws it back)
    for i, msg in enumerate(messages):
        repetition *= d  # decay
        waiting *= d
        agent_impolite *= d
        agent_refusal *= td
        refused_problem *= td
        agent_lapse *= d
        deescalation *= d
        open_issue *= d
        threat *= td
        role = msg.role
        if role is buyer:
            bt = buyer_text(msg.text)
            chasing, pending = pending, pending or bool(msg.text.strip())
            if chat_of is not None:  # every buyer message, cards and answers included
                cn = chat_of[i]
                chat_negativity = 0.0 if cn is None else cn
            if thanks_of is not None:  # as chat_negativity: the latest buyer message
                ct = thanks_of[i]
                chat_thanks = 0.0 if ct is None else ct
            if disagreement_of is not None:  # the mean over every buyer message (0: undefined)
                dg = disagreement_of[i]
                n_disagreement += 1
                dg = 0.0 if dg is None else dg
                disagreement_mean += (dg - disagreement_mean) / n_disagreement
            if bt.card:
                pass
            elif bt.info_only:
                # the buyer answers a request (order number, phone, emoticon): what the
                # previous buyer message said is no longer the latest word
                emotion_now = negativity_now = impatience_now = 0.0
                gratitude_now = acknowledged_now = question_now = 0.0
                issue_now = correction_now = content_now = 0.0
            elif bt.content or bt.cues:
                first = n_buyer == 0
                n_buyer += 1
                length = log1p(n_buyer)
                run += 1
                unanswered_run = float(min(4, run - 1))
                if unanswered_run >= 2:
                    rule = f"{run} buyer messages without a reply"
                    add(TraceEvent("unanswered_run", i, (_whole(msg, i, "unanswered_run", rule),)))
                threats, emotion = bt.threat, bt.emotion
                if threats or emotion or bt.issues:
                    problem_raised = True
                if threats:
                    threat = max(threat, *(c.strength for c in threats))
                    human = bt.human
                    if len(human) < len(threats):
                        told = tuple(c for c in threats if c not in human)
                        # material: an explicit threat or complaint (a bare 差评, 1, is minor)
                        strong = max(c.strength for c in told) >= 2.0
                        add(TraceEvent("threat", i, _cue_evidence(told, i, "threat"), strong))
                    if human:
                        asks = bt.human_request
                        ev_human = _cue_evidence(asks or human, i, "human_request")
                        add(TraceEvent("human_request", i, ev_human, bool(asks)))
                emotion_now = bt.emotion_strength
                echo = echo_challenge(msg.text, reply_text) if reply_text and not chasing else ()
                if echo:  # 什么好的 after 好的哦: the reply did not help (weighed as emotion)
                    emotion = (*emotion, *echo)
                    emotion_now = min(3.0, emotion_now + 1.0)
                    add(TraceEvent("unresolved", i, _cue_evidence(echo, i, "unresolved")))
                emotion_avg = emotion_now if first else (1 - w) * emotion_avg + w * emotion_now
                if emotion:
                    felt, urging = bt.felt, bt.urging
                    if felt:
                        ev_emotion = _cue_evidence(felt, i, "negative_emotion")
                        add(TraceEvent("negative_emotion", i, ev_emotion, not bt.bare_okay))
                    if bt.unsolved:
                        ev_unsolved = _cue_evidence(bt.unsolved, i, "unresolved")
                        add(TraceEvent("unresolved", i, ev_unsolved))
                    if urging and not first:  # waiting and chasing: impatience, weighed as emotion
                        ev_urging = _cue_evidence(urging, i, "impatience")
                        add(TraceEvent("impatience", i, ev_urging, via="negative_emotion"))
                if pos_of is not None and bt.content:
                    pos = pos_of[i]
                    neg = 0.0 if pos is None else 0.5 - float(pos)
                    negativity_now = neg
                    negativity_avg = neg if first else (1 - w) * negativity_avg + w * neg
                    n_sentiment += 1
                    negativity_mean += (neg - negativity_mean) / n_sentiment
                    if neg > 0.0:  # accumulated dissatisfaction: negative lines only, no decay
                        negativity_sum += neg
                        negativity_total = log1p(negativity_sum)
                    if pos is not None and negativity_avg > 0.25:
                        ev = _whole(msg, i, "negative_sentiment", "sentiment", round(neg, 3))
                        add(TraceEvent("negative_sentiment", i, (ev,)))
                repeat, nudges = bt.repeat, bt.nudges
                count = bt.repeat_count
                evidence = list(_cue_evidence(repeat, i, "repetition")) if repeat else []
                grams = bt.grams
                unanswered_again = False
                if (
                    len(grams) >= 3
                    and buyer_bigrams  # repeats_earlier of no earlier message is False
                    and repeats_earlier(grams, buyer_bigrams[-10:], similarity)
                ):
                    count += 1.0
                    evidence.append(_whole(msg, i, "repetition", "repeated_question"))
                    # material when it repeats a message no agent has replied to yet
                    # and asks, raises or states something (not a pasted order line)
                    unanswered_again = bool(
                        bt.questions or bt.issues or bt.statement
                    ) and repeats_earlier(grams, buyer_bigrams[since_reply:], similarity)
                if nudges and not first:
                    count += 0.5
                    evidence.extend(_cue_evidence(nudges, i, "repetition"))
                if count:
                    repetition += count
                    # material: 我说过了, or the same message again before any reply; a
                    # nudge alone is impatience, a question asked again after a reply is minor
                    said_again = bool(repeat) or unanswered_again
                    add(TraceEvent("repetition", i, tuple(evidence), said_again))
                    if said_again:
                        asked_again.append(i)
                buyer_bigrams.append(grams)
                impatience_now = bt.nudge_strength if not first else 0.0
                if impatience_now:
                    # material: a nudge (在吗, 人呢), or a bare ? / 。。。 after the buyer's own
                    # unanswered message (an order number too); a ?? right after an agent
                    # reply is minor (puzzled)
                    chased = chasing or any(c.kind == "nudge" for c in nudges)
                    chase = tuple(c for c in nudges if c.kind != "exasperation")
                    if chase:
                        add(
                            TraceEvent(
                                "impatience", i, _cue_evidence(chase, i, "impatience"), chased
                            )
                        )
                    if len(chase) < len(nudges):  # 。。。 in words: exasperation (无语)
                        sighs = tuple(c for c in nudges if c.kind == "exasperation")
                        ev_sigh = _cue_evidence(sighs, i, "negative_emotion")
                        add(TraceEvent("negative_emotion", i, ev_sigh, via="impatience"))
                grat = bt.gratitude
                gratitude_now = bt.gratitude_strength
                if grat and not emotion and not threats:
                    add(TraceEvent("gratitude", i, _cue_evidence(grat, i, "gratitude")))
                elif grat:
                    gratitude_now = 0.0
                acknowledged_now = 1.0 if bt.ack else 0.0
                questions, issues = bt.questions, bt.issues
                question_now = 1.0 if questions else 0.0
                issue_now = min(2.0, float(len(issues)))
                correction_now = bt.correction_strength
                if bt.corrections:
                    ev_corr = _cue_evidence(bt.corrections, i, "correction")
                    add(TraceEvent("correction", i, ev_corr, correction_now >= 2.0))
                if bt.accepts:
                    accepted.append((i, last_answer))
                closing = gratitude_now or acknowledged_now
                content_now = 0.0 if closing else bt.log_length
                if gratitude_now:
                    open_issue = 0.0
                elif acknowledged_now:
                    open_issue *= 0.5
                elif questions or issues or emotion or threats:
                    open_issue += 1.0
                    ev_open = _cue_evidence([*questions, *issues], i, "open_issue") or (
                        _whole(msg, i, "open_issue", "problem raised"),
                    )
                    add(TraceEvent("open_issue", i, ev_open, unanswered_again or bool(repeat)))
                if i in openers:
                    round_open = i
                    round_clock = msg.sent_at
                elif round_open is not None:  # inside the open round: a wait while chasing
                    waited = seconds(msg.sent_at, round_clock)
                    if waited is not None and waited >= long_wait:
                        n = min(3.0, waited // long_wait)
                        waiting += n
                        round_clock = msg.sent_at
                        opened = messages[round_open]
                        since = int(seconds(msg.sent_at, opened.sent_at) or waited)
                        rule = f"waited {since} s without a reply"
                        add(TraceEvent("waiting", i, (_whole(msg, i, "waiting", rule, n),)))
                # a buyer chasing while a holding reply is pending: it was not followed up
                if holding_at is not None and (nudges or repeat):
                    agent_lapse += 1.0
                    rule = "buyer chased after a holding reply"
                    ev = _whole(messages[holding_at], holding_at, "holding_unfollowed", rule)
                    add(TraceEvent("holding_unfollowed", i, (ev,)))
                    holding_at = None
        elif role is agent:
            at = agent_text(msg.text)
            if at.content:
                pending = False
                reply_text = msg.text
                last_reply = i
                since_reply = len(buyer_bigrams)
                last_answer = -1 if at.holding else i
                if pos_of is not None:
                    pos = pos_of[i]
                    if pos is not None:
                        n_agent += 1
                        neg = 0.5 - float(pos)
                        agent_negativity = (
                            neg if n_agent == 1 else (1 - w) * agent_negativity + w * neg
                        )
                run = 0
                unanswered_run = 0.0
                opener = answer_of.get(i)
                if opener is not None:  # this reply answers the round *opener* opened
                    waited = seconds(msg.sent_at, messages[opener].sent_at)
                    if waited is not None and waited >= long_wait:
                        waiting += 1.0
                        ev = _whole(msg, i, "waiting", f"reply after {int(waited)} s", 1.0)
                        add(TraceEvent("waiting", i, (ev,)))
                        apology_due = apology_window
                        apology_from = opener
                    round_open = None
                    round_clock = None
                if apology_due:
                    if at.apology:
                        apology_due = 0
                    else:
                        apology_due -= 1
                        if apology_due == 0:
                            agent_lapse += 1.0
                            start = apology_from if apology_from is not None else i
                            rule = (
                                f"no apology within {apology_window} agent messages "
                                "after a long wait"
                            )
                            ev = _whole(messages[start], start, "no_apology", rule)
                            add(TraceEvent("no_apology", i, (ev,)))
                if holding_at is not None:
                    gap = seconds(msg.sent_at, messages[holding_at].sent_at)
                    if gap is not None and gap > holding_s:
                        agent_lapse += 1.0
                        rule = f"next reply {int(gap)} s after the holding reply"
                        ev = _whole(messages[holding_at], holding_at, "holding_unfollowed", rule)
                        add(TraceEvent("holding_unfollowed", i, (ev,)))
                    holding_at = None
                if at.holding:
                    holding_at = i
                polite = None if polite_of is None else polite_of[i]
                if polite is not None:
                    impolite, bad, material = impolite_verdict(polite)
                    if impolite:
                        agent_impolite += 1.0
                        spans = tuple(e.at(i) for e in bad) or (
                            _whole(msg, i, "agent_impolite", "impolite"),
                        )
                        add(TraceEvent("agent_impolite", i, spans, material))
                if at.refusal:
                    agent_refusal += 1.0
                    declined = at.refusal_material
                    refusal = declined or at.refusal
                    ev_refusal = _cue_evidence(refusal, i, "agent_refusal")
                    add(TraceEvent("agent_refusal", i, ev_refusal, bool(declined)))
                    if problem_raised:
                        refused_problem += 1.0
                        ev_refused = _cue_evidence(refusal, i, "refused_problem")
                        add(TraceEvent("refused_problem", i, ev_refused, bool(declined)))
                if at.credit:
                    deescalation += at.credit
                    add(TraceEvent("deescalation", i, _cue_evidence(at.used, i, "deescalation")))
        row = (
            threat, emotion_now, emotion_avg, negativity_now, negativity_avg, negativity_mean,
            agent_negativity, repetition, impatience_now, gratitude_now, acknowledged_now,
            question_now, issue_now, correction_now, content_now, open_issue, unanswered_run,
            length, waiting, agent_impolite, agent_refusal, refused_problem, agent_lapse,
            deescalation, chat_negativity, negativity_total, chat_thanks, disagreement_mean,
        )  # fmt: skip
        rows.append(row)
        logits.append(offset + scale * sum(map(mul, weights, row)))
    if messages and holding_at is not None:  # a holding reply never followed up
        # one more step after the last message: its decay, then the lapse
        row = tuple(map(mul, row, _decay_factors(policy)))
        row = (*row[:_LAPSE], row[_LAPSE] + 1.0, *row[_LAPSE + 1 :])
        ev = _whole(messages[holding_at], holding_at, "holding_unfollowed", "never followed up")
        add(TraceEvent("holding_unfollowed", len(messages) - 1, (ev,)))
        rows[-1] = row
        logits[-1] = offset + scale * sum(map(mul, weights, row))
    return logits, rows, _settle_open_issues(events, accepted, asked_again, last_reply)


def _settle_open_issues(
    events: list[TraceEvent],
    accepted: list[tuple[int, int]],
    asked_again: list[int],
    last_reply: int,
) -> list[TraceEvent]:
    """Mark each open-issue event material or not, now that the whole chat is known.

    Material: no agent replied after it, the message itself asks again, or the
    buyer asked again after it (a material repetition event); never when the buyer
    accepted in it, or accepted an answer given after it (谢谢, 好的, 好吧, 那我拍了
    right after a reply that is not a bare holding reply: 好 to 请稍等 accepts
    nothing).  An unanswered run is material only when no agent replied after it (a
    buyer who writes in several lines and gets an answer was not ignored; a slow
    answer is the waiting reason).
    """
    out = []
    for e in events:
        if e.kind == "open_issue":
            i = e.index
            # the buyer accepts in the message itself (好吧, 明白了), or later an answer given
            # after it (not a bare holding reply: 好 to 请稍等 accepts nothing)
            later_accept = any(a == i or (a > i and answer > i) for a, answer in accepted)
            unanswered = last_reply < i
            again = any(r > i for r in asked_again)
            reasked = e.material  # set by the walk when the message itself asks again
            still_open = (unanswered or again or reasked) and not later_accept
            out.append(attrs.evolve(e, material=still_open))
        elif e.kind == "unanswered_run":
            # being ignored, not typing in several lines: no agent reply came afterwards
            out.append(attrs.evolve(e, material=last_reply < e.index))
        else:
            out.append(e)
    return out


def _trace(
    conversation: Conversation,
    *,
    policy: EscalationPolicy,
    sentiment: SentimentFn | None,
    politeness: PolitenessFn | None,
) -> _Trace:
    """Return the state after each message and the events (for the benchmark and tests)."""
    _logits, rows, events = walk_messages(
        conversation.messages,
        policy=policy,
        sentiment=sentiment,
        politeness=politeness,
        model=_default_model(),
    )
    return _Trace(tuple(rows), tuple(events))
