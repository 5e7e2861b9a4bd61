"""A seeded multi-week team stream for the trends section, and its memory check.

The stream is synthetic and written for this project (no third-party text):
9 agents in 3 shops over 13 ISO weeks from Monday 2024-03-04 (Asia/Shanghai),
conversations opening between 09:00 and 23:00.  Each agent follows its own
trajectory, so the trends have something to show: the median wait of agent k
drifts linearly from ``START_WAIT[k]`` to ``END_WAIT[k]`` seconds over the 13
weeks (log-normal, sigma 0.9), and the share of curt replies drifts from
``START_CURT[k]`` to ``END_CURT[k]``.  Buyers' lines, polite replies and curt
replies are drawn from small template lists below.

``write`` also writes seeded outcome files beside the chats (``ratings.csv``,
``orders.csv``, ``refunds.csv``, the layouts ``kefu-standards analyze --ratings
… --orders … --refunds …`` reads): a rating for about 30 % of the chats, an
order for about 25 %, a refund for about 8 % of the paid orders; each agent's
satisfaction and conversion drift with its wait and curtness over the weeks.

Usage (from the repo root)::

    python benchmarks/bench_trends.py write --out /tmp/team.jsonl   # 492k messages
    python benchmarks/bench_trends.py rss --messages 100000         # peak RSS of analyze
    python benchmarks/bench_trends.py compare                        # 100k vs 400k

``rss`` runs :func:`kefu_standards.analyze` on the stream generated on the fly
(never materialised) and prints the peak RSS (``resource.getrusage``) and the
number of trend rows; ``compare`` runs it in two fresh subprocesses.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import resource
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

TZ = timezone(timedelta(hours=8))
START = datetime(2024, 3, 4, tzinfo=TZ)  # a Monday: ISO week 2024-W10
WEEKS = 13
SHOPS = ("青禾家电专营店", "暖屿家纺旗舰店", "京选数码旗舰店")
NAMES = ("小美", "阿珍", "大壮", "小林", "婷婷", "阿杰", "小雨", "老王", "晓峰")
#: median agent wait (s) in week 1 and week 13, per agent
START_WAIT = (58, 25, 40, 90, 30, 35, 120, 20, 45)
END_WAIT = (31, 25, 60, 45, 28, 20, 70, 22, 80)
#: share of curt replies in week 1 and week 13, per agent
START_CURT = (0.10, 0.02, 0.05, 0.15, 0.03, 0.08, 0.20, 0.01, 0.05)
END_CURT = (0.03, 0.02, 0.12, 0.05, 0.03, 0.02, 0.08, 0.01, 0.15)
BUYER_WAIT = (40.0, 1.0)
AGENT_SIGMA = 0.9

BUYER = (
    "在吗？这个有现货吗",
    "什么时候发货呀",
    "发什么快递",
    "我的快递三天了还没动",
    "尺码偏大还是偏小",
    "可以便宜点吗",
    "怎么申请退款",
    "收到的东西坏了，怎么处理",
    "再不处理我就投诉了",
    "好的谢谢",
    "颜色和图片不一样啊",
    "能开发票吗",
)
POLITE = (
    "亲，您好，有现货的哦，今天下单今天发",
    "亲，默认发中通快递，一般2-3天到",
    "非常抱歉给您带来不便，我马上帮您查一下物流",
    "亲，建议您选大一码哦",
    "亲，您可以在订单页面点击申请退款，我们会尽快处理",
    "不好意思让您久等了，已经为您登记补发",
    "好的亲，感谢您的支持，祝您生活愉快",
    "亲，可以开发票的，请留下抬头和税号",
)
CURT = (
    "自己看详情页",
    "不知道",
    "你自己去问快递",
    "没办法",
    "说了多少遍了",
)


def _agents() -> list[tuple[str, str]]:
    """(shop, sender) of the 9 agents, 3 per shop."""
    return [(SHOPS[k // 3], f"{SHOPS[k // 3]}:{NAMES[k]}") for k in range(len(NAMES))]


def stream(n_messages: int, seed: int = 20240304) -> Iterator[Any]:
    """Yield Conversations until about *n_messages* messages (seeded, lazy, time-ordered)."""
    from kefu_standards.model import Conversation, Message, Role

    rng = random.Random(seed)
    agents = _agents()
    days = WEEKS * 7
    # conversations are spread evenly over the days, in time order
    per_conv = 7.0  # 2-5 turns of one buyer and one agent line: 7 lines on average
    n_conv = max(1, round(n_messages / per_conv))
    produced = 0
    for seq in range(n_conv):
        if produced >= n_messages:
            return
        day = seq * days // n_conv
        frac = day / (days - 1)
        k = rng.randrange(len(agents))
        shop, agent = agents[k]
        median = START_WAIT[k] + (END_WAIT[k] - START_WAIT[k]) * frac
        curt = START_CURT[k] + (END_CURT[k] - START_CURT[k]) * frac
        t = START + timedelta(days=day, seconds=rng.uniform(9 * 3600, 23 * 3600))
        buyer = f"tb_买家{rng.randrange(1_000_000):06d}"
        messages = []
        for turn in range(rng.randint(2, 5)):
            if turn:
                t += timedelta(seconds=round(rng.lognormvariate(math.log(40.0), 1.0), 3))
            messages.append(Message(Role.BUYER, rng.choice(BUYER), t, buyer))
            t += timedelta(seconds=round(rng.lognormvariate(math.log(median), AGENT_SIGMA), 3))
            text = rng.choice(CURT) if rng.random() < curt else rng.choice(POLITE)
            messages.append(Message(Role.AGENT, text, t, agent))
        produced += len(messages)
        yield Conversation(id=f"t{seq:07d}", messages=tuple(messages), shop=shop)


#: per agent: the share of its chats ending in a paid order, in week 1 and week 13
START_CONVERT = (0.20, 0.30, 0.28, 0.15, 0.30, 0.22, 0.12, 0.32, 0.25)
END_CONVERT = (0.30, 0.30, 0.22, 0.25, 0.30, 0.28, 0.20, 0.32, 0.15)


def _outcome_rows(c: Any, seq: int) -> dict[str, list[list[str]]]:
    """Seeded rating, order and refund rows of conversation *c* (number *seq*)."""
    rng = random.Random(seq * 7919 + 17)
    names = [sender for _, sender in _agents()]
    agent = c.agents[0]
    k = names.index(agent)
    frac = (c.started_at - START).days / (WEEKS * 7 - 1)
    curt = START_CURT[k] + (END_CURT[k] - START_CURT[k]) * frac
    wait = START_WAIT[k] + (END_WAIT[k] - START_WAIT[k]) * frac
    end = c.ended_at
    buyer = c.buyer
    out: dict[str, list[list[str]]] = {"ratings": [], "orders": [], "refunds": []}
    stamp = "%Y-%m-%d %H:%M:%S"
    if rng.random() < 0.3:
        # wangwang scale: 1 非常满意, 2 满意, 3 一般, 4 不满意; worse with waits and curtness
        bad = min(0.9, 0.03 + 2.5 * curt + wait / 600)
        code = 4 if rng.random() < bad * 0.5 else 3 if rng.random() < bad else rng.choice((1, 2))
        when = end + timedelta(minutes=rng.randint(1, 30))
        out["ratings"].append([buyer, agent, str(code), when.strftime(stamp), "wangwang"])
    convert = START_CONVERT[k] + (END_CONVERT[k] - START_CONVERT[k]) * frac
    if rng.random() < convert:
        oid = f"20470{seq:014d}"
        when = end + timedelta(minutes=rng.randint(1, 600))
        out["orders"].append([oid, buyer, when.strftime(stamp), when.strftime(stamp)])
        if rng.random() < 0.05 + curt:
            cs = "需要客服介入" if rng.random() < 0.15 + curt else "不需客服介入"
            out["refunds"].append([oid, f"r{seq:08d}", "退款成功", cs])
    return out


_OUTCOME_HEADERS = {
    "ratings": ["eval_sender", "eval_recer", "eval_code", "eval_time", "scale"],
    "orders": ["订单编号", "买家会员名", "订单创建时间", "订单付款时间"],
    "refunds": ["订单编号", "退款编号", "退款状态", "客服介入状态"],
}


def _write(path: Path, n_messages: int) -> None:
    import csv

    outs = {
        kind: path.with_name(f"{kind}.csv").open("w", encoding="utf-8", newline="")
        for kind in _OUTCOME_HEADERS
    }
    writers = {kind: csv.writer(fh) for kind, fh in outs.items()}
    for kind, header in _OUTCOME_HEADERS.items():
        writers[kind].writerow(header)
    with path.open("w", encoding="utf-8") as fh:
        for seq, c in enumerate(stream(n_messages)):
            for kind, rows in _outcome_rows(c, seq).items():
                writers[kind].writerows(rows)
            rec = {
                "id": c.id,
                "shop": c.shop,
                "messages": [
                    {
                        "role": m.role.value,
                        "text": m.text,
                        "time": m.sent_at.isoformat() if m.sent_at else None,
                        "sender": m.sender,
                    }
                    for m in c.messages
                ],
            }
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    for out in outs.values():
        out.close()


def _rss(n_messages: int) -> dict[str, Any]:
    from kefu_standards import analyze

    analysis = analyze(stream(n_messages))
    trends = analysis.trends
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {
        "messages": analysis.messages,
        "conversations": analysis.conversations,
        "period": trends.period,
        "trend_rows": len(trends.rows),
        "trend_cells": len(analysis.trend_sums.cells),
        "peak_rss_mb": round(peak, 1),
    }


def main(argv: list[str] | None = None) -> int:
    """Run ``write``, ``rss`` or ``compare``."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("what", choices=("write", "rss", "compare"))
    p.add_argument("--out", type=Path, default=Path("team.jsonl"))
    p.add_argument("--messages", type=int, default=492_000)
    args = p.parse_args(argv)
    if args.what == "write":
        _write(args.out, args.messages)
        return 0
    if args.what == "rss":
        print(json.dumps(_rss(args.messages), ensure_ascii=False))
        return 0
    for n in (100_000, 400_000):
        out = subprocess.run(
            [sys.executable, __file__, "rss", "--messages", str(n)],
            capture_output=True,
            text=True,
            check=True,
        )
        print(out.stdout.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
