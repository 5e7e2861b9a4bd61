"""Diagnosis: how the chats that ended badly differ from the rest, on measured signals.

For the shop as a whole and for each agent, the conversations that ended
**dissatisfied** are compared with the other *rated* conversations, and those
that ended **refunded** or **disputed** with the other conversations that led
to a paid order (the comparable populations).  Each measured signal (first and
mean wait, unanswered rounds, impolite replies, politeness, escalation risk,
the competency total and each of the nine dimensions) gets:

- the mean in each group and, for waits, their **ratio** (how many times
  longer the bad chats waited), else their **difference**;
- **Cliff's delta**, a rank effect size in [-1, 1] that skewed waits do not
  distort (|δ| < 0.147 negligible, < 0.33 small, < 0.474 medium, else large;
  Romano et al. 2006);
- a **bootstrap 95 % interval** of the ratio or difference (percentile method,
  seeded, so the report is reproducible).

A finding is reported as a plain sentence only when its interval excludes "no
difference" (1 for ratios, 0 for differences); the others are summarised as
"does not differ".  The buyer's own words tell product-side causes (质量, 尺码,
破损, 物流 …) from service-side ones (态度, 人呢, 不回 …): the share of bad
chats with each kind of cue is reported next to the signals.

The per-conversation signals come from ``analyze``'s results stream (the
records of ``results.jsonl``), so the diagnosis needs no second pass over the
chats: :class:`SignalSink` collects them while ``analyze`` writes.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterable, Mapping
from typing import IO, Any

import attrs
import numpy as np

from ._join import ChatStub, OutcomeResult

__all__ = ["Finding", "SignalSink", "diagnose"]

#: Signals compared: record key -> (label in sentences, compared by ratio?).
SIGNALS: Mapping[str, tuple[str, bool]] = {
    "first_response_s": ("first wait", True),
    "mean_response_s": ("mean wait", True),
    "unanswered": ("unanswered rounds", False),
    "impolite_messages": ("impolite replies", False),
    "politeness": ("politeness", False),
    "escalation": ("escalation risk", False),
    "total": ("competency total", False),
}

#: Outcome compared -> (flag, population flag, words used in sentences).
OUTCOMES: Mapping[str, tuple[str, str, str]] = {
    "dissatisfied": ("dissatisfied", "rated", "the other rated chats"),
    "refunded": ("refunded", "ordered", "the other chats that led to a paid order"),
    "disputed": ("disputed", "ordered", "the other chats that led to a paid order"),
}

_BOOT = 1000
_MIN_N = 3
#: Rounding noise of float means (equal groups must not "differ" by 1e-16).
_EPS = 1e-9


def _row(record: Mapping[str, Any]) -> tuple[str, dict[str, float | None]]:
    values: dict[str, float | None] = {}
    for key in ("first_response_s", "mean_response_s", "impolite_messages", "politeness"):
        values[key] = _num(record.get(key))
    values["escalation"] = _num(record.get("escalation"))
    values["total"] = _num(record.get("total"))
    rounds, answered = _num(record.get("rounds")), _num(record.get("answered"))
    values["unanswered"] = None if rounds is None or answered is None else rounds - answered
    for name, score in (record.get("dimensions") or {}).items():
        values[f"dim:{name}"] = _num(score)
    return str(record.get("id")), values


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return None if math.isnan(value) else float(value)


class SignalSink(io.TextIOBase):
    """A text stream for ``analyze(results=...)`` that keeps each conversation's signals.

    Lines written are JSON records (``ConversationResult.to_record()``); each is
    reduced to a few numbers keyed by conversation id and, if *forward* is
    given, also written there (so ``results.jsonl`` is still produced).

    .. versionadded:: 0.2.0
    """

    def __init__(self, forward: IO[str] | None = None) -> None:
        super().__init__()
        self.forward = forward
        self.signals: dict[str, dict[str, float | None]] = {}
        self._partial = ""

    def writable(self) -> bool:
        """Return ``True``: this stream is written to."""
        return True

    def write(self, text: str) -> int:
        """Take *text* (whole or partial lines); keep the signals of each complete line."""
        if self.forward is not None:
            self.forward.write(text)
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            if line.strip():
                key, values = _row(json.loads(line))
                self.signals[key] = values
        return len(text)


@attrs.frozen
class Finding:
    """One comparison: a group's bad chats against the rest on one signal.

    ``effect`` is the ratio (waits) or difference of the means, ``low``/``high``
    its bootstrap 95 % interval, ``delta`` Cliff's delta; ``differs`` whether
    the interval excludes no difference.

    .. versionadded:: 0.2.0
    """

    group: str
    outcome: str
    signal: str
    n_bad: int
    n_rest: int
    mean_bad: float
    mean_rest: float
    ratio: bool
    effect: float
    low: float
    high: float
    delta: float
    differs: bool

    def sentence(self) -> str:
        """Say the finding in one plain sentence with its numbers."""
        label = SIGNALS.get(self.signal, (self.signal.removeprefix("dim:"), False))[0]
        rest = OUTCOMES[self.outcome][2]
        who = "The shop's" if self.group == "*" else f"{self.group}'s"
        size = _size(self.delta)
        if self.ratio:
            how = (
                f"{self.effect:.1f}× longer"
                if self.effect >= 1
                else f"{1 / self.effect:.1f}× shorter"
            )
            what = f"had a {how} {label}" if label != "mean wait" else f"waited {how} (mean wait)"
            ci = f"95 % CI {self.low:.1f}–{self.high:.1f}×"
        else:
            direction = "higher" if self.effect > 0 else "lower"
            what = f"had {label} {abs(self.effect):.2f} {direction}"
            ci = f"95 % CI {self.low:+.2f} to {self.high:+.2f}"
        return (
            f"{who} {self.outcome} chats (n={self.n_bad}) {what} than {rest} "
            f"(n={self.n_rest}; {self.mean_bad:.2f} vs {self.mean_rest:.2f}; {ci}; "
            f"Cliff's δ {self.delta:+.2f}, {size})."
        )


def _size(delta: float) -> str:
    d = abs(delta)
    if d < 0.147:
        return "negligible"
    if d < 0.33:
        return "small"
    if d < 0.474:
        return "medium"
    return "large"


def _cliffs_delta(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> float:
    greater = (a[:, None] > b[None, :]).sum()
    less = (a[:, None] < b[None, :]).sum()
    return float(greater - less) / (len(a) * len(b))


def _compare(
    bad: list[float], rest: list[float], ratio: bool, rng: np.random.Generator
) -> tuple[float, float, float, float] | None:
    a, b = np.asarray(bad, float), np.asarray(rest, float)
    if ratio and (a.mean() <= 0 or b.mean() <= 0):
        return None
    effect = a.mean() / b.mean() if ratio else a.mean() - b.mean()
    ia = rng.integers(0, len(a), (_BOOT, len(a)))
    ib = rng.integers(0, len(b), (_BOOT, len(b)))
    ma, mb = a[ia].mean(axis=1), b[ib].mean(axis=1)
    if ratio:
        ok = mb > 0
        stats = ma[ok] / mb[ok]
    else:
        stats = ma - mb
    if len(stats) == 0:
        return None
    low, high = np.percentile(stats, [2.5, 97.5])
    return float(effect), float(low), float(high), _cliffs_delta(a, b)


def diagnose(
    result: OutcomeResult,
    signals: Mapping[str, Mapping[str, float | None]],
    *,
    seed: int = 0,
) -> tuple[Finding, ...]:
    """Compare the bad chats with the rest, for the shop (group ``"*"``) and each agent.

    *signals* maps conversation id to its measured signals (see
    :class:`SignalSink`).  Groups with fewer than 3 chats on either side are
    skipped.  Findings come in a stable order (group, outcome, signal).

    .. versionadded:: 0.2.0
    """
    rng = np.random.default_rng(seed)
    out: list[Finding] = []
    stubs: Mapping[str, ChatStub] = result.stubs
    groups: dict[str, list[str]] = {"*": sorted(result.flags)}
    for cid in sorted(result.flags):
        for agent in stubs[cid].agents if cid in stubs else ():
            groups.setdefault(agent, []).append(cid)
    names = sorted({k for v in signals.values() for k in v}, key=_signal_order)
    for group in sorted(groups, key=lambda g: (g != "*", g)):
        ids = groups[group]
        for outcome, (flag, population, _) in OUTCOMES.items():
            pop = [c for c in ids if population in result.flags[c] and c in signals]
            bad_ids = [c for c in pop if flag in result.flags[c]]
            rest_ids = [c for c in pop if flag not in result.flags[c]]
            if len(bad_ids) < _MIN_N or len(rest_ids) < _MIN_N:
                continue
            for name in names:
                ratio = SIGNALS.get(name, ("", False))[1]
                bad = [v for c in bad_ids if (v := signals[c].get(name)) is not None]
                rest = [v for c in rest_ids if (v := signals[c].get(name)) is not None]
                if len(bad) < _MIN_N or len(rest) < _MIN_N:
                    continue
                got = _compare(bad, rest, ratio, rng)
                if got is None:
                    continue
                effect, low, high, delta = got
                neutral = 1.0 if ratio else 0.0
                out.append(
                    Finding(
                        group=group,
                        outcome=outcome,
                        signal=name,
                        n_bad=len(bad),
                        n_rest=len(rest),
                        mean_bad=float(np.mean(bad)),
                        mean_rest=float(np.mean(rest)),
                        ratio=ratio,
                        effect=effect,
                        low=low,
                        high=high,
                        delta=delta,
                        differs=not low - _EPS <= neutral <= high + _EPS,
                    )
                )
    return tuple(out)


def _signal_order(name: str) -> tuple[int, str]:
    keys = list(SIGNALS)
    return (keys.index(name), name) if name in keys else (len(keys), name)


def cause_sentences(result: OutcomeResult) -> list[str]:
    """Say, per outcome, how many bad chats carry product-side or service-side buyer words."""
    out = []
    for outcome, (flag, _, _) in OUTCOMES.items():
        bad = [result.stubs[c] for c, f in sorted(result.flags.items()) if flag in f]
        bad = [s for s in bad if s is not None]
        if not bad:
            continue
        product = sum(1 for s in bad if s.product_cues)
        service = sum(1 for s in bad if s.service_cues)
        out.append(
            f"Of {len(bad)} {outcome} chats, {product} carry product or delivery words "
            f"(质量, 尺码, 破损, 物流 …) and {service} service words (态度, 人呢, 不回 …) "
            "in the buyer's messages."
        )
    return out


def summary_sentences(findings: Iterable[Finding], result: OutcomeResult) -> list[str]:
    """Plain sentences: each difference found, then what does not differ, then causes."""
    findings = list(findings)
    out = [f.sentence() for f in findings if f.differs]
    same: dict[tuple[str, str], list[str]] = {}
    for f in findings:
        if not f.differs:
            label = SIGNALS.get(f.signal, (f.signal.removeprefix("dim:"), False))[0]
            same.setdefault((f.group, f.outcome), []).append(label)
    for (group, outcome), labels in same.items():
        who = "the shop's" if group == "*" else f"{group}'s"
        out.append(
            f"For {who} {outcome} chats, {', '.join(labels)} do not differ from the rest "
            "(95 % CI includes no difference)."
        )
    return out + cause_sentences(result)
