"""Benchmark personal-data redaction (:mod:`kefu_standards.redact`).

Three parts:

1. **Planted values, per detector** (cases written here, seeded): for each kind,
   values generated the way buyers type them (cues, separators, full-width
   digits) inside random Chinese context.  *gone* = the planted value is not
   left whole in the output; *as kind* = a span of that kind covers part of
   it.  Then **false masks** on product-detail texts written here (sizes,
   prices, models, dates, placeholders): texts with any mask, by kind.
2. **Real texts** (no labels, so an upper bound on false masks): the share of
   online_shopping_10_cats dev reviews and of jddc_sat dev turns masked, by
   kind; jddc was anonymised by its authors, so what fires there is mostly a
   false mask or leftover digits.  A few examples per kind are printed (never
   written to a file).
3. **Speed**: ``redact()`` on every jddc turn (cache cleared, each text once)
   against SnowNLP sentiment on the same turns; and ``analyze(results=...)``
   with masking on against ``RedactionPolicy.off()``, interleaved, as a ratio.

Usage (from the repo root)::

    python benchmarks/bench_redact.py            # everything
    python benchmarks/bench_redact.py --no-speed

Writes ``benchmarks/results/redact.json``.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import random
import string
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REVIEWS = DATA / "online_shopping_10_cats.dev.jsonl.gz"
JDDC = DATA / "jddc_sat.dev.jsonl.gz"
RESULTS = HERE / "results" / "redact.json"
ANALYZE_MESSAGES = 20_000

CONTEXT = "的了是我你好亲在吗这个快递发货什么时候到谢谢麻烦帮看一下质量还行退款，。！？ "
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "小明伟芳娜敏静丽强磊军洋勇艳杰娟涛超霞平刚建国华文"

#: Product details and service talk that must stay readable (written for this benchmark).
PRODUCT_TEXTS = (
    "尺码175/92A，身高175体重65kg穿L码",
    "¥199包邮，满300减30，到手价169.00元",
    "2.0m床单款，床单245×250cm，被套200×230cm",
    "型号A2403，颜色1号色，3件起批",
    "40支全棉，60S长绒棉，A类标准",
    "2024-05-01 10:00:00 下单",
    "5月1日发货，2024年5月3日10:00前到",
    "支持7天无理由退换，15天价保",
    "[数字x]元的优惠券，订单[ORDERID_10337264]已发货",
    "#E-s[数字x]亲，[姓名x]您好",
    "iPhone15 Pro Max 256GB 国行",
    "营业时间 09:00-23:00，客服热线400-820-8820",
    "5号20点前发货，3号仓库",
    "杭州市区包邮，江浙沪次日达",
    "收货人信息填错了怎么改",
    "联系人工客服",
    "姓名和电话都要填",
    "QQ音乐会员送吗",
    "微信支付199元可以吗",
    "加微信好友有优惠",
    "订单号多少？",
    "订单2024-05-01发货",
    "第3单元的说明书在哪",
    "电池容量5000mAh，充电功率67W",
    "一共3件，每件2.5kg，共7.5kg",
    "收货人王先生说放门口",
    "我在杭州，发浙江省内",
    "规格：500ml*12瓶/箱",
    "4K 120Hz 65英寸，HDMI2.1接口",
    "胸围96cm，衣长68cm，肩宽44cm",
    "冰箱容积301L，一级能效",
    "空调1.5匹，适用面积15-22㎡",
    "鞋码42码，脚长26.5cm",
    "保质期18个月，生产日期2024/04/12",
    "第二件半价，买2送1",
    "颜色：雾霾蓝 / 尺码：XL",
    "SKU：KF-2024-A12",
    "货号 8839-2",
    "运费险已赠送，退货运费补贴12元",
    "1号链接2号链接都是现货",
    "3楼的快递柜",
    "我家住在杭州",
    "预计48小时内发货",
    "这个是2023款还是2024款？",
    "分期12期免息",
    "30天价保，晚10点前下单当天发",
    "充电器是18W的，线长1m",
    "净含量：2.5kg±5%",
    "能用到2025年12月31日吗",
    "优惠券满199减20，限时到23:59:59",
    "电压220V 50Hz",
    "麻烦备注一下：不要放菜鸟驿站",
    "亲亲，宝贝已经从杭州转运中心发出啦",
    "京东物流，次日达",
    "这款是M号还是L号偏大",
    "内存8+256GB",
    "版本号V2.3.1",
    "折后价¥1,299.00",
    "积分抵扣300积分=3元",
    "快递员电话打不通",
)


# -- planted values (seeded generator) ---------------------------------------------------


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def _widen(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)


def _luhn_complete(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def _id_complete(body: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]


def _mobile(rng: random.Random) -> tuple[str, str]:
    n = "1" + rng.choice("3456789") + _digits(rng, 9)
    sep = rng.choice(["", "", " ", "-"])
    value = rng.choice(["", "", "+86", "0086", "+86 "]) + sep.join([n[:3], n[3:7], n[7:]])
    return rng.choice(["", "电话", "手机：", "打这个"]), value


def _landline(rng: random.Random) -> tuple[str, str]:
    area = rng.choice(["010", "021", "0571", "0755", "(0571)", "（0571）", "020"])
    local = rng.choice("23456789") + _digits(rng, rng.choice([6, 7]))
    return rng.choice(["", "座机", "电话：", "打"]), area + rng.choice(["", "-", " "]) + local


def _id_card(rng: random.Random) -> tuple[str, str]:
    body = (
        rng.choice(["330106", "110101", "440305", "510107", "320102"])
        + str(rng.randint(1950, 2010))
        + f"{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        + _digits(rng, 3)
    )
    return rng.choice(["", "身份证", "身份证号："]), _id_complete(body)


def _bank_card(rng: random.Random) -> tuple[str, str]:
    body = rng.choice(["622202", "621700", "436742", "622848", "625965"])
    card = _luhn_complete(body + _digits(rng, rng.choice([9, 10, 11, 12])))
    if rng.random() < 0.5:
        card = " ".join(card[i : i + 4] for i in range(0, len(card), 4))
    return rng.choice(["", "卡号", "退到这张卡"]), card


def _email(rng: random.Random) -> tuple[str, str]:
    local = rng.choice(string.ascii_lowercase) + "".join(
        rng.choice(string.ascii_lowercase + string.digits + "._") for _ in range(rng.randint(2, 10))
    ).rstrip("._")
    domain = rng.choice(["qq.com", "163.com", "126.com", "gmail.com", "mail.example.cn"])
    return rng.choice(["", "邮箱", "邮箱是 ", "发到"]), f"{local}@{domain}"


def _wechat(rng: random.Random) -> tuple[str, str]:
    first = rng.choice(string.ascii_letters)
    rest = "".join(
        rng.choice(string.ascii_letters + string.digits + "_-") for _ in range(rng.randint(5, 15))
    )
    return rng.choice(["微信", "微信：", "vx ", "VX:", "wx", "加我微信 ", "v信"]), first + rest


def _qq(rng: random.Random) -> tuple[str, str]:
    value = rng.choice("123456789") + _digits(rng, rng.randint(4, 10))
    return rng.choice(["QQ", "qq号", "扣扣：", "QQ 是", "企鹅号"]), value


def _address(rng: random.Random) -> tuple[str, str]:
    value = (
        rng.choice(["浙江省", "广东省", "江苏省", "", "四川省"])
        + rng.choice(["杭州市", "深圳市", "南京市", "成都市"])
        + rng.choice(["西湖区", "南山区", "鼓楼区", "武侯区", "余杭区"])
        + rng.choice(["文三路", "科技园路", "中山北路", "建国大街", "人民路"])
        + f"{rng.randint(1, 999)}号"
        + rng.choice(["", f"{rng.randint(1, 30)}栋", f"{rng.randint(1, 9)}单元"])
        + f"{rng.randint(101, 2808)}"
        + rng.choice(["", "室"])
    )
    return rng.choice(["", "地址：", "寄到", "收货地址 "]), value


def _name(rng: random.Random) -> tuple[str, str]:
    surname = rng.choice([*SURNAMES, "欧阳", "司马"])
    value = surname + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
    return rng.choice(["收件人：", "收货人", "联系人是", "姓名: ", "寄件人 "]), value


def _order(rng: random.Random) -> tuple[str, str]:
    kind = rng.randrange(3)
    if kind == 0:
        value = rng.choice("123456789") + _digits(rng, rng.randint(9, 19))
    elif kind == 1:
        value = rng.choice(["SF", "YT", "JD", "ZTO", "JT"]) + _digits(rng, 12)
    else:
        value = rng.choice(string.ascii_uppercase) + _digits(rng, rng.randint(7, 12))
        return rng.choice(["订单号：", "运单号 ", "快递单号是"]), value
    return rng.choice(["", "订单号：", "运单号 ", "单号"]), value


GENERATORS = {
    "mobile": _mobile,
    "landline": _landline,
    "id_card": _id_card,
    "bank_card": _bank_card,
    "email": _email,
    "wechat": _wechat,
    "qq": _qq,
    "address": _address,
    "name": _name,
    "order_number": _order,
}
WIDENED = {"mobile", "landline", "qq", "order_number"}


def _context(rng: random.Random, lo: int = 0) -> str:
    return "".join(rng.choice(CONTEXT) for _ in range(rng.randint(lo, 12)))


def planted(n: int, seed: int) -> dict[str, dict[str, Any]]:
    """Per kind: how many planted values are gone from the output and found as that kind."""
    from kefu_standards.redact import RedactionPolicy, redact

    out: dict[str, dict[str, Any]] = {}
    for kind, make in GENERATORS.items():
        rng = random.Random(f"{seed}-{kind}")
        gone = as_kind = gone_full = 0
        missed: list[str] = []
        for _ in range(n):
            cue, value = make(rng)
            if kind in WIDENED and rng.random() < 0.25:
                value = _widen(value)
            head = _context(rng) + cue
            text = head + value + _context(rng, 1)
            result = redact(text)
            lo, hi = len(head), len(head) + len(value)
            ok = value not in result.text
            gone += ok
            gone_full += value not in redact(text, RedactionPolicy(partial=False)).text
            as_kind += any(s.kind == kind and s.start < hi and lo < s.end for s in result.spans)
            if not ok and len(missed) < 3:
                missed.append(text)
        out[kind] = {
            "planted": n,
            "gone": gone,
            "gone_full": gone_full,
            "as_kind": as_kind,
            "missed": missed,
        }
    return out


def false_masks(
    texts: tuple[str, ...] | list[str],
) -> tuple[Counter[str], int, dict[str, list[str]]]:
    """Texts with a mask, by kind; texts with any mask; up to 3 examples per kind."""
    from kefu_standards.redact import redact

    by_kind: Counter[str] = Counter()
    any_mask = 0
    examples: dict[str, list[str]] = {}
    for text in texts:
        result = redact(text)
        kinds = {s.kind for s in result.spans}
        any_mask += bool(kinds)
        for kind in kinds:
            by_kind[kind] += 1
            if len(examples.setdefault(kind, [])) < 3:
                span = next(s for s in result.spans if s.kind == kind)
                lo, hi = max(0, span.start - 15), span.end + 10
                examples[kind].append(f"{text[lo:hi]} -> {result.text[lo:hi]}")
    return by_kind, any_mask, examples


def _reviews() -> list[str]:
    with gzip.open(REVIEWS, "rt", encoding="utf-8") as fh:
        return [json.loads(line)["text"] for line in fh]


def _jddc_turns() -> list[str]:
    out = []
    with gzip.open(JDDC, "rt", encoding="utf-8") as fh:
        for line in fh:
            out += [t["text"] for t in json.loads(line)["turns"] if t.get("text")]
    return out


def speed(turns: list[str], rounds: int) -> dict[str, Any]:
    """redact() vs SnowNLP on the same texts; analyze(results=) with masking on vs off."""
    from snownlp import SnowNLP

    from kefu_standards import redact as redact_module
    from kefu_standards.redact import RedactionPolicy, redact

    distinct = list(dict.fromkeys(turns))
    sample = distinct[:2000]
    SnowNLP("预热").sentiments  # noqa: B018 - load the model outside the timing
    t0 = time.perf_counter()
    for text in sample:
        SnowNLP(text).sentiments  # noqa: B018
    snow_per_s = len(sample) / (time.perf_counter() - t0)
    best = 0.0
    for _ in range(rounds):
        redact_module._redact.cache_clear()
        t0 = time.perf_counter()
        for text in distinct:
            redact(text)
        best = max(best, len(distinct) / (time.perf_counter() - t0))
    triggered = sum(redact_module._trigger().search(t) is not None for t in distinct)

    sys.path.insert(0, str(HERE))
    from bench_analyze import stream
    from kefu_standards.analysis import analyze, iter_results

    analyze(stream(200, seed=1))  # warm models and lexicons
    timings: dict[str, list[float]] = {"on": [], "off": []}
    for _ in range(rounds):
        for label, policy in (("on", RedactionPolicy()), ("off", RedactionPolicy.off())):
            redact_module._redact.cache_clear()
            t0 = time.perf_counter()
            analyze(stream(ANALYZE_MESSAGES), results=io.StringIO(), redaction=policy)
            timings[label].append(time.perf_counter() - t0)
    ratios = sorted(on / off for on, off in zip(timings["on"], timings["off"], strict=True))
    # the redaction step alone, on the same results: its share of the analysis time
    pairs = [
        (conv, r)
        for chunk, results in iter_results(stream(ANALYZE_MESSAGES))
        for conv, r in zip(chunk, results, strict=True)
    ]
    step = []
    for _ in range(rounds):
        redact_module._redact.cache_clear()
        t0 = time.perf_counter()
        for conv, r in pairs:
            r.redacted(conv, RedactionPolicy())
        step.append(time.perf_counter() - t0)
    median_off = sorted(timings["off"])[len(timings["off"]) // 2]
    return {
        "distinct_texts": len(distinct),
        "share_passing_precheck": triggered / len(distinct),
        "redact_texts_per_s": best,
        "snownlp_texts_per_s": snow_per_s,
        "redact_vs_snownlp": best / snow_per_s,
        "analyze_results_on_s": timings["on"],
        "analyze_results_off_s": timings["off"],
        "analyze_on_over_off_median": ratios[len(ratios) // 2],
        "analyze_on_over_off_min_max": [ratios[0], ratios[-1]],
        "redaction_step_s": min(step),
        "redaction_step_share_of_analyze": min(step) / median_off,
    }


def _print_kinds(title: str, by_kind: Counter[str], total: int, any_mask: int) -> None:
    from kefu_standards.redact import KINDS

    print(f"\n{title}: {total:,} texts, {any_mask:,} with a mask ({any_mask / total:.2%})")
    for kind in KINDS:
        if by_kind[kind]:
            print(f"  {kind:<14}{by_kind[kind]:>8,}  {by_kind[kind] / total:.3%}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--planted", type=int, default=2000, help="planted values per kind")
    parser.add_argument("--seed", type=int, default=20240506)
    parser.add_argument("--rounds", type=int, default=5, help="speed rounds (interleaved)")
    parser.add_argument("--no-speed", action="store_true", help="skip the speed part")
    args = parser.parse_args(argv)
    from kefu_standards.redact import KINDS

    results: dict[str, Any] = {"planted_per_kind": args.planted, "seed": args.seed}

    table = planted(args.planted, args.seed)
    by_kind, any_mask, examples = false_masks(PRODUCT_TEXTS)
    results["planted"] = table
    results["product_texts"] = {
        "texts": len(PRODUCT_TEXTS),
        "with_mask": any_mask,
        "by_kind": dict(by_kind),
    }
    print("1. planted values in random Chinese context (cases written here, seeded)")
    print(
        f"{'kind':<14}{'planted':>8}{'gone':>9}{'gone (full)':>13}{'as kind':>9}"
        f"{'false masks':>13}  (on {len(PRODUCT_TEXTS)} product-detail texts)"
    )
    for kind in KINDS:
        if kind not in table:
            continue
        r = table[kind]
        print(
            f"{kind:<14}{r['planted']:>8}{r['gone'] / r['planted']:>9.1%}"
            f"{r['gone_full'] / r['planted']:>13.1%}{r['as_kind'] / r['planted']:>9.1%}"
            f"{by_kind[kind]:>13}"
        )
        for text in r["missed"]:
            print(f"    missed: {text}")
    print(f"product-detail texts with any mask: {any_mask} of {len(PRODUCT_TEXTS)}")
    for kind, items in examples.items():
        for item in items:
            print(f"    {kind}: {item}")

    if REVIEWS.exists() and JDDC.exists():
        reviews = _reviews()
        turns = _jddc_turns()
        rev_kind, rev_any, rev_examples = false_masks(reviews)
        jd_kind, jd_any, jd_examples = false_masks(turns)
        print("\n2. real texts (no personal-data labels: masks here bound false masks from above)")
        _print_kinds("online_shopping_10_cats dev reviews", rev_kind, len(reviews), rev_any)
        for kind, items in rev_examples.items():
            print(f"    e.g. {kind}: {items[0]}")
        _print_kinds("jddc_sat dev turns (anonymised corpus)", jd_kind, len(turns), jd_any)
        for kind, items in jd_examples.items():
            print(f"    e.g. {kind}: {items[0]}")
        results["reviews"] = {
            "texts": len(reviews),
            "with_mask": rev_any,
            "by_kind": dict(rev_kind),
        }
        results["jddc_turns"] = {"texts": len(turns), "with_mask": jd_any, "by_kind": dict(jd_kind)}
        if not args.no_speed:
            s = speed(turns, args.rounds)
            results["speed"] = s
            print("\n3. speed (ratios measured in this run)")
            print(
                f"redact(): {s['redact_texts_per_s']:,.0f} distinct jddc texts/s, "
                f"{s['redact_vs_snownlp']:.0f}x SnowNLP sentiment on the same texts; "
                f"{s['share_passing_precheck']:.0%} pass the pre-check"
            )
            lo, hi = s["analyze_on_over_off_min_max"]
            print(
                f"analyze({ANALYZE_MESSAGES:,} messages, results=...) masking on / off: "
                f"median {s['analyze_on_over_off_median']:.3f} over {args.rounds} interleaved "
                f"pairs (range {lo:.3f}-{hi:.3f})"
            )
            print(
                f"the redaction step alone (ConversationResult.redacted on the same results): "
                f"{s['redaction_step_s']:.3f} s = {s['redaction_step_share_of_analyze']:.2%} "
                "of the analysis time"
            )
    else:
        print(f"\n(real-text and speed parts skipped: {DATA} not found)", file=sys.stderr)

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
