"""Type-checked usage of the stable API (checked by ``mypy``, never run by pytest).

Like structlog's ``tests/typing/api.py``: if a public signature or result type
changes in a way that breaks ordinary user code, ``mypy`` (strict) fails here.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import kefu_standards as ks
from kefu_standards.typing import Scorer

CST = timezone(timedelta(hours=8))

msg: ks.Message = ks.Message(role="buyer", text="在吗?快递怎么还没到", sent_at=datetime.now(CST))
conv: ks.Conversation = ks.Conversation.from_records(
    [
        {"role": "buyer", "text": "在吗", "time": "2024-05-01 10:00:00", "sender": "tb1"},
        {"role": "agent", "text": "亲,您好", "time": "2024-05-01 10:00:20", "sender": "店:小美"},
    ],
    id="c1",
)

p: ks.Politeness = ks.politeness("亲,您好,请问有什么可以帮您?")
p_score: float | None = p.score
p_spans: list[tuple[int, int]] = [(e.start, e.end) for e in p.evidence]

s: ks.Sentiment = ks.sentiment("质量太差了,我要投诉")
s_score: float | None = s.score

e: ks.Escalation = ks.escalation(conv)
e_score: float | None = e.score
e_level: str | None = e.level
risks: tuple[float, ...] = tuple(e.per_message)

fitted: ks.EscalationModel = ks.EscalationModel.fit(
    [conv] * 30, [True] * 10 + [False] * 20, message_labels=None, dissatisfied_max=1
)
fit_report: ks.EscalationFitReport = fitted.report
turn_auc: float | None = fit_report.turn.auc
interval: tuple[float, float] | None = fit_report.dialogue.difference_interval
e_fitted: ks.Escalation = ks.escalation(conv, model=ks.EscalationModel.load(fitted.save("m.npz")))
a_fitted: ks.Assessment = ks.assess(conv, escalation_model=fitted)
fit_signal_l2: float | None = fit_report.turn_signal_l2
fingerprint: str = fitted.fingerprint
described: str = fitted.describe()
learned: tuple[ks.Evidence, ...] = fitted.evidence(conv, limit=3)
model_file: str | None = fitted.source
analysed_with: str | None = ks.analyze([conv], escalation_model=fitted).escalation_model
cv: ks.HeadEvaluation = ks.cross_validate_sentiment(["好"] * 10, [True] * 5 + [False] * 5)

t: ks.ResponseTimes = ks.response_times(conv, policy="taobao")
first: float | None = t.first_response_s
waits: list[float | None] = [r.wait_s for r in t.rounds]

a: ks.Assessment = ks.assess(conv)
total: float | None = a.total
dimension_scores: dict[str, float | None] = {n: d.score for n, d in a.dimensions.items()}

sig: ks.Signals = ks.signals(conv)  # every analyser once, shared by the scorers
same: ks.Assessment = ks.assess(conv, signals=sig)
buyer_mood: list[float] = sig.buyer_sentiments()
agent_tone: list[tuple[int, ks.Politeness]] = sig.agent_politeness()
batch: tuple[ks.Signals, ...] = ks.signals_many([conv, conv])


def short_replies(conversation: ks.Conversation) -> float | None:
    """A custom metric: share of agent replies shorter than 4 characters."""
    replies = [m for m in conversation if m.role is ks.Role.AGENT]
    return sum(len(m.text) < 4 for m in replies) / len(replies) if replies else None


custom: Scorer = ks.make_scorer(short_replies, name="short_replies")
result: ks.ScoreResult = custom.score(conv)
card: ks.Scorecard = ks.Scorecard.default()

report: ks.Analysis = ks.analyze([conv], workers=1)
n: int = report.conversations

policy: ks.RedactionPolicy = ks.RedactionPolicy(kinds={"mobile", "address"}, partial=False)
shown: ks.Redaction = ks.redact.redact("电话13812345678", policy, known=("tb1",))
masked: str = shown.text
masked_kinds: list[str] = [span.kind for span in shown.spans]
internal: ks.RedactionPolicy = ks.RedactionPolicy.off()
private_report: ks.Analysis = ks.analyze([conv], redaction=policy, pseudonymize=True)
