"""Escalation risk of a conversation: will the buyer end dissatisfied, complain or dispute.

:func:`escalation` reads a conversation message by message and keeps a small,
interpretable *state* (see :data:`FEATURES`):

- **buyer language** — threats (12315, 工商局, 律师, 平台介入, 给差评, 找你们主管),
  negative emotion cues, and the sentiment trajectory (sustained negativity, not
  one word);
- **repetition** — the buyer says they are repeating themselves (我说过了), asks
  the same question again, or nudges (在吗, 人呢, ``??``) after the first message;
- **waiting** — long waits and still-unanswered rounds (needs timestamps);
- **agent behaviour** — impolite replies and banned phrases, no apology after a
  long wait, holding replies (稍等) never followed up;
- **de-escalation** — an apology with a concrete remedy (退款/补发/换货/跟进),
  better still with a deadline, lowers the risk afterwards.

After every message the state is mapped to a risk by a small logistic head
(``per_message``: is the buyer dissatisfied now?); ``score`` is a second head on
the final state (does the conversation end dissatisfied?).  The weights of both
heads are hand-set by the developers from domain reasoning (QC rule points, cue
strengths), one justification per line in ``data/escalation/model.tsv``; only a
monotone Platt calibration (``scale``, ``offset`` per head) is fitted on the
JDDC satisfaction dev set, so that data set never decides the ranking.

Signals that need other analysers are injectable: pass ``sentiment=`` (any
``text -> P(positive) | None``) and ``politeness=`` (any ``text -> object with
label and evidence``).  By default the library's own
:func:`kefu_standards._sentiment.sentiment` and
:func:`kefu_standards._politeness.politeness` are used when they are available;
without them those two signals are off (documented fallback).

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import importlib
import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

import attrs

from ._cues import (
    Cue,
    agent_cues,
    bigram_set,
    buyer_cues,
    content_length,
    is_acknowledgement,
    is_card,
    is_repeat_of,
)
from .evidence import Evidence
from .exceptions import ConfigError, ModelFileError
from .model import Conversation, Message, Role
from .resources import lazy, load_tsv
from .text import has_content

__all__ = [
    "FEATURES",
    "LEVELS",
    "REASON_KINDS",
    "Escalation",
    "EscalationPolicy",
    "EscalationScorer",
    "PolitenessFn",
    "PolitenessLike",
    "Reason",
    "SentimentFn",
    "escalation",
]

Level = Literal["low", "medium", "high"]
LEVELS: tuple[Level, ...] = ("low", "medium", "high")

#: The state kept after each message, in model order.
FEATURES: tuple[str, ...] = (
    "threat",  # decayed max strength of threats/complaints seen (0-3)
    "emotion_now",  # negative-emotion cue strength of the latest buyer message (0-3)
    "emotion_avg",  # moving average of buyer negative-emotion strength
    "negativity_now",  # 0.5 - P(positive) of the latest buyer message (sentiment), 0 if undefined
    "negativity_avg",  # moving average of that (sustained negativity)
    "negativity_mean",  # mean of that over all buyer messages so far (the mood of the chat)
    "agent_negativity",  # moving average of 0.5 - P(positive) of agent replies
    "repetition",  # decayed count of repetition events
    "impatience_now",  # nudge / ?? strength of the latest buyer message (0-2)
    "gratitude_now",  # gratitude / resolved strength of the latest buyer message (0-2)
    "acknowledged_now",  # 1 if the latest buyer message only acknowledges (好的, 嗯嗯, 是的)
    "question_now",  # 1 if the latest buyer message asks a question
    "issue_now",  # after-sales problem words in the latest buyer message (0-2)
    "correction_now",  # the latest buyer message corrects the agent (不是 / 不对 / 我的意思是)
    "content_now",  # log(1 + characters) of the latest buyer message; 0 for thanks / ok
    "open_issue",  # decayed count of buyer needs not yet closed by thanks or acknowledgement
    "unanswered_run",  # buyer messages in a row since the last agent reply, minus one (0-4)
    "length",  # log(1 + buyer messages so far): long conversations are unresolved ones
    "waiting",  # decayed count of long waits and unanswered rounds
    "agent_impolite",  # decayed count of impolite agent replies
    "agent_refusal",  # decayed count of agent replies that cannot help or send the buyer elsewhere
    "agent_lapse",  # decayed count of lapses: no apology after a long wait, holding not followed up
    "deescalation",  # decayed credit of apology + concrete remedy (+ deadline)
)

#: Reason kinds, each tied to one feature.
REASON_KINDS: dict[str, str] = {
    "threat": "threat",
    "negative_emotion": "emotion_now",
    "negative_sentiment": "negativity_avg",
    "repetition": "repetition",
    "impatience": "impatience_now",
    "correction": "correction_now",
    "gratitude": "gratitude_now",
    "open_issue": "open_issue",
    "unanswered_run": "unanswered_run",
    "waiting": "waiting",
    "agent_impolite": "agent_impolite",
    "agent_refusal": "agent_refusal",
    "no_apology": "agent_lapse",
    "holding_unfollowed": "agent_lapse",
    "deescalation": "deescalation",
}

_EXPLAIN: dict[str, tuple[str, str]] = {
    "threat": (
        "买家提出投诉、维权或差评威胁",
        "the buyer threatens a complaint, dispute or bad review",
    ),
    "negative_emotion": (
        "买家表达不满或焦急情绪",
        "the buyer expresses anger, disappointment or urgency",
    ),
    "negative_sentiment": ("买家情绪持续负面", "the buyer's messages stay negative"),
    "repetition": ("买家重复提问或催促", "the buyer repeats a question or chases a reply"),
    "correction": ("买家纠正客服的理解", "the buyer corrects a misunderstanding"),
    "impatience": ("买家连续追问（在吗/人呢/??）", "the buyer is impatient (在吗 / 人呢 / ??)"),
    "gratitude": ("买家表示感谢或问题已解决", "the buyer thanks the agent or says it is resolved"),
    "waiting": ("买家长时间等待或未获回复", "the buyer waited long or got no reply"),
    "open_issue": ("买家的问题尚未解决", "the buyer's question or problem is still open"),
    "unanswered_run": (
        "买家连续发送多条消息未获回复",
        "several buyer messages in a row got no reply",
    ),
    "agent_impolite": (
        "客服回复不礼貌或使用服务禁语",
        "an agent reply is impolite or uses a banned phrase",
    ),
    "agent_refusal": (
        "客服表示无法处理或让买家另找他人",
        "the agent cannot help or sends the buyer elsewhere",
    ),
    "no_apology": ("长时间等待后客服未致歉", "no apology after a long wait"),
    "holding_unfollowed": (
        "客服让买家稍等后未及时跟进",
        "a holding reply (稍等) was not followed up",
    ),
    "deescalation": (
        "客服致歉并给出具体解决方案",
        "the agent apologised and offered a concrete remedy",
    ),
}

_THREAT_KINDS = frozenset({"threat", "complaint", "human"})
_EMOTION_KINDS = frozenset({"anger", "disappointment", "urgency"})
_GRATITUDE_KINDS = frozenset({"gratitude", "resolved"})
_IMPOLITE_KINDS = frozenset({"banned_phrase", "harsh_tone", "offensive"})


# ---------------------------------------------------------------- injectable signals


@runtime_checkable
class SentimentFn(Protocol):
    """Anything that maps a text to P(positive) in [0, 1], or ``None`` when undefined."""

    def __call__(self, text: str, /) -> float | None:
        """Return P(positive) of *text* or ``None``."""
        ...  # pragma: no cover


@runtime_checkable
class PolitenessLike(Protocol):
    """The parts of a politeness result escalation reads (``label`` and ``evidence``)."""

    @property
    def label(self) -> str | None:
        """``"impolite"``, ``"neutral"``, ``"polite"`` or ``None``."""
        ...  # pragma: no cover

    @property
    def evidence(self) -> tuple[Evidence, ...]:
        """Hits with kinds such as ``banned_phrase``, ``harsh_tone``, ``offensive``."""
        ...  # pragma: no cover


@runtime_checkable
class PolitenessFn(Protocol):
    """Anything that maps an agent reply to a :class:`PolitenessLike` result."""

    def __call__(self, text: str, /) -> PolitenessLike:
        """Return the politeness of *text*."""
        ...  # pragma: no cover


# ---------------------------------------------------------------- policy and results


def _in_unit(_inst: object, attr: attrs.Attribute[float], value: float) -> None:
    if not 0.0 < value <= 1.0:
        msg = f"EscalationPolicy.{attr.name} must be in (0, 1], got {value!r}"
        raise ConfigError(msg)


def _positive(_inst: object, attr: attrs.Attribute[Any], value: float) -> None:
    if not value > 0:
        msg = f"EscalationPolicy.{attr.name} must be > 0, got {value!r}"
        raise ConfigError(msg)


def _check_thresholds(inst: EscalationPolicy, _attr: object, _value: object) -> None:
    if not 0.0 < inst.medium_from < inst.high_from < 1.0:
        msg = (
            "EscalationPolicy thresholds must satisfy 0 < medium_from < high_from < 1, "
            f"got medium_from={inst.medium_from!r}, high_from={inst.high_from!r}"
        )
        raise ConfigError(msg)


@attrs.frozen(slots=True)
class EscalationPolicy:
    """Thresholds and time rules of :func:`escalation` (validated when built).

    Parameters
    ----------
    medium_from, high_from:
        ``level`` is ``low`` below ``medium_from``, ``high`` from ``high_from``.
    long_wait_s:
        A wait this long is a *long wait* (default 180 s, Taobao's 3-minute rule).
    holding_followup_s:
        A holding reply (稍等) must be followed up within this time (default
        900 s, the 15 minutes of common QC rules).
    apology_window:
        After a long wait, an apology must come within this many agent messages.
    decay:
        Per-message decay of the counted events (repetition, waiting, agent lapses,
        de-escalation credit).
    threat_decay:
        Per-message decay of the threat level (threats are remembered longer).
    average_weight:
        Weight of the newest buyer message in the moving averages.
    repeat_similarity:
        Character-bigram Jaccard from which a buyer message repeats an earlier one.

    """

    medium_from: float = attrs.field(default=0.15, converter=float, validator=_check_thresholds)
    high_from: float = attrs.field(default=0.4, converter=float, validator=_check_thresholds)
    long_wait_s: float = attrs.field(default=180.0, converter=float, validator=_positive)
    holding_followup_s: float = attrs.field(default=900.0, converter=float, validator=_positive)
    apology_window: int = attrs.field(default=3, converter=int, validator=_positive)
    decay: float = attrs.field(default=0.85, converter=float, validator=_in_unit)
    threat_decay: float = attrs.field(default=0.97, converter=float, validator=_in_unit)
    average_weight: float = attrs.field(default=0.4, converter=float, validator=_in_unit)
    repeat_similarity: float = attrs.field(default=0.6, converter=float, validator=_in_unit)

    def level(self, score: float) -> Level:
        """Return the level of a risk *score*."""
        if score >= self.high_from:
            return "high"
        if score >= self.medium_from:
            return "medium"
        return "low"


@attrs.frozen(slots=True)
class Reason:
    """Why the risk is what it is.

    ``kind`` is one of :data:`REASON_KINDS`; ``zh`` and ``en`` explain it;
    ``evidence`` holds the spans (with ``message_index`` set) and
    ``message_indexes`` the messages involved; ``weight`` is the reason's
    contribution to the final log-odds of risk (negative = lowers the risk).
    """

    kind: str
    zh: str
    en: str
    evidence: tuple[Evidence, ...]
    message_indexes: tuple[int, ...]
    weight: float


@attrs.frozen(slots=True)
class Escalation:
    """Escalation risk of one conversation.

    ``score`` in [0, 1] is the calibrated risk that the buyer ends dissatisfied
    (complains, disputes, leaves a bad review); ``level`` is ``low``,
    ``medium`` or ``high`` (:class:`EscalationPolicy` thresholds); ``reasons``
    explain it, strongest first; ``per_message`` is the risk after each
    message (same length as the conversation), for live alerts.  An empty
    conversation has ``score`` and ``level`` ``None``.
    """

    score: float | None
    level: Level | None
    reasons: tuple[Reason, ...]
    per_message: tuple[float, ...]

    def reason(self, kind: str) -> Reason | None:
        """Return the reason of *kind*, or ``None`` if that signal did not fire."""
        return next((r for r in self.reasons if r.kind == kind), None)


# ---------------------------------------------------------------- coefficients


@attrs.frozen(slots=True)
class _Head:
    """One logistic head: hand-set weights, then a monotone Platt calibration.

    ``risk = sigmoid(offset + scale * sum(weight * feature))``; the weights are
    hand-set (they alone rank), ``scale`` (> 0) and ``offset`` are calibrated.
    """

    weights: tuple[float, ...]
    scale: float
    offset: float

    def raw(self, row: Sequence[float]) -> float:
        """Hand-set log-odds of one state (before calibration)."""
        return sum(w * f for w, f in zip(self.weights, row, strict=False))

    def logit(self, row: Sequence[float]) -> float:
        """Calibrated log-odds of one state."""
        return self.offset + self.scale * self.raw(row)


@attrs.frozen(slots=True)
class _Model:
    """Two heads over the same state: the risk now, and the risk at the end."""

    turn: _Head  # is the buyer dissatisfied right now? (per_message)
    outcome: _Head  # does the conversation end dissatisfied? (score)


_HEADS = ("turn", "outcome")
_CALIBRATION = ("scale", "offset")


def _model_from_table(values: dict[str, float], source: str) -> _Model:
    names = [f"{h}.{f}" for h in _HEADS for f in (*_CALIBRATION, *FEATURES)]
    missing = [n for n in names if n not in values]
    if missing:
        msg = f"{source}: missing coefficients {missing}"
        raise ModelFileError(msg)
    unknown = sorted(set(values) - set(names))
    if unknown:
        msg = f"{source}: unknown coefficients {unknown}; valid names are <head>.<feature>"
        raise ModelFileError(msg)
    heads = []
    for h in _HEADS:
        scale = values[f"{h}.scale"]
        if not scale > 0:
            msg = f"{source}: {h}.scale must be > 0 (calibration must keep the order), got {scale}"
            raise ModelFileError(msg)
        weights = tuple(values[f"{h}.{f}"] for f in FEATURES)
        heads.append(_Head(weights, scale, values[f"{h}.offset"]))
    return _Model(heads[0], heads[1])


@lazy
def _default_model() -> _Model:
    name = "escalation/model.tsv"
    values: dict[str, float] = {}
    for e in load_tsv(name):
        try:
            values[e.phrase] = float(e.fields[0])
        except (IndexError, ValueError):
            msg = f"kefu_standards/data/{name}, line {e.line}: expected name<TAB>number"
            raise ModelFileError(msg) from None
    return _model_from_table(values, f"kefu_standards/data/{name}")


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


# ---------------------------------------------------------------- default signals


def _default_sentiment() -> SentimentFn | None:
    try:  # import_module: the package attribute may be the function, not the module
        module = importlib.import_module(f"{__package__}.sentiment")
    except ImportError:  # the sentiment module is optional at this stage
        return None
    fn = getattr(module, "sentiment", None)
    if fn is None:
        return None
    cached = _cached_sentiment(fn)
    try:
        cached("好的")
    except Exception:
        return None
    return cached


def _cached_sentiment(fn: Callable[[str], Any]) -> SentimentFn:
    cache: dict[str, float | None] = {}

    def score(text: str) -> float | None:
        hit = cache.get(text, cache)
        if hit is not cache:
            return hit  # type: ignore[return-value]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = fn(text)
        out = getattr(value, "score", value)
        result = None if out is None else float(out)
        if len(cache) < 100_000:
            cache[text] = result
        return result

    return score


def _default_politeness() -> PolitenessFn | None:
    try:
        module = importlib.import_module(f"{__package__}.politeness")
    except ImportError:
        return None
    fn = getattr(module, "politeness", None)
    if fn is None:
        return None

    def score(text: str) -> PolitenessLike:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result: PolitenessLike = fn(text)
        return result

    try:
        score("您好")
    except Exception:
        return None
    return score


@lazy
def _defaults() -> tuple[SentimentFn | None, PolitenessFn | None]:
    return _default_sentiment(), _default_politeness()


# ---------------------------------------------------------------- the trace


@attrs.frozen(slots=True)
class _Event:
    kind: str  # a REASON_KINDS key
    index: int
    evidence: tuple[Evidence, ...]


@attrs.define(slots=True)
class _State:
    threat: float = 0.0
    emotion_now: float = 0.0
    emotion_avg: float = 0.0
    negativity_now: float = 0.0
    negativity_avg: float = 0.0
    negativity_mean: float = 0.0
    agent_negativity: float = 0.0
    repetition: float = 0.0
    impatience_now: float = 0.0
    gratitude_now: float = 0.0
    acknowledged_now: float = 0.0
    question_now: float = 0.0
    issue_now: float = 0.0
    correction_now: float = 0.0
    content_now: float = 0.0
    open_issue: float = 0.0
    unanswered_run: float = 0.0
    length: float = 0.0
    waiting: float = 0.0
    agent_impolite: float = 0.0
    agent_refusal: float = 0.0
    agent_lapse: float = 0.0
    deescalation: float = 0.0

    def vector(self) -> tuple[float, ...]:
        return tuple(float(getattr(self, f)) for f in FEATURES)


@attrs.frozen(slots=True)
class _Trace:
    features: tuple[tuple[float, ...], ...]
    events: tuple[_Event, ...]


def _cue_evidence(cues: Iterable[Cue], index: int, kind: str) -> tuple[Evidence, ...]:
    return tuple(
        Evidence(c.start, c.end, c.phrase, kind, c.strength, f"escalation/{c.kind}", index)
        for c in cues
    )


def _whole(message: Message, index: int, kind: str, rule: str, weight: float = 1.0) -> Evidence:
    text = message.text
    lead = len(text) - len(text.lstrip())
    tail = max(lead, len(text.rstrip()))
    return Evidence(lead, tail, text[lead:tail], kind, weight, rule, index)


def _seconds(later: datetime | None, earlier: datetime | None) -> float | None:
    if later is None or earlier is None:
        return None
    return (later - earlier).total_seconds()


@attrs.define(slots=True)
class _Tracker:
    """Mutable bookkeeping while walking one conversation (never escapes :func:`_trace`)."""

    policy: EscalationPolicy
    state: _State = attrs.Factory(_State)
    events: list[_Event] = attrs.Factory(list)
    buyer_bigrams: list[frozenset[str]] = attrs.Factory(list)
    n_buyer: int = 0
    run: int = 0  # buyer messages since the last agent reply
    n_sentiment: int = 0
    n_agent: int = 0
    round_open: int | None = None  # index of the first unanswered buyer message
    round_clock: datetime | None = None  # when the last waiting event was charged
    apology_due: int = 0  # agent messages left to apologise in after a long wait
    apology_from: int | None = None
    holding_at: int | None = None

    def decay(self) -> None:
        s, p = self.state, self.policy
        s.repetition *= p.decay
        s.waiting *= p.decay
        s.agent_impolite *= p.decay
        s.agent_refusal *= p.threat_decay
        s.agent_lapse *= p.decay
        s.deescalation *= p.decay
        s.open_issue *= p.decay
        s.threat *= p.threat_decay

    def add(self, kind: str, index: int, evidence: tuple[Evidence, ...]) -> None:
        self.events.append(_Event(kind, index, evidence))


def _average(old: float, new: float, weight: float, first: bool) -> float:
    return new if first else (1 - weight) * old + weight * new


def _buyer_step(
    t: _Tracker, i: int, msg: Message, sentiment: SentimentFn | None, messages: Sequence[Message]
) -> None:
    s, p = t.state, t.policy
    if is_card(msg.text):
        return
    cues = buyer_cues(msg.text)
    content = has_content(msg.text)
    first = t.n_buyer == 0
    if not content and not cues:
        return
    t.n_buyer += 1
    s.length = math.log1p(t.n_buyer)
    t.run += 1
    s.unanswered_run = float(min(4, t.run - 1))
    if s.unanswered_run >= 2:
        t.add(
            "unanswered_run",
            i,
            (_whole(msg, i, "unanswered_run", f"{t.run} buyer messages without a reply"),),
        )

    threat = [c for c in cues if c.kind in _THREAT_KINDS]
    if threat:
        s.threat = max(s.threat, *(c.strength for c in threat))
        t.add("threat", i, _cue_evidence(threat, i, "threat"))

    emotion = [c for c in cues if c.kind in _EMOTION_KINDS]
    s.emotion_now = min(3.0, sum(c.strength for c in emotion))
    s.emotion_avg = _average(s.emotion_avg, s.emotion_now, p.average_weight, first)
    if emotion:
        t.add("negative_emotion", i, _cue_evidence(emotion, i, "negative_emotion"))

    if sentiment is not None and content:
        pos = sentiment(msg.text)
        neg = 0.0 if pos is None else 0.5 - float(pos)
        s.negativity_now = neg
        s.negativity_avg = _average(s.negativity_avg, neg, p.average_weight, first)
        t.n_sentiment += 1
        s.negativity_mean += (neg - s.negativity_mean) / t.n_sentiment
        if pos is not None and s.negativity_avg > 0.25:
            ev = _whole(msg, i, "negative_sentiment", "sentiment", round(neg, 3))
            t.add("negative_sentiment", i, (ev,))

    # repetition: says so, asks the same again, or nudges after the first message
    repeat = [c for c in cues if c.kind == "repeat"]
    nudges = [c for c in cues if c.kind in {"nudge", "impatience"}]
    count = sum(c.strength for c in repeat) / 2.0
    evidence = list(_cue_evidence(repeat, i, "repetition"))
    grams = bigram_set(msg.text)
    if any(
        is_repeat_of(grams, g, threshold=p.repeat_similarity, min_bigrams=3)
        for g in t.buyer_bigrams[-10:]
    ):
        count += 1.0
        evidence.append(_whole(msg, i, "repetition", "repeated_question"))
    if nudges and not first:
        count += 0.5
        evidence.extend(_cue_evidence(nudges, i, "repetition"))
    if count:
        s.repetition += count
        t.add("repetition", i, tuple(evidence))
    t.buyer_bigrams.append(grams)

    s.impatience_now = min(2.0, sum(c.strength for c in nudges)) if not first else 0.0
    if s.impatience_now:
        t.add("impatience", i, _cue_evidence(nudges, i, "impatience"))

    grat = [c for c in cues if c.kind in _GRATITUDE_KINDS]
    s.gratitude_now = min(2.0, max((c.strength for c in grat), default=0.0))
    if grat and not emotion and not threat:
        t.add("gratitude", i, _cue_evidence(grat, i, "gratitude"))
    elif grat:
        s.gratitude_now = 0.0
    s.acknowledged_now = 1.0 if is_acknowledgement(msg.text) else 0.0
    questions = [c for c in cues if c.kind == "question"]
    issues = [c for c in cues if c.kind == "issue"]
    s.question_now = 1.0 if questions else 0.0
    s.issue_now = min(2.0, float(len(issues)))
    corrections = [c for c in cues if c.kind == "correction"]
    s.correction_now = min(2.0, max((c.strength for c in corrections), default=0.0))
    if corrections:
        t.add("correction", i, _cue_evidence(corrections, i, "correction"))
    closing = s.gratitude_now or s.acknowledged_now
    s.content_now = 0.0 if closing else math.log1p(content_length(msg.text))
    if s.gratitude_now:
        s.open_issue = 0.0
    elif s.acknowledged_now:
        s.open_issue *= 0.5
    elif questions or issues or emotion or threat:
        s.open_issue += 1.0
        t.add("open_issue", i, _cue_evidence([*questions, *issues], i, "open_issue"))

    # waiting (timestamps only): a round opens at the first unanswered buyer message
    if t.round_open is None:
        t.round_open = i
        t.round_clock = msg.sent_at
    else:
        waited = _seconds(msg.sent_at, t.round_clock)
        if waited is not None and waited >= p.long_wait_s:
            n = min(3.0, waited // p.long_wait_s)
            s.waiting += n
            t.round_clock = msg.sent_at
            opened = messages[t.round_open]
            rule = (
                f"waited {int(_seconds(msg.sent_at, opened.sent_at) or waited)} s without a reply"
            )
            t.add("waiting", i, (_whole(msg, i, "waiting", rule, n),))

    # a buyer nudging while a holding reply is pending: the holding was not followed up
    if t.holding_at is not None and (nudges or repeat):
        _holding_lapse(t, i, messages, "buyer chased after a holding reply")


def _holding_lapse(t: _Tracker, i: int, messages: Sequence[Message], rule: str) -> None:
    h = t.holding_at
    if h is None:
        return
    t.state.agent_lapse += 1.0
    t.add("holding_unfollowed", i, (_whole(messages[h], h, "holding_unfollowed", rule),))
    t.holding_at = None


def _agent_step(
    t: _Tracker,
    i: int,
    msg: Message,
    messages: Sequence[Message],
    *,
    politeness: PolitenessFn | None,
    sentiment: SentimentFn | None,
) -> None:
    s, p = t.state, t.policy
    if not has_content(msg.text):
        return
    if sentiment is not None:
        pos = sentiment(msg.text)
        if pos is not None:
            t.n_agent += 1
            neg = 0.5 - float(pos)
            s.agent_negativity = _average(s.agent_negativity, neg, p.average_weight, t.n_agent == 1)
    cues = agent_cues(msg.text)
    kinds = {c.kind for c in cues}
    t.run = 0
    s.unanswered_run = 0.0

    # waiting: this reply closes the open round
    if t.round_open is not None:
        waited = _seconds(msg.sent_at, messages[t.round_open].sent_at)
        if waited is not None and waited >= p.long_wait_s:
            s.waiting += 1.0
            ev = _whole(msg, i, "waiting", f"reply after {int(waited)} s", 1.0)
            t.add("waiting", i, (ev,))
            t.apology_due = p.apology_window
            t.apology_from = t.round_open
        t.round_open = None
        t.round_clock = None

    # apology after a long wait
    if t.apology_due:
        if "apology" in kinds:
            t.apology_due = 0
        else:
            t.apology_due -= 1
            if t.apology_due == 0:
                s.agent_lapse += 1.0
                start = t.apology_from if t.apology_from is not None else i
                rule = f"no apology within {p.apology_window} agent messages after a long wait"
                t.add("no_apology", i, (_whole(messages[start], start, "no_apology", rule),))

    # holding replies must be followed up
    if t.holding_at is not None:
        gap = _seconds(msg.sent_at, messages[t.holding_at].sent_at)
        if gap is not None and gap > p.holding_followup_s:
            _holding_lapse(t, i, messages, f"next reply {int(gap)} s after the holding reply")
        t.holding_at = None
    if "holding" in kinds and not (kinds & {"remedy", "apology"}) and len(msg.text.strip()) <= 40:
        t.holding_at = i

    # impolite replies
    if politeness is not None:
        result = politeness(msg.text)
        bad = tuple(e for e in result.evidence if e.kind in _IMPOLITE_KINDS)
        if result.label == "impolite" or bad:
            s.agent_impolite += 1.0
            spans = tuple(e.at(i) for e in bad) or (_whole(msg, i, "agent_impolite", "impolite"),)
            t.add("agent_impolite", i, spans)

    refusal = [c for c in cues if c.kind == "refusal"]
    if refusal:
        s.agent_refusal += 1.0
        t.add("agent_refusal", i, _cue_evidence(refusal, i, "agent_refusal"))

    # de-escalation: apology + concrete remedy (+ deadline)
    apology, remedy, deadline = "apology" in kinds, "remedy" in kinds, "deadline" in kinds
    credit = 0.0
    if remedy and (apology or deadline):
        credit = 1.0 if (apology and deadline) else 0.6
    if credit:
        s.deescalation += credit
        used = [c for c in cues if c.kind in {"apology", "remedy", "deadline"}]
        t.add("deescalation", i, _cue_evidence(used, i, "deescalation"))


def _trace(
    conversation: Conversation,
    *,
    policy: EscalationPolicy,
    sentiment: SentimentFn | None,
    politeness: PolitenessFn | None,
) -> _Trace:
    """Walk the conversation; return the state vector after each message and the events."""
    t = _Tracker(policy)
    messages = conversation.messages
    rows: list[tuple[float, ...]] = []
    for i, msg in enumerate(messages):
        t.decay()
        if msg.role is Role.BUYER:
            _buyer_step(t, i, msg, sentiment, messages)
        elif msg.role is Role.AGENT:
            _agent_step(t, i, msg, messages, politeness=politeness, sentiment=sentiment)
        rows.append(t.state.vector())
    if messages:  # end of conversation: open rounds and pending holding replies
        last = len(messages) - 1
        if t.holding_at is not None:
            t.decay()
            _holding_lapse(t, last, messages, "never followed up")
            rows[-1] = t.state.vector()
    return _Trace(tuple(rows), tuple(t.events))


# ---------------------------------------------------------------- scoring


def _logits(features: Sequence[Sequence[float]], model: _Model) -> list[float]:
    """Turn-head calibrated log-odds after each message."""
    return [model.turn.logit(row) for row in features]


def _outcome_logit(final: Sequence[float], model: _Model) -> float:
    """Outcome-head calibrated log-odds of the final state."""
    return model.outcome.logit(final)


def _reasons(trace: _Trace, model: _Model) -> tuple[Reason, ...]:
    final = trace.features[-1]
    by_kind: dict[str, list[_Event]] = {}
    for e in trace.events:
        by_kind.setdefault(e.kind, []).append(e)
    out: list[Reason] = []
    for kind, events in by_kind.items():
        feature = REASON_KINDS[kind]
        k = FEATURES.index(feature)
        # contribution to the calibrated log-odds of the outcome head; a signal that head
        # leaves out (weight 0) is shown with its turn-head contribution instead
        head = model.outcome if model.outcome.weights[k] else model.turn
        weight = head.scale * head.weights[k] * final[k]
        if feature == "agent_lapse":  # two kinds share the feature: split by event count
            shared = [e for e in trace.events if REASON_KINDS[e.kind] == feature]
            weight *= len(events) / len(shared)
        if weight == 0.0 and kind not in {"threat", "deescalation"}:
            continue
        zh, en = _EXPLAIN[kind]
        evidence = tuple(ev for e in events for ev in e.evidence)
        indexes = tuple(sorted({e.index for e in events}))
        out.append(Reason(kind, zh, en, evidence, indexes, round(weight, 6)))
    out.sort(key=lambda r: (-abs(r.weight), r.kind))
    return tuple(out)


def _check_fn(name: str, value: object) -> None:
    if value is not None and value is not _DEFAULT and not callable(value):
        msg = (
            f"escalation({name}=...) must be a callable, None (signal off) or omitted, "
            f"got {value!r}"
        )
        raise ConfigError(msg)


class _Default:
    def __repr__(self) -> str:
        return "<default>"


_DEFAULT: Any = _Default()


def escalation(
    conversation: Conversation,
    *,
    policy: EscalationPolicy | None = None,
    sentiment: SentimentFn | None = _DEFAULT,
    politeness: PolitenessFn | None = _DEFAULT,
) -> Escalation:
    """Escalation risk of *conversation*, with reasons and the risk after each message.

    Parameters
    ----------
    conversation:
        The conversation; timestamps are optional (without them the waiting
        signals are off).
    policy:
        Thresholds and time rules; ``None`` means :class:`EscalationPolicy()`.
    sentiment:
        ``text -> P(positive) | None`` for buyer messages.  Omitted: the
        library's sentiment model if available; ``None``: signal off.
    politeness:
        ``text -> result with label and evidence`` for agent messages.
        Omitted: :func:`kefu_standards._politeness.politeness` if available;
        ``None``: signal off.

    Returns
    -------
    Escalation
        ``score`` (risk in [0, 1]), ``level``, ``reasons`` (strongest first)
        and ``per_message`` (one risk per message).

    >>> from kefu_standards import Conversation
    >>> conv = Conversation.from_records(
    ...     [{"role": "buyer", "text": "快递一直没到"},
    ...      {"role": "buyer", "text": "再不处理我就打12315投诉你们"}], id="c1")
    >>> e = escalation(conv, sentiment=None, politeness=None)
    >>> e.level, e.reasons[0].kind
    ('high', 'threat')

    """
    if not isinstance(conversation, Conversation):
        msg = f"escalation() needs a Conversation, got {type(conversation).__name__}"
        raise ConfigError(msg)
    policy = EscalationPolicy() if policy is None else policy
    if not isinstance(policy, EscalationPolicy):
        msg = f"policy must be an EscalationPolicy or None, got {type(policy).__name__}"
        raise ConfigError(msg)
    _check_fn("sentiment", sentiment)
    _check_fn("politeness", politeness)
    default_sentiment, default_politeness = (
        _defaults() if sentiment is _DEFAULT or politeness is _DEFAULT else (None, None)
    )
    sent = default_sentiment if sentiment is _DEFAULT else sentiment
    pol = default_politeness if politeness is _DEFAULT else politeness
    if not conversation.messages:
        return Escalation(None, None, (), ())
    model = _default_model()
    trace = _trace(conversation, policy=policy, sentiment=sent, politeness=pol)
    logits = _logits(trace.features, model)
    per_message = tuple(round(_sigmoid(z), 6) for z in logits)
    score = round(_sigmoid(_outcome_logit(trace.features[-1], model)), 6)
    return Escalation(score, policy.level(score), _reasons(trace, model), per_message)


# ---------------------------------------------------------------- scorer


def _check_policy(_inst: object, _attr: object, value: object) -> None:
    if not isinstance(value, EscalationPolicy):
        msg = f"EscalationScorer.policy must be an EscalationPolicy, got {type(value).__name__}"
        raise ConfigError(msg)


@attrs.frozen(slots=True)
class EscalationScorer:
    """A thin object around :func:`escalation` with a ``name`` (``"escalation"``).

    ``score(conversation)`` returns the :class:`Escalation` (risk semantics:
    higher = worse); scorecards adapt it.
    """

    policy: EscalationPolicy = attrs.field(factory=EscalationPolicy, validator=_check_policy)
    name: str = "escalation"

    def score(self, conversation: Conversation, /) -> Escalation:
        """Escalation risk of *conversation* under this scorer's policy."""
        return escalation(conversation, policy=self.policy)
