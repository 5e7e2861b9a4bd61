"""Response-time benchmark: vectorised rounds + per-agent table vs a pure-Python loop.

    python benchmarks/bench_timing.py            # 1,000,000 messages; RSS at 1M vs 10M streamed
    python benchmarks/bench_timing.py --quick    # 200,000 messages; RSS at 200k vs 2M streamed

Input is synthetic chat timing (seeded; there is no timed public dev set: the
shared ``jddc_sat`` has no timestamps): conversations of 5-40 messages with
random roles (buyer 45 %, agent 40 %, bot 8 %, system 7 %), log-normal gaps
(agent replies median 25 s with a heavy tail, buyers 40 s, bots 1 s), starts
spread over 30 days and all hours, 300 agents in 20 shops, 5 % of
conversations transferred to a second agent.

1. speed: rounds plus the per-agent table (count, answered, mean, median, p90,
   p95, max, reply rate, 3-minute rate; policy ``window="08:00-23:00"``,
   ``cap_s=600``) computed (a) by ``TimingSummary.from_columns(...).table()``
   on numpy columns and (b) by a straightforward pure-Python loop over the same
   messages as Python lists, in the same run.  Both must agree: counts, sums,
   max and rates exactly, quantiles within the sketch's documented 1 %.
   The end-to-end path from ``Conversation`` objects is timed too
   (``summarize_response_times`` vs a loop over ``Message`` objects and vs
   ``response_times`` per conversation), and, for reference, the same columns
   under the ``taobao`` preset, whose holder credit takes the general round
   path (``compute_rounds`` + ``group_sums``) instead of the lean one.
2. memory: peak RSS (``ru_maxrss``; ``VmHWM`` in the JSON) of fresh processes,
   started before the parent builds any data, that stream 1M and 10M
   generated messages (a generator of column chunks, never materialised)
   through ``TimingSummary.from_columns`` + ``merge``.

Results are printed and written to ``benchmarks/results/timing.json``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np

from kefu_standards import Conversation, Message, Role
from kefu_standards._quantiles import nearest_rank
from kefu_standards.timing import (
    MessageColumns,
    TimingPolicy,
    TimingSummary,
    iter_columns,
    response_times,
    summarize_response_times,
)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "timing.json"
POLICY = TimingPolicy(window="08:00-23:00", cap_s=600.0)
N_AGENTS, N_SHOPS = 300, 20
T0 = 1_714_492_800_000_000  # 2024-05-01 00:00 +08:00, in microseconds since the epoch
ROLE_NAMES = ("buyer", "agent", "bot", "system")


def generate(n_messages: int, seed: int) -> MessageColumns:
    """About *n_messages* messages of synthetic chats as one column chunk (vectorised)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(5, 41, size=max(1, n_messages // 22 + 1))
    lengths = lengths[: np.searchsorted(np.cumsum(lengths), n_messages) + 1]
    lengths[-1] -= max(0, int(lengths.sum()) - n_messages)
    lengths = lengths[lengths > 0]
    n_conv, n = len(lengths), int(lengths.sum())
    conv = np.repeat(np.arange(n_conv), lengths)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    pos = np.arange(n) - starts[conv]
    role = rng.choice(4, size=n, p=[0.45, 0.40, 0.08, 0.07]).astype(np.int8)
    role[starts] = 0  # conversations open with the buyer
    gap_s = np.select(
        [role == 0, role == 1, role == 2],
        [rng.lognormal(np.log(40), 1.0, n), rng.lognormal(np.log(25), 1.3, n), np.ones(n)],
        2.0,
    )
    gap_us = (gap_s * 1e6).astype(np.int64)
    gap_us[starts] = 0
    begin = T0 + rng.integers(0, 30 * 86_400, n_conv) * 1_000_000
    csum = np.cumsum(gap_us)
    time_us = begin[conv] + csum - csum[starts][conv]
    primary = rng.integers(0, N_AGENTS, n_conv)
    second = rng.integers(0, N_AGENTS, n_conv)
    switch = np.where(rng.random(n_conv) < 0.05, rng.integers(2, 20, n_conv), 10_000)
    agent = np.where(pos >= switch[conv], second[conv], primary[conv])
    sender = np.where(role == 1, agent, np.where(role == 2, N_AGENTS, -1))
    transfer = (role == 3) & (pos == switch[conv] - 1)
    senders = [f"shop{a % N_SHOPS}:agent{a}" for a in range(N_AGENTS)] + ["店小蜜"]
    shops = [f"shop{s}" for s in range(N_SHOPS)]
    return MessageColumns(
        conv=conv,
        role=role,
        time_us=time_us,
        sender=sender,
        transfer=transfer,
        conv_shop=primary % N_SHOPS,
        senders=senders,
        shops=shops,
    )


def baseline(cols: MessageColumns) -> dict[str | None, dict[str, Any]]:
    """The straightforward way: one pure-Python loop over messages, then per-agent stats."""
    conv = cols.conv.tolist()
    role = cols.role.tolist()
    times = cols.time_us.tolist()
    sender = cols.sender.tolist()
    names = cols.senders
    return _baseline_loop(conv, role, times, sender, names)


def _baseline_loop(
    conv: list[int], role: list[int], times: list[int], sender: list[int], names: tuple[str, ...]
) -> dict[str | None, dict[str, Any]]:
    window = (8 * 3600 * 10**6, 23 * 3600 * 10**6)
    offset, day = 8 * 3600 * 10**6, 86_400 * 10**6  # Asia/Shanghai has no DST since 1991
    cap, sla = 600 * 10**6, 180 * 10**6
    acc: dict[str | None, dict[str, Any]] = {}
    current, open_at = -1, None

    def close(agent: str | None, wait: int | None) -> None:
        tod = (open_at + offset) % day  # type: ignore[operator]
        if not window[0] <= tod < window[1]:
            return
        a = acc.setdefault(agent, {"rounds": 0, "answered": 0, "sla": 0, "waits": []})
        a["rounds"] += 1
        if wait is not None:
            a["answered"] += 1
            a["sla"] += wait <= sla
            a["waits"].append(min(wait, cap))

    for c, r, t, s in zip(conv, role, times, sender, strict=True):
        if c != current:
            if open_at is not None:
                close(None, None)
            current, open_at = c, None
        if r == 0:
            if open_at is None:
                open_at = t
        elif r == 1 and open_at is not None:
            close(names[s] if s >= 0 else None, t - open_at)
            open_at = None
    if open_at is not None:
        close(None, None)
    return _stats(acc)


def _stats(acc: dict[str | None, dict[str, Any]]) -> dict[str | None, dict[str, Any]]:
    out = {}
    for agent, a in acc.items():
        w = sorted(a["waits"])
        n = len(w)
        out[agent] = {
            "rounds": a["rounds"],
            "answered": a["answered"],
            "sum_us": sum(w),
            "max_us": w[-1] if w else None,
            "sla_rate": a["sla"] / a["rounds"],
            "reply_rate": a["answered"] / a["rounds"],
            **{q: (w[nearest_rank(p, n) - 1] / 1e6 if n else None) for q, p in QS},
        }
    return out


QS = (("median_s", 0.5), ("p90_s", 0.9), ("p95_s", 0.95))


def vectorised(cols: MessageColumns) -> Any:
    """Rounds and the per-agent table through the numpy path."""
    return TimingSummary.from_columns(cols, ("agent",), POLICY).table()


def check_same(table: Any, ref: dict[str | None, dict[str, Any]]) -> float:
    """Assert that both paths agree; return the largest relative quantile error."""
    rows = {r["agent"]: r for r in table.rows()}
    assert set(rows) == set(ref), "different agents"
    worst = 0.0
    sums = dict(zip(table["agent"], table.summary.sum_us.tolist(), strict=True))
    maxes = dict(zip(table["agent"], table.summary.max_us.tolist(), strict=True))
    for agent, r in ref.items():
        got = rows[agent]
        assert (got["rounds"], got["answered"]) == (r["rounds"], r["answered"]), agent
        assert sums[agent] == r["sum_us"], agent
        if r["max_us"] is not None:
            assert maxes[agent] == r["max_us"], agent
        assert got["sla_rate"] == r["sla_rate"], agent
        assert got["reply_rate"] == r["reply_rate"], agent
        for q, _ in QS:
            if r[q] is None:
                assert got[q] is None
                continue
            err = abs(got[q] - r[q]) / r[q] if r[q] else abs(got[q])
            assert err <= 0.01 + 1e-12 or abs(got[q] - r[q]) <= 0.01, (agent, q, got[q], r[q])
            worst = max(worst, err)
    return worst


def best_of(fn: Any, arg: Any, repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(arg)
        best = min(best, time.perf_counter() - t0)
    return best, out


def to_conversations(cols: MessageColumns) -> list[Conversation]:
    """The same messages as ``Conversation`` objects (for the end-to-end comparison)."""
    conv, role, times = cols.conv.tolist(), cols.role.tolist(), cols.time_us.tolist()
    sender, names = cols.sender.tolist(), cols.senders
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc).astimezone(timezone(timedelta(hours=8)))
    out: list[Conversation] = []
    msgs: list[Message] = []
    current = 0
    transfer = cols.transfer.tolist()
    for c, r, t, s, tr in zip(conv, role, times, sender, transfer, strict=True):
        if c != current:
            out.append(Conversation(id=str(current), messages=tuple(msgs)))
            msgs, current = [], c
        text = "由 A 转交给 B" if tr else "x"
        msgs.append(
            Message(
                role=ROLE_NAMES[r],
                text=text,
                sent_at=epoch + timedelta(microseconds=t),
                sender=None if s < 0 else names[s],
            )
        )
    out.append(Conversation(id=str(current), messages=tuple(msgs)))
    return out


def object_loop(convs: list[Conversation]) -> dict[str | None, dict[str, Any]]:
    """The straightforward way on ``Conversation`` objects: loop over messages, datetimes."""
    tz = timezone(timedelta(hours=8))
    one_us = timedelta(microseconds=1)
    acc: dict[str | None, dict[str, Any]] = {}

    def close(open_at: datetime, agent: str | None, wait: int | None) -> None:
        if not 8 <= open_at.astimezone(tz).hour < 23:
            return
        a = acc.setdefault(agent, {"rounds": 0, "answered": 0, "sla": 0, "waits": []})
        a["rounds"] += 1
        if wait is not None:
            a["answered"] += 1
            a["sla"] += wait <= 180 * 10**6
            a["waits"].append(min(wait, 600 * 10**6))

    for c in convs:
        open_at = None
        for m in c.messages:
            if m.role is Role.BUYER:
                if open_at is None:
                    open_at = m.sent_at
            elif m.role is Role.AGENT and open_at is not None:
                close(open_at, m.sender, (m.sent_at - open_at) // one_us)  # type: ignore[operator]
                open_at = None
        if open_at is not None:
            close(open_at, None, None)
    return _stats(acc)


def per_conversation(convs: list[Conversation]) -> int:
    """The scalar path: response_times() on every conversation."""
    return sum(response_times(c, POLICY).n_rounds for c in convs)


def stream_chunks(n_messages: int, chunk: int) -> Iterator[MessageColumns]:
    done, seed = 0, 1000
    while done < n_messages:
        size = min(chunk, n_messages - done)
        yield generate(size, seed)
        done, seed = done + size, seed + 1


def stream_main(n_messages: int, by: tuple[str, ...]) -> None:
    """Child process: stream *n_messages* through the aggregate path; print JSON."""
    t0 = time.perf_counter()
    summary = TimingSummary.empty(by, POLICY)
    seen = 0
    for cols in stream_chunks(n_messages, 250_000):
        summary = summary.merge(TimingSummary.from_columns(cols, by, POLICY))
        seen += len(cols.conv)
    table = summary.table()
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    hwm_kib = None
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                hwm_kib = int(line.split()[1])
    print(
        json.dumps(
            {
                "messages": seen,
                "by": list(by),
                "hist_entries": len(summary.hist_key),
                "groups": len(table),
                "rounds": int(table["rounds"].sum()),
                "seconds": time.perf_counter() - t0,
                "peak_rss_mib": rss_kib / 1024,
                "vm_hwm_mib": None if hwm_kib is None else hwm_kib / 1024,
            }
        )
    )


def run_child(n: int, by: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--stream", str(n), "--by", by],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="200k messages, 2M streamed")
    parser.add_argument("--stream", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--by", default="agent", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stream:
        stream_main(args.stream, tuple(args.by.split(",")))
        return
    # memory first, while this process is small: on Linux a child's ru_maxrss
    # starts from the parent's resident size at fork time
    small, large = (200_000, 2_000_000) if args.quick else (1_000_000, 10_000_000)
    streams = [run_child(size, by) for by in ("agent", "agent,day") for size in (small, large)]

    n = 200_000 if args.quick else 1_000_000
    cols = generate(n, seed=7)
    print(f"bench_timing: {len(cols.conv):,} messages, {cols.n_conversations:,} conversations")

    t_vec, table = best_of(vectorised, cols, 10)
    lists = (cols.conv.tolist(), cols.role.tolist(), cols.time_us.tolist(), cols.sender.tolist())
    t_py, ref = best_of(lambda a: _baseline_loop(*a, cols.senders), lists, 5)
    worst = check_same(table, ref)
    taobao = TimingPolicy.preset("taobao")
    t_taobao, _ = best_of(
        lambda c: TimingSummary.from_columns(c, ("agent",), taobao).table(), cols, 5
    )

    convs = to_conversations(cols)
    t_cols, _ = best_of(lambda c: sum(len(x.conv) for x in iter_columns(c)), convs, 1)
    t_e2e, table2 = best_of(lambda c: summarize_response_times(c, ("agent",), POLICY), convs, 1)
    assert table2.to_dict() == table.to_dict(), "Conversation path differs from columns path"
    t_obj, ref_obj = best_of(object_loop, convs, 1)
    assert ref_obj == ref, "object loop differs from list loop"
    t_scalar, n_rounds = best_of(per_conversation, convs, 1)
    assert n_rounds == int(table["rounds"].sum())
    del convs

    results = {
        "messages": len(cols.conv),
        "conversations": cols.n_conversations,
        "rounds_counted": int(table["rounds"].sum()),
        "agents": len(table),
        "vectorised_s": t_vec,
        "pure_python_loop_s": t_py,
        "speedup": t_py / t_vec,
        "max_quantile_rel_error": worst,
        "taobao_preset_general_path_s": t_taobao,
        "taobao_preset_vs_loop": t_py / t_taobao,
        "iter_columns_s": t_cols,
        "object_loop_s": t_obj,
        "speedup_vs_object_loop": t_obj / t_vec,
        "end_to_end_summarize_s": t_e2e,
        "end_to_end_vs_object_loop": t_obj / t_e2e,
        "end_to_end_response_times_loop_s": t_scalar,
        "end_to_end_speedup": t_scalar / t_e2e,
        "streams": streams,
        "rss_ratio_large_vs_small_by_agent": streams[1]["peak_rss_mib"]
        / streams[0]["peak_rss_mib"],
        "rss_ratio_large_vs_small_by_agent_day": streams[3]["peak_rss_mib"]
        / streams[2]["peak_rss_mib"],
    }
    print()
    print(f"{'what':58} {'seconds':>9} {'ratio':>8}")
    print(f"{'pure-Python loop over messages (rounds + per-agent)':58} {t_py:9.3f} {'1.00x':>8}")
    print(f"{'vectorised columns (compute_rounds + table)':58} {t_vec:9.3f} {t_py / t_vec:7.1f}x")
    label = "  same columns, taobao preset (general round path)"
    print(f"{label:58} {t_taobao:9.3f} {t_py / t_taobao:7.1f}x")
    print(f"{'pure-Python loop over Message objects (datetimes)':58} {t_obj:9.3f} {'':>8}")
    print(f"{'  vectorised columns vs this loop':58} {'':9} {t_obj / t_vec:7.1f}x")
    label = "  of which iter_columns (Conversations -> columns)"
    print(f"{label:58} {t_cols:9.3f} {t_obj / t_cols:7.1f}x")
    label = "  summarize_response_times(Conversations) vs this loop"
    print(f"{label:58} {t_e2e:9.3f} {t_obj / t_e2e:7.1f}x")
    print(f"{'response_times() per Conversation (scalar API)':58} {t_scalar:9.3f} {'1.00x':>8}")
    ratio = t_scalar / t_e2e
    print(f"{'summarize_response_times(Conversations) (end to end)':58} {t_e2e:9.3f} {ratio:7.1f}x")
    print(f"both paths agree; largest quantile relative error {worst:.4%}")
    print()
    print(f"{'by':>10} {'streamed messages':>18} {'groups':>7} {'seconds':>8} {'peak RSS MiB':>13}")
    for r in streams:
        by = ",".join(r["by"])
        print(
            f"{by:>10} {r['messages']:18,} {r['groups']:7,} {r['seconds']:8.1f}"
            f" {r['peak_rss_mib']:13.1f}"
        )
    for key in ("by_agent", "by_agent_day"):
        ratio = results[f"rss_ratio_large_vs_small_{key}"]
        print(f"peak RSS ratio {large:,} vs {small:,} messages, {key}: {ratio:.3f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
