"""The HTML report: self-contained, escaped, masked, and it renders in a real browser."""

from __future__ import annotations

import csv
import importlib.util
import os
import re
import shutil
import subprocess
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import kefu_standards as ks
import kefu_standards.cli
from kefu_standards.report import (
    AgentView,
    ChatLine,
    KpiView,
    ReportView,
    RiskView,
    highlight,
    render_html,
)

HOSTILE = (
    "<script>document.body.setAttribute('data-pwned','1')</script>"
    "<img src=x onerror=\"document.body.setAttribute('data-pwned','2')\">"
    "</textarea><svg onload=alert(1)>"
)


class TestHighlight:
    @pytest.mark.parametrize(
        ("text", "spans", "expected"),
        [
            (
                "你自己看",
                [(0, 3, "banned_phrase")],
                '<mark class="bad" title="banned_phrase">你自己</mark>看',
            ),
            (
                "亲，您好",
                [(0, 1, "courtesy")],
                '<mark class="good" title="courtesy">亲</mark>，您好',
            ),
            ("<b>", [], "&lt;b&gt;"),
            ("a<b", [(1, 2, "harsh_tone")], 'a<mark class="bad" title="harsh_tone">&lt;</mark>b'),
            ("电话13812345678", [], "电话138****5678"),
            ("x", [(0, 5, "harsh_tone")], '<mark class="bad" title="harsh_tone">x</mark>'),
        ],
    )
    def test_table(self, text: str, spans: list[tuple[int, int, str]], expected: str) -> None:
        """Text is masked and escaped; spans become <mark> with a class by kind."""
        assert expected == highlight(text, spans)


def _hostile_view() -> ReportView:
    line = ChatLine(role="buyer", sender="tb_<b>evil</b>", time="05-01 10:00", text=HOSTILE)
    return ReportView(
        title="报告 <script>",
        period="2024-05-01",
        conversations=1,
        messages=1,
        kpis=(KpiView("回复率", 0.5, "%", target="≥ 90%", ok=False),),
        agents=(
            AgentView(
                agent="店:<i>小美</i>",
                conversations=1,
                rounds=2,
                reply_rate=0.5,
                mean_wait_s=30.0,
                p90_wait_s=60.0,
                sla_rate=0.5,
                politeness=0.4,
                impolite_messages=1,
                total=55.0,
                wait_buckets=(1, 0, 0, 0, 0, 1),
                dimensions=(("服务态度", 0.4), ("数据分析", None)),
            ),
        ),
        riskiest=(RiskView("c<1>", 0.9, "high", ("买家威胁投诉 <x>",), (line,)),),
    )


class TestRenderHtml:
    def test_no_raw_markup_from_input(self) -> None:
        """Every input string is escaped: no tag from chat text survives."""
        page = render_html(_hostile_view())
        assert "<script" not in page
        assert "<img" not in page
        assert "<svg onload" not in page
        assert "&lt;script&gt;" in page
        assert "<i>小美</i>" not in page

    def test_self_contained(self) -> None:
        """No external resource: no http(s) URL, no element with src/href, a strict CSP."""
        page = render_html(_hostile_view())
        tags = _tags(page)
        assert not re.search(r"https?://", page)
        assert not [(t, a) for t, a in tags if {"src", "href"} & set(a)]
        assert not [t for t, _ in tags if t in {"script", "img", "iframe", "link", "object"}]
        assert not [a for _, a in tags if any(k.startswith("on") for k in a)]
        assert "default-src 'none'" in page


def _tags(page: str) -> list[tuple[str, dict[str, str | None]]]:
    """Every start tag of *page* with its attributes, as the browser's parser sees them."""
    from html.parser import HTMLParser

    found: list[tuple[str, dict[str, str | None]]] = []

    class _Collect(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, dict(attrs)))

    _Collect().feed(page)
    return found


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _browse(page: Path, screenshot: Path) -> tuple[str, str]:
    """Load *page* headless; return (dumped DOM, console log lines)."""
    exe = _chromium()
    assert exe is not None
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
    ]
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run(
            [exe, *flags, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                exe,
                *flags,
                f"--user-data-dir={profile}",
                "--window-size=1280,2400",
                f"--screenshot={screenshot}",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    console = "\n".join(line for line in dom.stderr.splitlines() if ":CONSOLE" in line)
    return dom.stdout, console


needs_browser = pytest.mark.skipif(
    _chromium() is None and not os.environ.get("KS_REQUIRE_BROWSER"),
    reason="Debian's chromium is not installed (CI installs it and sets KS_REQUIRE_BROWSER)",
)


@needs_browser
class TestInBrowser:
    def test_detector_catches_an_unsafe_page(self, tmp_path: Path) -> None:
        """The check is real: a page with a raw script shows up in the console log."""
        bad = tmp_path / "bad.html"
        bad.write_text(
            "<!DOCTYPE html><html><head><meta charset='utf-8'>"
            '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'">'
            f"</head><body>{HOSTILE}</body></html>",
            encoding="utf-8",
        )
        _, console = _browse(bad, tmp_path / "bad.png")
        assert "Content Security Policy" in console

    def test_report_renders_without_console_messages(self, tmp_path: Path) -> None:
        """The real report of the examples plus a hostile chat renders cleanly, no script runs."""
        examples = list(ks.read_conversations(_examples()))
        hostile = ks.Conversation.from_records(
            [
                {"role": "buyer", "text": HOSTILE, "time": "2024-05-01 10:00:00", "sender": "tb_x"},
                {
                    "role": "agent",
                    "text": "你自己看<script>alert(1)</script>",
                    "time": "2024-05-01 10:05:00",
                    "sender": "店:<b>坏</b>",
                },
            ],
            id="<script>alert('id')</script>",
        )
        out = tmp_path / "report"
        ks.analyze([*examples, hostile, *_weeks_of_chats()]).write(out)
        page = out / "report.html"
        shot = Path(os.environ.get("KS_SCREENSHOT_DIR", tmp_path)) / "report.png"
        shot.parent.mkdir(parents=True, exist_ok=True)
        dom, console = _browse(page, shot)
        assert "客服质量报告" in dom
        assert "能力矩阵 Agent × dimension" in dom
        assert "趋势 Trends" in dom
        assert dom.count('class="spark"') >= 6 * 3  # team + 2 agents, 6 metrics each
        assert "&lt;img src=x onerror" in dom  # the hostile agent name, as text
        assert console == ""
        assert not re.search(r"<body[^>]*data-pwned", dom)
        assert "<script" not in dom
        assert shot.exists()
        assert shot.stat().st_size > 10_000


#: One of the nine agents of the 13-week team stream gets this name (no comma or quote,
#: so it passes through the ratings CSV unquoted).
HOSTILE_AGENT = "京选数码旗舰店:<b>坏</b><img src=x onerror=alert(1)>"

#: A 1280 x 1024 screen; the report of 9 agents over 13 weeks must read in about two.
SCREEN = (1280, 1024)
MAX_SCREENS = 2.1


def _page_size(page: Path, tmp: Path) -> tuple[int, int]:
    """Return the (height, width) in CSS px of *page* laid out in a 1280 x 1024 window.

    The page itself runs no script: the measured copy drops its CSP and appends one
    script that writes ``scrollHeight`` and ``scrollWidth`` into an attribute, read
    back from ``--dump-dom``.
    """
    exe = _chromium()
    assert exe is not None
    html = re.sub(
        r'<meta http-equiv="Content-Security-Policy"[^>]*>',
        "",
        page.read_text(encoding="utf-8"),
    )
    probe = (
        "<script>var e=document.documentElement;document.body.setAttribute("
        "'data-size',e.scrollHeight+'x'+e.scrollWidth)</script></body>"
    )
    copy = tmp / "measured.html"
    copy.write_text(html.replace("</body>", probe), encoding="utf-8")
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run(
            [
                exe,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                f"--window-size={SCREEN[0]},{SCREEN[1]}",
                f"--user-data-dir={profile}",
                "--dump-dom",
                copy.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        ).stdout
    found = re.search(r'data-size="(\d+)x(\d+)"', dom)
    assert found is not None, dom[:500]
    return int(found.group(1)), int(found.group(2))


def _bench_trends() -> Any:
    """The seeded 9-agent, 13-week team stream of ``benchmarks/bench_trends.py``."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_trends.py"
    spec = importlib.util.spec_from_file_location("bench_trends", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@needs_browser
class TestPageFits:
    def test_nine_agents_thirteen_weeks_fit_in_about_two_screens(self, tmp_path: Path) -> None:
        """9 agents x 13 weeks with outcomes: every section in <= 2.1 screens, no side scroll.

        The page's length depends on agents, periods, topics and the top-10 lists,
        not on the number of messages, so 20,000 messages of the stream show it.
        One agent has a hostile name: it stays text.
        """
        bench = _bench_trends()
        chats = tmp_path / "team.jsonl"
        bench._write(chats, 20_000)
        for path in (chats, tmp_path / "ratings.csv"):
            text = path.read_text(encoding="utf-8")
            path.write_text(text.replace(bench._agents()[8][1], HOSTILE_AGENT), encoding="utf-8")
        out = tmp_path / "out"
        outcomes = [f"--{k}={tmp_path / k}.csv" for k in ("ratings", "orders", "refunds")]
        assert ks.cli.main(["analyze", str(chats), f"--out={out}", *outcomes]) == 0
        page = out / "report.html"
        height, width = _page_size(page, tmp_path)
        shots = Path(os.environ.get("KS_SCREENSHOT_DIR", tmp_path))
        shots.mkdir(parents=True, exist_ok=True)
        _screenshot(page, shots / "report_9x13.png", height)
        dom = page.read_text(encoding="utf-8")
        for section in (
            "团队指标",
            "能力矩阵",
            "趋势 Trends",
            "咨询主题",
            "高风险会话",
            "服务禁语",
        ):
            assert section in dom
        assert "结果指标 Outcomes" in dom
        assert dom.count('class="spark"') == 10 * 11  # team + 9 agents, 6 + 5 outcome KPIs
        assert "&lt;img src=x onerror=alert(1)&gt;" in dom
        assert "<img" not in dom
        with (out / "trends.csv").open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert len(rows) == 10 * 13
        assert all(r["satisfaction_rate"] and r["inquiry_conversion"] for r in rows)
        assert width <= SCREEN[0]
        assert height <= MAX_SCREENS * SCREEN[1], f"{height} px = {height / SCREEN[1]:.2f} screens"


def _screenshot(page: Path, shot: Path, height: int) -> None:
    """Save the whole page as one 1280-px-wide PNG (the CI artifact)."""
    exe = _chromium()
    assert exe is not None
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                exe,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                f"--window-size={SCREEN[0]},{height}",
                f"--user-data-dir={profile}",
                f"--screenshot={shot}",
                page.as_uri(),
            ],
            capture_output=True,
            timeout=120,
            check=False,
        )


def _weeks_of_chats() -> list[ks.Conversation]:
    """Four weeks of one-round chats by an ordinary agent and one with a hostile name."""
    out = []
    start = datetime(2024, 6, 3, 10, 0, tzinfo=timezone(timedelta(hours=8)))
    for day in range(28):
        for k, (agent, wait) in enumerate((("店:小美", 40 - day), (f"店:{HOSTILE}", 90 + day))):
            t = start + timedelta(days=day, minutes=k)
            out.append(
                ks.Conversation(
                    id=f"w{day}-{k}",
                    messages=(
                        ks.Message(ks.Role.BUYER, "在吗，什么时候发货", t, "tb_买家"),
                        ks.Message(ks.Role.AGENT, "亲，今天发", t + timedelta(seconds=wait), agent),
                    ),
                )
            )
    return out


def _examples() -> Path:
    from kefu_standards.resources import data_file

    return Path(str(data_file("examples/conversations.jsonl")))
