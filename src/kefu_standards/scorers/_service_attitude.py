"""3 服务态度: :class:`ServiceAttitudeScorer`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from kefu_standards._signals import Signals
from kefu_standards.evidence import Evidence, ScoreResult

from ._base import RUDE, FromSignals, agent_messages, clip, need_agent, rude_of, signal_field, why

# -- 3 服务态度 -------------------------------------------------------------------


@attrs.frozen(slots=True)
class ServiceAttitudeScorer(FromSignals):
    """服务态度: no banned phrases or harsh tone; greeting and closing.

    A deduction from full marks, with the points of the QC sheets (DOMAIN §4)
    divided by 100: ``score = 1 − 0.15 per banned phrase (服务禁语 −15) − 0.10
    per strong harsh-tone marker (命令/敷衍 −10) − 0.5 per offensive marker −
    0.03 without a greeting (晓多 无欢迎语 −3) − 0.03 without a polite closing
    (晓多 结束语不规范 −3)``, clipped to [0, 1].  Markers come from the
    politeness analyser; harsh-tone markers of weight −0.5 or weaker (a lone ``!``, ``?``, 给我,
    ``这么``) are ignored, and mere absence of courtesy words costs nothing
    (agents on the big platforms are uniformly polite, so it is noise).
    *greeting*: one of the first two agent messages greets (您好, 欢迎, 光临, 服务,
    高兴); *closing*: one of the last three closes politely (感谢, 祝您,
    还有什么可以帮您, 评价).  N/A without an agent message.
    """

    politeness: Callable[[str], Any] | None = signal_field()
    name: str = attrs.field(default="service_attitude", init=False)

    def score_signals(self, sig: Signals, /) -> ScoreResult:
        """Score the conversation of *sig* from its signals (see the class docstring)."""
        view = sig.cues
        if (na := need_agent(view)) is not None:
            return na
        agents = agent_messages(view)
        evidence: list[Evidence] = []
        greet = [
            e for m in agents[:2] if "greeting" in m.kinds for e in m.evidence("greeting", 0.5)
        ]
        close = [e for m in agents[-3:] if "closing" in m.kinds for e in m.evidence("closing", 0.5)]
        evidence += greet[:1] + close[:1]
        counts = dict.fromkeys(RUDE, 0)
        signal = False
        for m in agents:
            p, rude = rude_of(self.politeness, sig, m)
            if p is None:
                continue
            signal = True
            for e in rude:
                counts[e.kind] += 1
                evidence.append(e.at(m.index))
        value = (
            1.0
            - 0.15 * counts["banned_phrase"]
            - 0.10 * counts["harsh_tone"]
            - 0.5 * counts["offensive"]
            - (0.0 if greet else 0.03)
            - (0.0 if close else 0.03)
        )
        details = {"greeting": bool(greet), "closing": bool(close), "politeness": signal, **counts}
        return ScoreResult(clip(value), tuple(evidence), why(evidence), details)
