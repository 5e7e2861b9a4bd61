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

The buyer's **topic** (the top label of :func:`kefu_standards.topics`) is a
signal too: for each topic, the share of bad chats about it is compared with
the share of the other chats (difference of proportions, Wald 95 % interval
from the exact counts).

The per-conversation signals are the analysis' own numbers
(:func:`~kefu_standards.outcomes._diagsums.signal_values` of each
``ConversationResult``), handed to the join in the same pass
(``analyze(..., on_result=join.add)``).  They are reduced while joining to
bounded, mergeable accumulators (:class:`~kefu_standards.outcomes.DiagnosisSums`):
the means and counts are exact; the bootstrap interval and Cliff's delta are
computed on a bounded sample of at most
:data:`~kefu_standards.outcomes._diagsums.SAMPLE_SIZE` chats per side (all of
them while a side has no more), chosen by a hash of the conversation id, so the
result does not depend on how the input was ordered or partitioned.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import numpy as np

from ._diagsums import OUTCOMES, SideSums
from ._join import OutcomeResult

__all__ = ["Finding", "diagnose"]

#: Signals compared: signal name -> (label in sentences, compared by ratio?).
SIGNALS: Mapping[str, tuple[str, bool]] = {
    "first_response_s": ("first wait", True),
    "mean_response_s": ("mean wait", True),
    "unanswered": ("unanswered rounds", False),
    "impolite_messages": ("impolite replies", False),
    "politeness": ("politeness", False),
    "escalation": ("escalation risk", False),
    "total": ("competency total", False),
}

_BOOT = 1000
_MIN_N = 3
#: Rounding noise of float means (equal groups must not "differ" by 1e-16).
_EPS = 1e-9
#: z of a two-sided 95 % normal interval (topic shares).
_Z95 = 1.959963984540054


@attrs.frozen
class Finding:
    """One comparison: a group's bad chats against the rest on one signal.

    ``n_bad``/``n_rest`` count the chats with the signal and ``mean_bad``/
    ``mean_rest`` are their exact means; ``effect`` is the ratio (waits) or
    difference of the means, ``low``/``high`` its 95 % interval, ``delta``
    Cliff's delta; ``differs`` whether the interval excludes no difference.
    ``sampled_bad``/``sampled_rest`` say how many chats the bootstrap interval
    and Cliff's delta were computed on (the bounded sample; equal to the counts
    when every chat was kept).  A topic signal (``topic:<label>``) compares the
    share of chats about that topic; its interval is the Wald interval of the
    difference of the two shares, from the exact counts.

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
    sampled_bad: int = 0
    sampled_rest: int = 0

    def sentence(self) -> str:
        """Say the finding in one plain sentence with its numbers."""
        rest = OUTCOMES[self.outcome][2]
        who = "The shop's" if self.group == "*" else f"{self.group}'s"
        size = _size(self.delta)
        if self.signal.startswith("topic:"):
            more = "more" if self.effect > 0 else "less"
            return (
                f"{who} {self.outcome} chats (n={self.n_bad}) were about "
                f"{self.signal.removeprefix('topic:')} {more} often than {rest} "
                f"(n={self.n_rest}; {100 * self.mean_bad:.0f} % vs {100 * self.mean_rest:.0f} %; "
                f"95 % CI {100 * self.low:+.0f} to {100 * self.high:+.0f} points)."
            )
        label = _label(self.signal)
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


def _label(signal: str) -> str:
    return SIGNALS.get(signal, (signal.removeprefix("dim:"), False))[0]


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


def _bootstrap(
    a: np.ndarray[Any, Any], b: np.ndarray[Any, Any], ratio: bool, rng: np.random.Generator
) -> tuple[float, float] | None:
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
    return float(low), float(high)


def _signal_finding(
    group: str, outcome: str, name: str, *, bad: SideSums, rest: SideSums, rng: np.random.Generator
) -> Finding | None:
    n_bad, n_rest = bad.n.get(name, 0), rest.n.get(name, 0)
    mean_bad, mean_rest = bad.mean(name), rest.mean(name)
    if n_bad < _MIN_N or n_rest < _MIN_N or mean_bad is None or mean_rest is None:
        return None
    a, b = bad.sampled(name), rest.sampled(name)
    if len(a) < _MIN_N or len(b) < _MIN_N:
        return None
    ratio = SIGNALS.get(name, ("", False))[1]
    if ratio and (mean_bad <= 0 or mean_rest <= 0 or a.mean() <= 0 or b.mean() <= 0):
        return None
    interval = _bootstrap(a, b, ratio, rng)
    if interval is None:
        return None
    low, high = interval
    neutral = 1.0 if ratio else 0.0
    return Finding(
        group=group,
        outcome=outcome,
        signal=name,
        n_bad=n_bad,
        n_rest=n_rest,
        mean_bad=mean_bad,
        mean_rest=mean_rest,
        ratio=ratio,
        effect=mean_bad / mean_rest if ratio else mean_bad - mean_rest,
        low=low,
        high=high,
        delta=_cliffs_delta(a, b),
        differs=not low - _EPS <= neutral <= high + _EPS,
        sampled_bad=len(a),
        sampled_rest=len(b),
    )


def _topic_finding(
    group: str, outcome: str, topic: str, bad: SideSums, rest: SideSums
) -> Finding | None:
    k_bad, k_rest = bad.topics.get(topic, 0), rest.topics.get(topic, 0)
    if k_bad + k_rest < _MIN_N:
        return None
    p1, p2 = k_bad / bad.chats, k_rest / rest.chats
    diff = p1 - p2
    half = _Z95 * math.sqrt(p1 * (1 - p1) / bad.chats + p2 * (1 - p2) / rest.chats)
    return Finding(
        group=group,
        outcome=outcome,
        signal=f"topic:{topic}",
        n_bad=bad.chats,
        n_rest=rest.chats,
        mean_bad=p1,
        mean_rest=p2,
        ratio=False,
        effect=diff,
        low=diff - half,
        high=diff + half,
        delta=diff,  # Cliff's delta of two 0/1 samples is the difference of the shares
        differs=not diff - half - _EPS <= 0.0 <= diff + half + _EPS,
        sampled_bad=bad.chats,
        sampled_rest=rest.chats,
    )


def diagnose(result: OutcomeResult, *, seed: int = 0) -> tuple[Finding, ...]:
    """Compare the bad chats with the rest, for the shop (group ``"*"``) and each agent.

    Reads the join's bounded accumulators (``result.sums``, fed with the
    analysis' signals of each joined chat).  Groups with fewer than 3 chats on
    either side are skipped.  Findings come in a stable order (group, outcome,
    signal, then topics).

    .. versionadded:: 0.2.0
    """
    rng = np.random.default_rng(seed)
    out: list[Finding] = []
    sums = result.sums
    groups = sorted({g for g, _, _ in sums.sides}, key=lambda g: (g != "*", g))
    for group in groups:
        for outcome in OUTCOMES:
            bad = sums.sides.get((group, outcome, "bad"))
            rest = sums.sides.get((group, outcome, "rest"))
            if bad is None or rest is None or bad.chats < _MIN_N or rest.chats < _MIN_N:
                continue
            names = sorted(set(bad.n) | set(rest.n), key=_signal_order)
            for name in names:
                found = _signal_finding(group, outcome, name, bad=bad, rest=rest, rng=rng)
                if found is not None:
                    out.append(found)
            for topic in sorted(set(bad.topics) | set(rest.topics)):
                found = _topic_finding(group, outcome, topic, bad, rest)
                if found is not None:
                    out.append(found)
    return tuple(out)


def _signal_order(name: str) -> tuple[int, str]:
    keys = list(SIGNALS)
    return (keys.index(name), name) if name in keys else (len(keys), name)


def cause_sentences(result: OutcomeResult) -> list[str]:
    """Say, per outcome, how many bad chats carry product-side or service-side buyer words."""
    out = []
    for outcome in OUTCOMES:
        bad = result.sums.sides.get(("*", outcome, "bad"))
        if bad is None or not bad.chats:
            continue
        out.append(
            f"Of {bad.chats} {outcome} chats, {bad.product} carry product or delivery words "
            f"(质量, 尺码, 破损, 物流 …) and {bad.service} service words (态度, 人呢, 不回 …) "
            "in the buyer's messages."
        )
    return out


def summary_sentences(findings: Iterable[Finding], result: OutcomeResult) -> list[str]:
    """Plain sentences: each difference found, then what does not differ, then causes.

    Topics that do not differ are not listed (there are many).
    """
    findings = list(findings)
    out = [f.sentence() for f in findings if f.differs]
    same: dict[tuple[str, str], list[str]] = {}
    for f in findings:
        if not f.differs and not f.signal.startswith("topic:"):
            same.setdefault((f.group, f.outcome), []).append(_label(f.signal))
    for (group, outcome), labels in same.items():
        who = "the shop's" if group == "*" else f"{group}'s"
        out.append(
            f"For {who} {outcome} chats, {', '.join(labels)} do not differ from the rest "
            "(95 % CI includes no difference)."
        )
    return out + cause_sentences(result)
