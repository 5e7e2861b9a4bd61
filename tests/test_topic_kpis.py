"""Specification of the KPIs per consultation topic in analyze(), topics.csv and the report."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import kefu_standards as ks
from kefu_standards._topic_kpis import NO_TOPIC, TopicKPIs, question_text_key
from kefu_standards.resources import data_file

T0 = datetime(2024, 5, 6, 10, 0, tzinfo=timezone(timedelta(hours=8)))


def chat(cid: str, buyer: str, wait_s: float | None, agent: str = "小美") -> ks.Conversation:
    """A two-message chat: the buyer asks, the agent answers after *wait_s* (None: never)."""
    records = [{"role": "buyer", "text": buyer, "time": T0, "sender": "买家"}]
    if wait_s is not None:
        records.append(
            {
                "role": "agent",
                "text": "亲，这边帮您处理哦",
                "time": T0 + timedelta(seconds=wait_s),
                "sender": agent,
            }
        )
    return ks.Conversation.from_records(records, id=cid)


CHATS = [
    chat("a", "快递怎么还没到", 30),
    chat("b", "物流到哪了", 90),
    chat("c", "发票怎么开", 20, agent="小王"),
    chat("d", "好的", None),
]


class TestTopicRows:
    """analyze() counts each conversation under its top topic."""

    def test_rows_share_and_response_times(self) -> None:
        """Shares add up to 1; response times are means over the topic's conversations."""
        rows = {r["topic"]: r for r in ks.analyze(CHATS).topic_rows()}
        assert set(rows) == {"logistics", "invoice", NO_TOPIC}
        assert rows["logistics"]["conversations"] == 2
        assert rows["logistics"]["share"] == pytest.approx(0.5)
        assert rows["logistics"]["name"] == "物流配送"
        assert rows["logistics"]["first_response_s"] == pytest.approx(60.0)
        assert rows["logistics"]["reply_rate"] == pytest.approx(1.0)
        assert sum(r["share"] for r in rows.values()) == pytest.approx(1.0)

    def test_undefined_is_none_not_zero(self) -> None:
        """A topic whose chats were never answered has no response time and reply rate 0."""
        rows = {r["topic"]: r for r in ks.analyze(CHATS).topic_rows()}
        assert rows[NO_TOPIC]["first_response_s"] is None
        assert rows[NO_TOPIC]["impolite_rate"] is None  # no agent message was scored

    def test_no_topic_row_comes_last(self) -> None:
        """Rows run from most to fewest conversations, with (no topic) last."""
        topics = [r["topic"] for r in ks.analyze(CHATS).topic_rows()]
        assert topics == ["logistics", "invoice", NO_TOPIC]

    def test_per_agent_and_day(self) -> None:
        """The same KPIs per topic and agent, per topic and day."""
        kpis = ks.analyze(CHATS).topics
        agents = {(r["agent"], r["topic"]): r["conversations"] for r in kpis.agent_rows()}
        assert agents == {("小美", "logistics"): 2, ("小王", "invoice"): 1}
        days = {(r["day"], r["topic"]) for r in kpis.day_rows()}
        assert ("2024-05-06", "logistics") in days


class TestMerge:
    """Topic KPIs merge exactly, like the timing summaries."""

    def test_shards_merge_to_the_whole(self) -> None:
        """analyze(a) merged with analyze(b) gives analyze(a + b)."""
        convs = list(ks.read_conversations(str(data_file("examples/conversations.jsonl"))))
        whole = ks.analyze(convs)
        merged = ks.analyze(convs[:11]).merge(ks.analyze(convs[11:]))
        assert merged.topic_rows() == whole.topic_rows()
        assert merged.topics.agent_rows() == whole.topics.agent_rows()

    def test_merge_leaves_inputs_unchanged(self) -> None:
        """merge() returns new KPIs."""
        a = ks.analyze(CHATS[:2]).topics
        before = a.rows()
        a.merge(ks.analyze(CHATS[2:]).topics)
        assert a.rows() == before

    def test_empty(self) -> None:
        """No conversations, no rows."""
        assert TopicKPIs().rows() == []


class TestOutputs:
    """topics.csv beside agents.csv, and a topics section in report.html."""

    def test_write_adds_topics_csv_and_section(self, tmp_path: Path) -> None:
        """write() writes topics.csv with one row per topic and a topics section."""
        paths = ks.write_report(ks.analyze(CHATS), tmp_path)
        assert [p.name for p in paths] == ["agents.csv", "trends.csv", "topics.csv", "report.html"]
        with (tmp_path / "topics.csv").open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert [r["topic"] for r in rows] == ["logistics", "invoice", NO_TOPIC]
        assert rows[2]["first_response_s"] == ""  # undefined is empty, not 0
        html = (tmp_path / "report.html").read_text(encoding="utf-8")
        assert "咨询主题 Topics" in html
        assert "物流配送 (logistics)" in html

    def test_result_records_carry_the_topic(self, tmp_path: Path) -> None:
        """Each conversation's JSON record names its top topic."""
        out = tmp_path / "results.jsonl"
        ks.analyze(CHATS, results=out)
        assert '"topic": "logistics"' in out.read_text(encoding="utf-8").splitlines()[0]


class TestFrequentQuestionsInAnalysis:
    """analyze() counts the most frequent topical buyer questions, without jieba."""

    @pytest.mark.parametrize(
        ("a", "b"),
        [
            ("快递怎么还没到？", "快递怎么还没到"),
            ("訂單12345怎麼取消", "订单678怎么取消"),
        ],
    )
    def test_key_ignores_punctuation_script_and_numbers(self, a: str, b: str) -> None:
        """Punctuation, Traditional script and the digits of numbers do not change the key."""
        assert question_text_key(a) == question_text_key(b)

    def test_top_questions_count_topical_questions(self) -> None:
        """Repeated topical questions are counted with their topic; fillers are not."""
        convs = [*CHATS, chat("e", "快递怎么还没到？", None)]
        top = ks.analyze(convs).topics.top_questions(5)
        assert top[0] == {
            "question": "快递怎么还没到",
            "topic": "logistics",
            "name": "物流配送",
            "count": 2,
            "unanswered": 1,
        }
        assert all(q["question"] != "好的" for q in top)

    def test_min_count_and_merge(self) -> None:
        """min_count leaves out rare questions; shards merge to the same counts."""
        convs = [*CHATS, chat("e", "快递怎么还没到", 10)]
        whole = ks.analyze(convs).topics
        merged = ks.analyze(convs[:2]).merge(ks.analyze(convs[2:])).topics
        assert merged.top_questions(10) == whole.top_questions(10)
        assert [q["count"] for q in whole.top_questions(10, min_count=2)] == [2]

    def test_report_lists_repeated_questions(self, tmp_path: Path) -> None:
        """The report's topics section lists questions asked at least twice."""
        convs = [*CHATS, chat("e", "快递怎么还没到", 10)]
        ks.write_report(ks.analyze(convs), tmp_path)
        html = (tmp_path / "report.html").read_text(encoding="utf-8")
        assert "常见问题 Most frequent questions" in html
        assert "<td>快递怎么还没到</td>" in html
