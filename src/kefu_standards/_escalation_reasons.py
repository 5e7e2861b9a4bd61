"""Escalation's reasons: which events are material, grouped and weighed by kind.

:func:`listed_reasons` groups the walk's events into the material reasons and the minor
signals (:data:`REASON_DEFINITIONS`, :data:`REASON_MIN_CONTRIBUTION`), each
weighed by its contribution to the final log-odds and explained in Chinese and
English (``_EXPLAIN``).
"""

from __future__ import annotations

from collections.abc import Sequence

from ._escalation_model import LinearHeads
from ._escalation_types import FEATURES, REASON_KINDS, REASON_MIN_CONTRIBUTION, Reason
from ._escalation_walk import TraceEvent

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

# Reason kinds read from more than one feature (their contribution is the sum).
_REASON_FEATURES: dict[str, tuple[str, ...]] = {
    "negative_emotion": ("emotion_now", "emotion_avg"),
    "unresolved": ("emotion_now", "emotion_avg"),
    "negative_sentiment": ("negativity_now", "negativity_avg", "negativity_mean"),
}


def _contribution(kind: str, row: Sequence[float], model: LinearHeads) -> float:
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


def _material(event: TraceEvent, rows: Sequence[Sequence[float]], model: LinearHeads) -> bool:
    """Tell whether *event* passes its kind's test and moves the risk enough when it happens."""
    if not event.material:
        return False
    size = abs(_contribution(event.via or event.kind, rows[event.index], model))
    return size >= REASON_MIN_CONTRIBUTION


def listed_reasons(
    rows: Sequence[Sequence[float]], events_seen: Sequence[TraceEvent], model: LinearHeads
) -> tuple[tuple[Reason, ...], tuple[Reason, ...]]:
    """Group the events by reason kind: ``(material reasons, minor signals)``.

    A reason is listed when at least one of its events is material
    (:func:`_material`); it shows the evidence of its material events only.  Its
    weight is its contribution to the final log-odds of the outcome head (the turn
    head's for a signal the outcome head leaves out).
    """
    final = rows[-1]
    by_kind: dict[str, list[TraceEvent]] = {}
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
