"""Escalation's public vocabulary: the state, the reason kinds, the policy and the results.

:data:`FEATURES` (the state kept after each message), :data:`REASON_KINDS` and
:data:`REASON_DEFINITIONS` (what each reason means and when it is material),
:class:`EscalationPolicy` (thresholds and time rules), the results
:class:`Escalation` and :class:`Reason`, and the protocols of the injectable
signals (:class:`SentimentFn`, :class:`PolitenessFn`, :class:`PolitenessLike`, and
the ``model=`` rescorer).  Nothing here computes a risk: :mod:`._escalation` does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

import attrs

from .evidence import Evidence
from .exceptions import ConfigError
from .model import Message

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

_LOWERING = frozenset({"gratitude", "deescalation"})


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
class Rescorer(Protocol):
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


def check_model(value: object, where: str) -> None:
    if value is not None and not isinstance(value, Rescorer):
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
