"""Per-call speed against a baseline, one call per distinct text, measured in the same run.

:func:`single_calls` times ``ours(text)`` and ``baseline(text)`` on the same texts in
interleaved rounds.  Every round takes texts no earlier round used, and ``reset()``
(e.g. clearing the analyser's cache) runs before it, so no cache can answer: this
is the cost of a script that calls the function once per new message.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any


def single_calls(
    ours: Callable[[str], object],
    baseline: Callable[[str], object],
    texts: Sequence[str],
    *,
    rounds: int = 5,
    per_round: int = 300,
    seed: int = 0,
    reset: Callable[[], object] = lambda: None,
) -> dict[str, Any]:
    """Return per-call microseconds of *ours* and *baseline* and their ratio.

    ``ours_us`` / ``baseline_us`` are the fastest round of each (a burst of load on a
    shared machine slows a round, never speeds it up); ``ratio`` is their quotient and
    ``ratio_median`` the median of the per-round ratios (each round times both on
    the same texts, back to back).
    """
    distinct = list(dict.fromkeys(t for t in texts if t.strip()))
    random.Random(seed).shuffle(distinct)
    rounds = min(rounds, len(distinct) // per_round)
    if rounds < 1:
        msg = f"need at least {per_round} distinct texts, got {len(distinct)}"
        raise ValueError(msg)
    ours_s: list[float] = []
    base_s: list[float] = []
    for r in range(rounds):
        chunk = distinct[r * per_round : (r + 1) * per_round]
        reset()
        t0 = time.perf_counter()
        for t in chunk:
            ours(t)
        ours_s.append((time.perf_counter() - t0) / len(chunk))
        t0 = time.perf_counter()
        for t in chunk:
            baseline(t)
        base_s.append((time.perf_counter() - t0) / len(chunk))
    used = distinct[: rounds * per_round]
    return {
        "rounds": rounds,
        "texts_per_round": per_round,
        "mean_chars": sum(map(len, used)) / len(used),
        "ours_us": min(ours_s) * 1e6,
        "baseline_us": min(base_s) * 1e6,
        "ratio": min(base_s) / min(ours_s),
        "ratio_median": statistics.median(b / o for b, o in zip(base_s, ours_s, strict=True)),
        "ours_us_rounds": [x * 1e6 for x in ours_s],
        "baseline_us_rounds": [x * 1e6 for x in base_s],
    }
