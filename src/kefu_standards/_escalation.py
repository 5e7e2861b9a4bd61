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
- **unsolved problems** — a refusal or deflection (无法, 只能, 请您联系) after the
  buyer raised a problem;
- **de-escalation** — an apology with a concrete remedy (退款/补发/换货/跟进),
  better still with a deadline, lowers the risk afterwards.

After every message the state is mapped to a risk by a small logistic head
(``per_message``: is the buyer dissatisfied now?); ``score`` is a second head on
the final state (does the conversation end dissatisfied?); ``level`` is the
worse of the two risks' bands (:meth:`EscalationPolicy.alert_level`), so a chat
that ends on a threat is ``high`` even while its ending risk is moderate.
Escalation's own per-text parsing (cues, bigrams) is cached by the raw text
(chat repeats itself); what it reads from the other analysers (sentiment,
politeness, the chat-negativity head) comes in as :class:`Readings`, one value
per message, scored in one batch per conversation (:func:`escalation`) or per
chunk of conversations (:func:`kefu_standards.signals_many`, then
:func:`escalation_from`).  The weights of both
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

import hashlib
import math
import operator
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from types import MappingProxyType
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

import attrs
import numpy as np

from . import _politeness, _sentiment
from ._cues import (
    Cue,
    agent_cues,
    asking_for_human,
    buyer_cues,
    buyer_view,
    carries_identifier,
    echo_challenge,
    is_acceptance,
    is_bare_okay,
    material_refusals,
    says_what_happens,
)
from ._time import elapsed, wall_clock_exact
from .evidence import Evidence, ScoreResult
from .exceptions import ConfigError, InputTypeError, KefuWarning, ModelFileError
from .model import Conversation, Message, Role
from .resources import data_file, lazy, load_npz, load_tsv
from .text import has_content
from .timing import TimingPolicy, walk_rounds

__all__ = [
    "FEATURES",
    "LEVELS",
    "NOTHING_MATERIAL_ZH",
    "REASON_DEFINITIONS",
    "REASON_KINDS",
    "REASON_MIN_CONTRIBUTION",
    "Escalation",
    "EscalationPolicy",
    "EscalationScorer",
    "PolitenessFn",
    "PolitenessLike",
    "Readings",
    "Reason",
    "SentimentFn",
    "escalation",
    "escalation_from",
    "sentiment_readings",
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
    "refused_problem",  # the same, counted only once the buyer has raised a problem or complaint
    "agent_lapse",  # decayed count of lapses: no apology after a long wait, holding not followed up
    "deescalation",  # decayed credit of apology + concrete remedy (+ deadline)
    "chat_negativity",  # CPED chat-negativity head of the latest buyer message, 0 if undefined
    "negativity_total",  # log(1 + sum of the positive parts of negativity_now so far): accumulated
    "chat_thanks",  # CPED thanks head (thank / agree / acknowledge / close), latest buyer message
    "disagreement_mean",  # mean CPED disagreement head (disagree / reject acts), buyer messages
)

#: Reason kinds, each tied to one feature.
REASON_KINDS: dict[str, str] = {
    "threat": "threat",
    "human_request": "threat",
    "negative_emotion": "emotion_now",
    "unresolved": "emotion_now",
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
    "refused_problem": "refused_problem",
    "no_apology": "agent_lapse",
    "holding_unfollowed": "agent_lapse",
    "deescalation": "deescalation",
}

#: What each reason kind means: when an event of that kind is *material* (listed in
#: ``Escalation.reasons``); events that fail the test, or whose contribution to the
#: risk stays under :data:`REASON_MIN_CONTRIBUTION`, go to ``Escalation.minor_signals``.
#:
#: .. versionadded:: 0.2.0
REASON_DEFINITIONS: dict[str, str] = {
    "threat": "the buyer threatens a complaint, dispute, bad review, regulator (12315), legal "
    "action or public exposure: a threat or complaint cue of strength 2 or more, not negated "
    "(a bare 差评, strength 1, is minor)",
    "human_request": "the buyer asks for a human agent or a manager (转人工, 找你们领导): a "
    "request, not a threat (it weighs on the threat feature as before); asking whether the "
    "agent is human (你是人工吗) is minor",
    "negative_emotion": "an anger or disappointment cue in a buyer message (太过分, 失望, "
    "无语, 那好吧), or a trailing-off 。。。 / …… in words (exasperation, weighed on the "
    "impatience feature as before; not right after thanks); urgency words are the impatience "
    "reason; 好吧 / 行吧 alone accepts and is minor",
    "unresolved": "the buyer says the problem is not solved or the answer does not help "
    "(没解决, 还是不行, 没用, 看不懂), or throws the agent's last reply back (什么好的 after "
    "好的哦); weighed as negative emotion",
    "negative_sentiment": "the buyer's recent messages read negative to the sentiment model "
    "(moving average of 0.5 - P(positive) above 0.25)",
    "repetition": "the buyer says they are repeating themselves (我说过了) or asks, raises or "
    "states the same thing again before any agent reply (not a pasted order number); a "
    "re-ask after a reply, or a nudge alone, is minor",
    "impatience": "the buyer chases after their first message: a nudge (在吗, 人呢), an "
    "urgency word (怎么还没, 等了很久, 催了), or a bare ? / 。。。 after their own unanswered "
    "message, an order number included (right after an agent reply it is minor)",
    "correction": "the buyer corrects the agent strongly (答非所问, 不是这个意思: strength 2)",
    "gratitude": "the buyer thanks the agent or says the problem is solved (lowers the risk)",
    "open_issue": "a buyer question or problem that no agent answered afterwards, that asks "
    "again, or that the buyer raised again later; never when the buyer accepted in it, or "
    "accepted an answer given after it (谢谢, 好的, 好吧, 那我拍了; a 好 to a bare 请稍等 "
    "accepts no answer)",
    "unanswered_run": "three or more buyer messages in a row that no agent reply followed "
    "(a run that was answered is minor: the buyer wrote in several lines)",
    "waiting": "a long wait for a reply (needs timestamps; EscalationPolicy.long_wait_s)",
    "agent_impolite": "an agent reply with a banned phrase (服务禁语), or one the politeness "
    "analyser labels impolite on a lexicon marker (not on the offensive model alone); mild "
    "harsh-tone markers alone are minor",
    "agent_refusal": "the agent declines or sends the buyer elsewhere (无法, 没办法, 不支持, "
    "请您联系商家) outside a condition (…的话, 如果) or a question, offering no way forward "
    "(可以, 为您, 建议, 申请, 仅支持…, 留言, 备注); 建议您, 以…为准, 只能 are minor",
    "refused_problem": "an agent_refusal after the buyer raised a problem or complaint",
    "no_apology": "no apology within EscalationPolicy.apology_window agent messages after a "
    "long wait (needs timestamps)",
    "holding_unfollowed": "a bare holding reply (稍等; not one that says what happens next, "
    "审核通过后就会…) not followed up in time, or the buyer chased after it",
    "deescalation": "the agent apologised and offered a concrete remedy (lowers the risk)",
}

#: What the report and the CLI say for a chat with no material reason that raises the risk.
#:
#: .. versionadded:: 0.2.0
NOTHING_MATERIAL_ZH = "无明显风险"

#: A material event must move the risk by at least this much (log-odds) when it happens:
#: the larger of the two heads' calibrated contributions of its feature at that message.
#: 0.1 log-odds is about +2.5 points of risk at a risk of 30 %.
#:
#: .. versionadded:: 0.2.0
REASON_MIN_CONTRIBUTION = 0.1

_EXPLAIN: dict[str, tuple[str, str]] = {
    "threat": (
        "买家提出投诉、维权或差评威胁",
        "the buyer threatens a complaint, dispute or bad review",
    ),
    "human_request": (
        "买家要求转人工或找主管",
        "the buyer asks for a human agent or a manager",
    ),
    "negative_emotion": (
        "买家表达不满或焦急情绪",
        "the buyer expresses anger, disappointment or urgency",
    ),
    "negative_sentiment": ("买家情绪持续负面", "the buyer's messages stay negative"),
    "unresolved": (
        "买家表示问题未解决或回答没有帮助",
        "the buyer says the problem is not solved or the answer does not help",
    ),
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
    "refused_problem": (
        "买家提出问题后客服表示无法解决",
        "the agent said it cannot solve a problem the buyer raised",
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
_HUMAN_KINDS = frozenset({"human"})
_LOWERING = frozenset({"gratitude", "deescalation"})
# Reason kinds read from more than one feature (their contribution is the sum).
_REASON_FEATURES: dict[str, tuple[str, ...]] = {
    "negative_emotion": ("emotion_now", "emotion_avg"),
    "unresolved": ("emotion_now", "emotion_avg"),
    "negative_sentiment": ("negativity_now", "negativity_avg", "negativity_mean"),
}
_EMOTION_KINDS = frozenset({"anger", "disappointment", "urgency", "unresolved"})
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


@runtime_checkable
class _Rescorer(Protocol):
    """A fitted model :func:`escalation` can use (``model=``): see ``EscalationModel``."""

    def _rescore(
        self,
        messages: Sequence[Message],
        turn_logits: Sequence[float],
        states: Sequence[Sequence[float]],
        outcome_logit: float,
        /,
    ) -> tuple[list[float], float]:
        """Turn log-odds after each message and the dialogue log-odds, from the shipped ones."""
        ...  # pragma: no cover


def _check_model(value: object, where: str) -> None:
    if value is not None and not isinstance(value, _Rescorer):
        msg = (
            f"{where} must be an EscalationModel (EscalationModel.fit or .load) or None "
            f"(the shipped model), got {type(value).__name__}"
        )
        raise ConfigError(msg)


# ---------------------------------------------------------------- policy and results


def _in_unit(_inst: object, attr: attrs.Attribute[float], value: float) -> None:
    if not 0.0 < value <= 1.0:
        msg = f"EscalationPolicy.{attr.name} must be in (0, 1], got {value!r}"
        raise ConfigError(msg)


def _positive(_inst: object, attr: attrs.Attribute[Any], value: float) -> None:
    if not value > 0:
        msg = f"EscalationPolicy.{attr.name} must be > 0, got {value!r}"
        raise ConfigError(msg)


def _ordered_pair(low: str, high: str) -> Callable[[EscalationPolicy, object, object], None]:
    """Return a validator of ``0 < low < high < 1`` for two threshold fields of the policy."""

    def check(inst: EscalationPolicy, _attr: object, _value: object) -> None:
        lo, hi = getattr(inst, low), getattr(inst, high)
        if not 0.0 < lo < hi < 1.0:
            msg = (
                f"EscalationPolicy thresholds must satisfy 0 < {low} < {high} < 1, "
                f"got {low}={lo!r}, {high}={hi!r}"
            )
            raise ConfigError(msg)

    return check


_check_thresholds = _ordered_pair("medium_from", "high_from")
_check_turn_thresholds = _ordered_pair("turn_medium_from", "turn_high_from")


_RANK: dict[Level, int] = {"low": 0, "medium": 1, "high": 2}


def _band(value: float, medium: float, high: float) -> Level:
    if value >= high:
        return "high"
    if value >= medium:
        return "medium"
    return "low"


@attrs.frozen(slots=True)
class EscalationPolicy:
    """Thresholds and time rules of :func:`escalation` (validated when built).

    The two risks have thresholds of their own, because they answer two
    questions with different base rates: ``score`` (does the conversation end
    dissatisfied? about 9 % of JDDC dialogues) and ``per_message`` (is the
    buyer dissatisfied right now? about 23 % of rated JDDC buyer turns).
    ``Escalation.level`` is the worse of :meth:`level` of the score and
    :meth:`turn_level` of the risk after the last message.

    Parameters
    ----------
    medium_from, high_from:
        Bands of the conversation ``score``: ``low`` below ``medium_from``,
        ``high`` from ``high_from`` (defaults 0.15 and 0.4: about 1.7x and 4.5x
        the base rate of a dissatisfied ending).
    turn_medium_from, turn_high_from:
        Bands of a ``per_message`` risk (defaults 0.4 and 0.7: the buyer is
        nearly as likely unhappy as not, and more than twice as likely unhappy
        as not).
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
    turn_medium_from: float = attrs.field(
        default=0.4, converter=float, validator=_check_turn_thresholds
    )
    turn_high_from: float = attrs.field(
        default=0.7, converter=float, validator=_check_turn_thresholds
    )
    long_wait_s: float = attrs.field(default=180.0, converter=float, validator=_positive)
    holding_followup_s: float = attrs.field(default=900.0, converter=float, validator=_positive)
    apology_window: int = attrs.field(default=3, converter=int, validator=_positive)
    decay: float = attrs.field(default=0.85, converter=float, validator=_in_unit)
    threat_decay: float = attrs.field(default=0.97, converter=float, validator=_in_unit)
    average_weight: float = attrs.field(default=0.4, converter=float, validator=_in_unit)
    repeat_similarity: float = attrs.field(default=0.6, converter=float, validator=_in_unit)

    def level(self, score: float) -> Level:
        """Return the band of a conversation risk *score* (``medium_from``, ``high_from``)."""
        return _band(score, self.medium_from, self.high_from)

    def turn_level(self, risk: float) -> Level:
        """Return the band of a per-message *risk* (``turn_medium_from``, ``turn_high_from``)."""
        return _band(risk, self.turn_medium_from, self.turn_high_from)

    def alert_level(self, score: float, risk_now: float) -> Level:
        """Return the worse of :meth:`level` of *score* and :meth:`turn_level` of *risk_now*.

        This is ``Escalation.level``: how worried a manager should be about the
        conversation as it stands.
        """
        a, b = self.level(score), self.turn_level(risk_now)
        return a if _RANK[a] >= _RANK[b] else b


@attrs.frozen(slots=True)
class Reason:
    """Why the risk is what it is.

    ``kind`` is one of :data:`REASON_KINDS`; ``zh`` and ``en`` explain it;
    ``evidence`` holds the spans (with ``message_index`` set) and
    ``message_indexes`` the messages involved; ``weight`` is the reason's
    contribution to the final log-odds of risk (negative = lowers the risk; 0 when the
    signal had faded by the end, as a nudge answered long ago).

    .. versionchanged:: 0.2.0
       Only material events are listed (:data:`REASON_DEFINITIONS`,
       :data:`REASON_MIN_CONTRIBUTION`); the others are ``Escalation.minor_signals``.
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

    Three coherent views of one walk through the conversation:

    - ``per_message[i]`` in [0, 1]: the risk that the buyer is dissatisfied
      right after message *i* (for live alerts; same length as the
      conversation); :attr:`risk_now` is the last of them;
    - ``score`` in [0, 1]: the calibrated risk that the conversation *ends*
      dissatisfied (complaint, dispute, bad review), read from the state after
      the last message;
    - ``level`` (``low``, ``medium``, ``high``): the worse of the band of
      ``score`` and the band of :attr:`risk_now`
      (:meth:`EscalationPolicy.alert_level`), so a chat that ends on a threat
      is ``high`` even when the ending risk is still moderate.

    ``reasons`` explain it, strongest first.  An empty conversation has
    ``score`` and ``level`` ``None`` and no ``per_message``.
    """

    score: float | None
    level: Level | None
    reasons: tuple[Reason, ...]
    per_message: tuple[float, ...]
    #: Signals that fired but are not material (they fail their kind's test in
    #: :attr:`REASON_DEFINITIONS` or move the risk less than
    #: :attr:`REASON_MIN_CONTRIBUTION`): kept for inspection, never shown as reasons.
    #:
    #: .. versionadded:: 0.2.0
    minor_signals: tuple[Reason, ...] = ()

    #: The state the risk is read from after each message, in model order (see the
    #: explanation page for what fires each feature).
    FEATURES: ClassVar[tuple[str, ...]] = FEATURES
    #: Reason kind -> the feature it explains.
    REASON_KINDS: ClassVar[Mapping[str, str]] = MappingProxyType(REASON_KINDS)
    #: Reason kind -> its definition (when an event of that kind is material).
    #:
    #: .. versionadded:: 0.2.0
    REASON_DEFINITIONS: ClassVar[Mapping[str, str]] = MappingProxyType(REASON_DEFINITIONS)
    #: The least contribution (log-odds) of a material event.
    #:
    #: .. versionadded:: 0.2.0
    REASON_MIN_CONTRIBUTION: ClassVar[float] = REASON_MIN_CONTRIBUTION

    @property
    def risk_reasons(self) -> tuple[Reason, ...]:
        """The listed reasons that raise the risk (not gratitude or de-escalation).

        .. versionadded:: 0.2.0
        """
        return tuple(r for r in self.reasons if r.kind not in _LOWERING)

    @property
    def summary_zh(self) -> str:
        """The reasons that raise the risk, in Chinese; ``无明显风险`` when there is none.

        .. versionadded:: 0.2.0
        """
        raising = [r.zh for r in self.risk_reasons]
        return "；".join(raising) if raising else NOTHING_MATERIAL_ZH

    @property
    def risk_now(self) -> float | None:
        """The risk after the last message (``per_message[-1]``), ``None`` when empty."""
        return self.per_message[-1] if self.per_message else None

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
        total: float = sum(map(operator.mul, self.weights, row))
        return total

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


class _LibrarySentiment:
    """The library's sentiment as a :class:`SentimentFn` (P(positive), ``None`` when undefined).

    Calling it scores one text through :func:`~kefu_standards.sentiment_scores`
    (the model's own text cache).  :func:`escalation` recognises it and scores
    a conversation's texts in one batch instead (:func:`sentiment_readings`),
    with the same values.
    """

    def __call__(self, text: str, /) -> float | None:
        """Return P(positive) of *text*, or ``None`` when undefined."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            x = float(_sentiment.sentiment_scores([text])[0])
        return None if math.isnan(x) else x


def _signal_off(name: str, why: str) -> None:
    """Warn once (the defaults are loaded once) that a default signal is off, and why."""
    msg = (
        f"escalation: the {name} signal is off ({why}); the risk rests on the other signals. "
        f"Pass {name}=... to use another model, or {name}=None to silence this warning."
    )
    warnings.warn(msg, KefuWarning, stacklevel=3)


def _default_sentiment() -> SentimentFn | None:
    try:
        fn = _LibrarySentiment()
        fn("好的")
    except Exception as exc:  # a broken model file: the signal is off
        _signal_off("sentiment", f"{type(exc).__name__}: {exc}")
        return None
    return fn


def _default_politeness() -> PolitenessFn | None:
    try:
        # score_text: the library's politeness (its one text cache), without the
        # undefined-text warning of politeness()
        fn: PolitenessFn = _politeness.PolitenessScorer().score_text
        fn("您好")
    except Exception as exc:  # a broken model file: the signal is off
        _signal_off("politeness", f"{type(exc).__name__}: {exc}")
        return None
    return fn


def _log_odds_of(head: _sentiment.SentimentModel, scores: Any) -> Any:
    """Return ``bias - logit(P)`` of *scores*, the head's ``P`` of some texts (NaN stays NaN).

    Each CPED head is trained with target 0 for its class (a negative line, a thanks, a
    disagreement), so ``P`` is the probability of *not* being of the class.
    """
    p = np.clip(scores, 1e-9, 1.0 - 1e-9)
    return head.bias - np.log(p / (1.0 - p))


_CHAT_HEAD_FILE = "escalation/cped_negativity.npz"
# esc (#18): two more CPED heads, trained by tools/train_cped_head.py --head thanks / disagreement
_THANKS_HEAD_FILE = "escalation/cped_thanks.npz"
_DISAGREEMENT_HEAD_FILE = "escalation/cped_disagreement.npz"
_HEAD_FILES = (_CHAT_HEAD_FILE, _THANKS_HEAD_FILE, _DISAGREEMENT_HEAD_FILE)


def _head_model(name: str) -> _sentiment.SentimentModel:
    return _sentiment.SentimentModel._from_arrays(load_npz(name), f"kefu_standards/data/{name}")


@lazy
def _chat_head_model() -> _sentiment.SentimentModel:
    return _head_model(_CHAT_HEAD_FILE)


@lazy
def _thanks_head_model() -> _sentiment.SentimentModel:
    return _head_model(_THANKS_HEAD_FILE)


@lazy
def _disagreement_head_model() -> _sentiment.SentimentModel:
    return _head_model(_DISAGREEMENT_HEAD_FILE)


@lazy
def _chat_head_digest() -> str:
    """Return a SHA-256 digest of the shipped CPED head files (their exact bytes, in order)."""
    digest = hashlib.sha256()
    for name in _HEAD_FILES:
        digest.update(hashlib.sha256(data_file(name).read_bytes()).digest())
    return digest.hexdigest()


def _loaded_head(
    name: str, model: Callable[[], _sentiment.SentimentModel]
) -> _sentiment.SentimentModel | None:
    """Return a CPED head's model, or ``None`` when it cannot load (warned: the feature is off)."""
    try:
        head = model()
        head.scores(["好的"])
    except Exception as exc:  # a broken model file: the feature is off
        _signal_off(name, f"{type(exc).__name__}: {exc}")
        return None
    return head


def _default_chat_head() -> _sentiment.SentimentModel | None:
    """Return the chat-negativity head (a CPED-trained model), or ``None`` when it is off."""
    return _loaded_head("chat-negativity", _chat_head_model)


def _default_thanks_head() -> _sentiment.SentimentModel | None:
    """Return the CPED thanks head, or ``None`` when it is off."""
    return _loaded_head("chat-thanks", _thanks_head_model)


def _default_disagreement_head() -> _sentiment.SentimentModel | None:
    """Return the CPED disagreement head, or ``None`` when it is off."""
    return _loaded_head("disagreement", _disagreement_head_model)


_lazy_sentiment = lazy(_default_sentiment)
_lazy_chat_head = lazy(_default_chat_head)
_lazy_thanks_head = lazy(_default_thanks_head)
_lazy_disagreement_head = lazy(_default_disagreement_head)
_lazy_politeness = lazy(_default_politeness)


def _defaults() -> tuple[SentimentFn | None, PolitenessFn | None]:
    """Return the library's sentiment and politeness signals (loaded once; ``None`` if off)."""
    return _lazy_sentiment(), _lazy_politeness()


def _politeness_fn() -> PolitenessFn | None:
    """Return the default politeness signal if it is loaded (never loads it)."""
    return _lazy_politeness() if _lazy_politeness.loaded() else None  # type: ignore[attr-defined]


# -- readings (#14): what escalation reads from the other analysers, one value per message --
def _heads() -> tuple[_sentiment.SentimentModel | None, ...]:
    """Return the three CPED heads (negativity, thanks, disagreement); ``None`` where off."""
    return _lazy_chat_head(), _lazy_thanks_head(), _lazy_disagreement_head()


def _defined(texts: Sequence[str], values: list[float]) -> dict[str, float | None]:
    """Map each text to its value, ``None`` for NaN (undefined)."""
    return {t: None if math.isnan(x) else x for t, x in zip(texts, values, strict=True)}


def sentiment_readings(
    texts: Sequence[str], chat_texts: Sequence[str]
) -> tuple[dict[str, float | None], tuple[dict[str, float | None] | None, ...]]:
    """Return ``(P(positive) by text, the CPED heads' log-odds by text)``.

    *texts* are scored by the library's sentiment model
    (:func:`~kefu_standards.sentiment_scores`, ``None`` where undefined),
    *chat_texts* (buyer messages) by escalation's three CPED heads: chat
    negativity, chat thanks and disagreement (``bias - logit(P)``, ``None``
    where undefined; a head's mapping is ``None`` when it is off).  All the
    models read the same features, so they are computed once for the texts new
    to any of them (:func:`~kefu_standards._sentiment.shared_scores`); each
    model keeps its results in its own text cache.
    """
    heads = _heads() if chat_texts else (None, None, None)
    on = [h for h in heads if h is not None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        default = _sentiment.SentimentModel.default()
        if on:
            results = _sentiment.shared_scores(((default, texts), *((h, chat_texts) for h in on)))
        else:
            results = [default.scores(texts)]
        sentiment_of = _defined(texts, results[0].tolist())
        rest = iter(results[1:])
        heads_of = tuple(
            None if h is None else _defined(chat_texts, _log_odds_of(h, next(rest)).tolist())
            for h in heads
        )
    return sentiment_of, heads_of


@attrs.frozen(slots=True)
class Readings:
    """What escalation reads from the other analysers, one entry per message.

    ``sentiment``: P(positive) of each buyer and agent message with content
    (``None`` elsewhere and where undefined; a card's is never read);
    ``chat_negativity``, ``chat_thanks``, ``disagreement``: the CPED heads'
    log-odds of each buyer message (``None`` elsewhere and where undefined);
    ``politeness``: the
    politeness result of each agent message (the walk reads those with
    content; ``None`` for other messages).  A field that is
    ``None`` is a signal that is off.  :func:`kefu_standards.signals` builds
    them with the rest of a conversation's signals; :func:`escalation` reads
    them itself.

    .. versionadded:: 0.2.0
    """

    sentiment: tuple[float | None, ...] | None
    chat_negativity: tuple[float | None, ...] | None
    politeness: tuple[PolitenessLike | None, ...] | None
    chat_thanks: tuple[float | None, ...] | None = None
    disagreement: tuple[float | None, ...] | None = None

    def check(self, n: int, where: str) -> None:
        """Raise :class:`~kefu_standards.exceptions.ConfigError` when a field is not *n* long."""
        for name in ("sentiment", "chat_negativity", "politeness", "chat_thanks", "disagreement"):
            values = getattr(self, name)
            if values is not None and len(values) != n:
                msg = f"{where}: readings.{name} has {len(values)} entries for {n} messages"
                raise ConfigError(msg)


def _sentiment_read(message: Message) -> bool:
    """Whether the walk reads the sentiment (an agent's: the politeness) of *message*."""
    if message.role is Role.BUYER:
        bt = _buyer_text(message.text)
        return bt.content and not bt.card
    return message.role is Role.AGENT and _agent_text(message.text).content


def _read(
    messages: Sequence[Message], sentiment: SentimentFn | None, politeness: PolitenessFn | None
) -> Readings:
    """Return the :class:`Readings` of *messages* under the given signals (``None``: off).

    The library's own analysers score the conversation's buyer and agent texts
    in one batch each (each keeps its results in its one text cache; a text
    without content is undefined, and the walk reads no card's sentiment); any
    other function is called once per message the walk reads it for.
    """
    buyer, agent = Role.BUYER, Role.AGENT
    pos: tuple[float | None, ...] | None = None
    per_head: list[tuple[float | None, ...] | None] = [None, None, None]
    if sentiment is not None:  # the CPED heads are part of the sentiment signal
        chat_texts = [m.text for m in messages if m.role is buyer]
        if isinstance(sentiment, _LibrarySentiment):
            texts = [m.text for m in messages if m.role is buyer or m.role is agent]
            sentiment_of, heads_of = sentiment_readings(texts, chat_texts)
            pos = tuple(
                [
                    sentiment_of[m.text] if m.role is buyer or m.role is agent else None
                    for m in messages
                ]
            )
        else:
            _, heads_of = sentiment_readings([], chat_texts)
            pos = tuple([sentiment(m.text) if _sentiment_read(m) else None for m in messages])
        per_head = [
            None
            if of is None
            else tuple([of[m.text] if m.role is buyer else None for m in messages])
            for of in heads_of
        ]
    polite: tuple[PolitenessLike | None, ...] | None = None
    if politeness is not None:
        if politeness is _politeness_fn():  # the library's: one batch
            texts = [m.text for m in messages if m.role is agent]
            results = iter(_politeness.politeness_many(texts))
            polite = tuple([next(results) if m.role is agent else None for m in messages])
        else:
            polite = tuple(
                [
                    politeness(m.text) if m.role is agent and _sentiment_read(m) else None
                    for m in messages
                ]
            )
    chat, thanks, disagreement = per_head
    return Readings(pos, chat, polite, thanks, disagreement)


# ---------------------------------------------------------------- the trace


@attrs.frozen(slots=True)
class _Event:
    kind: str  # a REASON_KINDS key
    index: int
    evidence: tuple[Evidence, ...]
    material: bool = True  # passes its kind's test in REASON_DEFINITIONS
    via: str | None = None  # the reason kind whose features weigh it, when not its own


@attrs.frozen(slots=True)
class _Trace:
    features: tuple[tuple[float, ...], ...]
    events: tuple[_Event, ...]


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
def _buyer_text(text: str) -> _BuyerText:
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


def _repeats(grams: frozenset[str], earlier: Sequence[frozenset[str]], threshold: float) -> bool:
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
def _agent_text(text: str) -> _AgentText:
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
    _buyer_text.cache_clear()
    _agent_text.cache_clear()
    buyer_cues.cache_clear()
    agent_cues.cache_clear()


_POLITE: tuple[bool, tuple[Evidence, ...], bool] = (False, (), False)


def _impolite_verdict(result: PolitenessLike) -> tuple[bool, tuple[Evidence, ...], bool]:
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
        bt = _buyer_text(message.text)
        return not bt.card and not bt.info_only and bool(bt.content or bt.cues)
    return message.role is Role.AGENT and _agent_text(message.text).content


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
def _walk(
    messages: Sequence[Message],
    *,
    policy: EscalationPolicy,
    sentiment: SentimentFn | None,
    politeness: PolitenessFn | None,
    model: _Model,
    readings: Readings | None = None,
) -> tuple[list[float], list[tuple[float, ...]], list[_Event]]:
    """Walk the conversation once; return the turn log-odds, the states and the events.

    After each message: the turn head's calibrated log-odds and the state in
    :data:`FEATURES` order (one local variable per feature: this loop runs for
    every message ``analyze`` sees, so it avoids attribute look-ups and calls);
    plus the events that explain the state.  Before each message the counted
    events decay (``decay``; threats and refusals by ``threat_decay``).  A
    holding reply never followed up is charged after the last message.

    What the other analysers say comes from *readings* (one value per message);
    without them, from :func:`_read` of *sentiment* and *politeness*.
    """
    if readings is None:
        readings = _read(messages, sentiment, politeness)
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
    buyer_text, agent_text, log1p = _buyer_text, _agent_text, math.log1p
    events: list[_Event] = []
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
                    add(_Event("unanswered_run", i, (_whole(msg, i, "unanswered_run", rule),)))
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
                        add(_Event("threat", i, _cue_evidence(told, i, "threat"), strong))
                    if human:
                        asks = bt.human_request
                        ev_human = _cue_evidence(asks or human, i, "human_request")
                        add(_Event("human_request", i, ev_human, bool(asks)))
                emotion_now = bt.emotion_strength
                echo = echo_challenge(msg.text, reply_text) if reply_text and not chasing else ()
                if echo:  # 什么好的 after 好的哦: the reply did not help (weighed as emotion)
                    emotion = (*emotion, *echo)
                    emotion_now = min(3.0, emotion_now + 1.0)
                    add(_Event("unresolved", i, _cue_evidence(echo, i, "unresolved")))
                emotion_avg = emotion_now if first else (1 - w) * emotion_avg + w * emotion_now
                if emotion:
                    felt, urging = bt.felt, bt.urging
                    if felt:
                        ev_emotion = _cue_evidence(felt, i, "negative_emotion")
                        add(_Event("negative_emotion", i, ev_emotion, not bt.bare_okay))
                    if bt.unsolved:
                        ev_unsolved = _cue_evidence(bt.unsolved, i, "unresolved")
                        add(_Event("unresolved", i, ev_unsolved))
                    if urging and not first:  # waiting and chasing: impatience, weighed as emotion
                        ev_urging = _cue_evidence(urging, i, "impatience")
                        add(_Event("impatience", i, ev_urging, via="negative_emotion"))
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
                        add(_Event("negative_sentiment", i, (ev,)))
                repeat, nudges = bt.repeat, bt.nudges
                count = bt.repeat_count
                evidence = list(_cue_evidence(repeat, i, "repetition")) if repeat else []
                grams = bt.grams
                unanswered_again = False
                if (
                    len(grams) >= 3
                    and buyer_bigrams  # _repeats of no earlier message is False
                    and _repeats(grams, buyer_bigrams[-10:], similarity)
                ):
                    count += 1.0
                    evidence.append(_whole(msg, i, "repetition", "repeated_question"))
                    # material when it repeats a message no agent has replied to yet
                    # and asks, raises or states something (not a pasted order line)
                    unanswered_again = bool(bt.questions or bt.issues or bt.statement) and _repeats(
                        grams, buyer_bigrams[since_reply:], similarity
                    )
                if nudges and not first:
                    count += 0.5
                    evidence.extend(_cue_evidence(nudges, i, "repetition"))
                if count:
                    repetition += count
                    # material: 我说过了, or the same message again before any reply; a
                    # nudge alone is impatience, a question asked again after a reply is minor
                    said_again = bool(repeat) or unanswered_again
                    add(_Event("repetition", i, tuple(evidence), said_again))
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
                        add(_Event("impatience", i, _cue_evidence(chase, i, "impatience"), chased))
                    if len(chase) < len(nudges):  # 。。。 in words: exasperation (无语)
                        sighs = tuple(c for c in nudges if c.kind == "exasperation")
                        ev_sigh = _cue_evidence(sighs, i, "negative_emotion")
                        add(_Event("negative_emotion", i, ev_sigh, via="impatience"))
                grat = bt.gratitude
                gratitude_now = bt.gratitude_strength
                if grat and not emotion and not threats:
                    add(_Event("gratitude", i, _cue_evidence(grat, i, "gratitude")))
                elif grat:
                    gratitude_now = 0.0
                acknowledged_now = 1.0 if bt.ack else 0.0
                questions, issues = bt.questions, bt.issues
                question_now = 1.0 if questions else 0.0
                issue_now = min(2.0, float(len(issues)))
                correction_now = bt.correction_strength
                if bt.corrections:
                    ev_corr = _cue_evidence(bt.corrections, i, "correction")
                    add(_Event("correction", i, ev_corr, correction_now >= 2.0))
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
                    add(_Event("open_issue", i, ev_open, unanswered_again or bool(repeat)))
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
                        add(_Event("waiting", i, (_whole(msg, i, "waiting", rule, n),)))
                # a buyer chasing while a holding reply is pending: it was not followed up
                if holding_at is not None and (nudges or repeat):
                    agent_lapse += 1.0
                    rule = "buyer chased after a holding reply"
                    ev = _whole(messages[holding_at], holding_at, "holding_unfollowed", rule)
                    add(_Event("holding_unfollowed", i, (ev,)))
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
                        add(_Event("waiting", i, (ev,)))
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
                            add(_Event("no_apology", i, (ev,)))
                if holding_at is not None:
                    gap = seconds(msg.sent_at, messages[holding_at].sent_at)
                    if gap is not None and gap > holding_s:
                        agent_lapse += 1.0
                        rule = f"next reply {int(gap)} s after the holding reply"
                        ev = _whole(messages[holding_at], holding_at, "holding_unfollowed", rule)
                        add(_Event("holding_unfollowed", i, (ev,)))
                    holding_at = None
                if at.holding:
                    holding_at = i
                polite = None if polite_of is None else polite_of[i]
                if polite is not None:
                    impolite, bad, material = _impolite_verdict(polite)
                    if impolite:
                        agent_impolite += 1.0
                        spans = tuple(e.at(i) for e in bad) or (
                            _whole(msg, i, "agent_impolite", "impolite"),
                        )
                        add(_Event("agent_impolite", i, spans, material))
                if at.refusal:
                    agent_refusal += 1.0
                    declined = at.refusal_material
                    refusal = declined or at.refusal
                    ev_refusal = _cue_evidence(refusal, i, "agent_refusal")
                    add(_Event("agent_refusal", i, ev_refusal, bool(declined)))
                    if problem_raised:
                        refused_problem += 1.0
                        ev_refused = _cue_evidence(refusal, i, "refused_problem")
                        add(_Event("refused_problem", i, ev_refused, bool(declined)))
                if at.credit:
                    deescalation += at.credit
                    add(_Event("deescalation", i, _cue_evidence(at.used, i, "deescalation")))
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
        add(_Event("holding_unfollowed", len(messages) - 1, (ev,)))
        rows[-1] = row
        logits[-1] = offset + scale * sum(map(mul, weights, row))
    return logits, rows, _settle_open_issues(events, accepted, asked_again, last_reply)


def _settle_open_issues(
    events: list[_Event],
    accepted: list[tuple[int, int]],
    asked_again: list[int],
    last_reply: int,
) -> list[_Event]:
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
    _logits, rows, events = _walk(
        conversation.messages,
        policy=policy,
        sentiment=sentiment,
        politeness=politeness,
        model=_default_model(),
    )
    return _Trace(tuple(rows), tuple(events))


# ---------------------------------------------------------------- scoring


def _outcome_logit(final: Sequence[float], model: _Model) -> float:
    """Outcome-head calibrated log-odds of the final state."""
    return model.outcome.logit(final)


def _contribution(kind: str, row: Sequence[float], model: _Model) -> float:
    """Return the larger (in size) of the two heads' calibrated contributions of *kind*."""
    best = 0.0
    for head in (model.turn, model.outcome):
        value = head.scale * sum(
            head.weights[FEATURES.index(f)] * row[FEATURES.index(f)] for f in _features_of(kind)
        )
        if abs(value) > abs(best):
            best = value
    return best


def _features_of(kind: str) -> tuple[str, ...]:
    return _REASON_FEATURES.get(kind, (REASON_KINDS[kind],))


def _material(event: _Event, rows: Sequence[Sequence[float]], model: _Model) -> bool:
    """Tell whether *event* passes its kind's test and moves the risk enough when it happens."""
    if not event.material:
        return False
    size = abs(_contribution(event.via or event.kind, rows[event.index], model))
    return size >= REASON_MIN_CONTRIBUTION


def _reasons(
    rows: Sequence[Sequence[float]], events_seen: Sequence[_Event], model: _Model
) -> tuple[tuple[Reason, ...], tuple[Reason, ...]]:
    """Group the events by reason kind: ``(material reasons, minor signals)``.

    A reason is listed when at least one of its events is material
    (:func:`_material`); it shows the evidence of its material events only.  Its
    weight is its contribution to the final log-odds of the outcome head (the turn
    head's for a signal the outcome head leaves out).
    """
    final = rows[-1]
    by_kind: dict[str, list[_Event]] = {}
    for e in events_seen:
        by_kind.setdefault(e.kind, []).append(e)
    out: list[Reason] = []
    minor: list[Reason] = []
    for kind, events in by_kind.items():
        weight = 0.0
        for feature in _features_of(kind):
            k = FEATURES.index(feature)
            # contribution to the calibrated log-odds of the outcome head; a signal that head
            # leaves out (weight 0) is shown with its turn-head contribution instead
            head = model.outcome if model.outcome.weights[k] else model.turn
            weight += head.scale * head.weights[k] * final[k]
        if REASON_KINDS[kind] == "agent_lapse":  # two kinds share the feature: split by count
            shared = [e for e in events_seen if REASON_KINDS[e.kind] == "agent_lapse"]
            weight *= len(events) / len(shared)
        material = [e for e in events if _material(e, rows, model)]
        zh, en = _EXPLAIN[kind]
        shown = material or events
        evidence = tuple(ev for e in shown for ev in e.evidence)
        indexes = tuple(sorted({e.index for e in shown}))
        reason = Reason(kind, zh, en, evidence, indexes, round(weight, 6))
        (out if material else minor).append(reason)
    out.sort(key=lambda r: (-abs(r.weight), r.kind))
    minor.sort(key=lambda r: (-abs(r.weight), r.kind))
    return tuple(out), tuple(minor)


@lazy
def _default_policy() -> EscalationPolicy:
    """Return ``EscalationPolicy()`` (frozen), built once rather than per conversation."""
    return EscalationPolicy()


def _check_fn(name: str, value: object) -> None:
    if value is not None and value is not _DEFAULT and not callable(value):
        msg = (
            f"escalation({name}=...) must be a callable, None (signal off) or omitted, "
            f"got {value!r}"
        )
        raise ConfigError(msg)


def _checked_sentiment(fn: SentimentFn | None) -> SentimentFn | None:
    """*fn* held to its contract: P(positive) in [0, 1], ``None`` (or NaN) when undefined.

    NaN is read as undefined, as :func:`~kefu_standards.sentiment_scores` writes it;
    anything else outside [0, 1] raises instead of moving the risk silently.  The
    library's own batched sentiment is passed through as it is.
    """
    if fn is None or isinstance(fn, _LibrarySentiment):
        return fn

    def checked(text: str, /) -> float | None:
        value = fn(text)
        if value is None:
            return None
        try:
            x = float(value)
        except (TypeError, ValueError):
            x = -1.0
        if math.isnan(x):
            return None
        if not 0.0 <= x <= 1.0:
            msg = (
                f"escalation(sentiment=...) must return P(positive) in [0, 1] or None, "
                f"got {value!r} for {text[:40]!r}"
            )
            raise ConfigError(msg)
        return x

    return checked


def _checked_politeness(fn: PolitenessFn | None) -> PolitenessFn | None:
    """*fn* held to its contract: a result with ``label`` and ``evidence``."""
    if fn is None or fn is _politeness_fn():
        return fn

    def checked(text: str, /) -> PolitenessLike:
        result = fn(text)
        if not isinstance(result, PolitenessLike):
            msg = (
                "escalation(politeness=...) must return a result with 'label' and "
                f"'evidence' (such as kefu_standards.politeness), got {result!r}"
            )
            raise ConfigError(msg)
        return result

    return checked


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
    model: _Rescorer | None = None,
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
        library's sentiment model if available; ``None``: signal off, the
        features of the three heads trained on CPED (``chat_negativity``,
        ``chat_thanks``, ``disagreement_mean``) included.  A function of your
        own replaces P(positive) only.
    politeness:
        ``text -> result with label and evidence`` for agent messages.
        Omitted: :func:`kefu_standards._politeness.politeness` if available;
        ``None``: signal off.
    model:
        An :class:`~kefu_standards.EscalationModel` fitted on the shop's own
        labelled chats: ``score`` and ``per_message`` come from it (``level``
        from those), ``reasons`` still explain the shipped signals.  ``None``:
        the shipped model.

        .. versionadded:: 0.2.0

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
        raise InputTypeError(msg)
    policy = _default_policy() if policy is None else policy
    if not isinstance(policy, EscalationPolicy):
        msg = f"policy must be an EscalationPolicy or None, got {type(policy).__name__}"
        raise InputTypeError(msg)
    _check_fn("sentiment", sentiment)
    _check_fn("politeness", politeness)
    _check_model(model, "escalation(model=...)")
    sent = _lazy_sentiment() if sentiment is _DEFAULT else _checked_sentiment(sentiment)
    pol = _lazy_politeness() if politeness is _DEFAULT else _checked_politeness(politeness)
    readings = _read(conversation.messages, sent, pol)
    return escalation_from(conversation, readings, policy=policy, model=model)


def escalation_from(
    conversation: Conversation,
    readings: Readings,
    *,
    policy: EscalationPolicy | None = None,
    model: _Rescorer | None = None,
) -> Escalation:
    """:func:`escalation` of *conversation* given what the other analysers said of it.

    *readings* hold the sentiment, chat negativity and politeness of each
    message (:class:`Readings`); :func:`kefu_standards.signals` passes the
    conversation's signals here, so each analyser runs once per conversation.
    ``escalation(conv)`` equals ``escalation_from(conv, readings)`` with the
    library's readings of *conv*.

    .. versionadded:: 0.2.0
    """
    if not isinstance(conversation, Conversation):
        msg = f"escalation_from() needs a Conversation, got {type(conversation).__name__}"
        raise InputTypeError(msg)
    if not isinstance(readings, Readings):
        msg = f"escalation_from() needs Readings, got {type(readings).__name__}"
        raise InputTypeError(msg)
    readings.check(len(conversation.messages), "escalation_from()")
    _check_model(model, "escalation_from(model=...)")
    policy = _default_policy() if policy is None else policy
    if not conversation.messages:
        return Escalation(None, None, (), ())
    shipped = _default_model()
    logits, rows, events = _walk(
        conversation.messages,
        policy=policy,
        sentiment=None,
        politeness=None,
        model=shipped,
        readings=readings,
    )
    final = rows[-1]
    outcome = _outcome_logit(final, shipped)
    if model is not None:
        logits, outcome = model._rescore(conversation.messages, logits, rows, outcome)
    exp = math.exp  # _sigmoid, inlined: it runs once per message
    per_message = tuple(
        [round(1.0 / (1.0 + exp(-z)) if z >= 0 else exp(z) / (1.0 + exp(z)), 6) for z in logits]
    )
    score = round(_sigmoid(outcome), 6)
    level = policy.alert_level(score, per_message[-1])
    reasons, minor = _reasons(rows, events, shipped)
    return Escalation(score, level, reasons, per_message, minor)


# ---------------------------------------------------------------- scorer


def _check_policy(_inst: object, _attr: object, value: object) -> None:
    if not isinstance(value, EscalationPolicy):
        msg = f"EscalationScorer.policy must be an EscalationPolicy, got {type(value).__name__}"
        raise ConfigError(msg)


def _check_escalation_fn(_inst: object, _attr: object, value: Any) -> None:
    if value is not None and not callable(value):
        msg = (
            "EscalationScorer.escalation must be a callable conversation -> result "
            f"(or None for the library's escalation), got {value!r}"
        )
        raise ConfigError(msg)


@attrs.frozen(slots=True)
class EscalationScorer:
    """Low escalation risk as a contract-keeping scorer (``name == "escalation"``).

    ``score(conversation)`` returns a :class:`~kefu_standards.scoring.ScoreResult`
    on the scorecard scale (1 = best): ``1 - Escalation.score``, N/A with a
    reason when the risk is undefined (an empty conversation).  Its ``evidence``
    is the evidence of the reasons that raise the risk, its ``reason`` names the
    strongest of them, and ``details`` holds ``risk`` (the :class:`Escalation`
    score), ``risk_now``, ``level`` and ``reasons`` (their kinds, strongest
    first).  Call :func:`escalation` for the full :class:`Escalation`
    (``per_message``, the reasons themselves).

    This is also the registry's ``"escalation"`` scorer
    (``get_scorer("escalation")``).  ``model`` may hold an
    :class:`~kefu_standards.EscalationModel` fitted on the shop's own chats
    (``.. versionadded:: 0.2.0``).  ``escalation`` may inject another function
    ``conversation -> result``; only the result's public fields ``score``,
    ``level``, ``reasons`` (each with ``kind``, ``weight``, ``evidence``) and
    ``per_message`` are read, so any object with them works.
    """

    policy: EscalationPolicy = attrs.field(factory=EscalationPolicy, validator=_check_policy)
    name: str = "escalation"
    escalation: Callable[[Conversation], Any] | None = attrs.field(
        default=None, kw_only=True, validator=_check_escalation_fn, repr=False
    )
    model: _Rescorer | None = attrs.field(
        default=None,
        kw_only=True,
        validator=lambda _i, _a, v: _check_model(v, "EscalationScorer.model"),
        repr=False,
    )

    def score(self, conversation: Conversation, /) -> ScoreResult:
        """Score *conversation* (1 = no risk) under this scorer's policy."""
        if self.escalation is not None:
            e = self.escalation(conversation)
        else:
            e = escalation(conversation, policy=self.policy, model=self.model)
        risk = getattr(e, "score", None)
        if risk is None or isinstance(risk, bool) or not isinstance(risk, (int, float)):
            return ScoreResult.na("escalation risk is undefined (no messages)")
        reasons = tuple(getattr(e, "reasons", ()) or ())
        raising = [r for r in reasons if getattr(r, "weight", 0) > 0]
        evidence = tuple(
            ev for r in raising for ev in getattr(r, "evidence", ()) if isinstance(ev, Evidence)
        )
        level = getattr(e, "level", None)
        kinds = ", ".join(str(getattr(r, "kind", "")) for r in raising[:3])
        why = f"escalation risk {risk:.2f} ({level})" + (f": {kinds}" if kinds else "")
        per_message = getattr(e, "per_message", ()) or ()
        details = {
            "risk": float(risk),
            "risk_now": float(per_message[-1]) if per_message else None,
            "level": level,
            "reasons": tuple(str(getattr(r, "kind", "")) for r in reasons),
        }
        return ScoreResult(min(1.0, max(0.0, 1.0 - float(risk))), evidence, why, details)
