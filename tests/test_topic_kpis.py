"""Specification of the KPIs per consultation topic in analyze(), topics.csv and the report."""

from __future__ import annotations

import copy
import csv
import operator
import pickle
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import kefu_standards as ks
from kefu_standards._topic_kpis import (
    ANSWER_KEEP,
    NO_TOPIC,
    TOPIC_AGENT_COLUMNS,
    TopicKPIs,
    TopicRollup,
    _QuestionAcc,
    _TopicAcc,
    question_text_key,
)
from kefu_standards.analysis import iter_results
from kefu_standards.redact import RedactionPolicy
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

    @pytest.mark.parametrize("cut", [0, 1, 2, 3, 4])
    def test_merge_leaves_inputs_unchanged(self, cut: int) -> None:
        """merge() returns new KPIs; both inputs stay equal to what they were."""
        a, b = ks.analyze(CHATS[:cut]).topics, ks.analyze(CHATS[cut:]).topics
        before = (copy.deepcopy(a), copy.deepcopy(b))
        merged = a.merge(b)
        assert (a, b) == before
        assert merged.rows() == ks.analyze(CHATS).topics.rows()


class TestFrozen:
    """The topic KPIs inside a finished analysis cannot be changed."""

    @pytest.mark.parametrize(
        "change",
        [
            lambda t: setattr(t, "names", {}),
            lambda t: operator.setitem(t.by_topic, "x", TopicRollup()),
            lambda t: operator.setitem(t.names, "x", "y"),
            lambda t: setattr(next(iter(t.by_agent.values())), "conversations", 0),
            lambda t: setattr(next(iter(t.questions.values())), "count", 0),
            lambda t: operator.setitem(next(iter(t.questions.values())).answers, "x", 1),
        ],
        ids=["field", "by-topic-item", "names-item", "rollup-field", "question", "answers"],
    )
    def test_topics_refuse_changes(self, change: Callable[[TopicKPIs], None]) -> None:
        """Assigning a field or an item raises; the analysis keeps its KPIs."""
        analysis = ks.analyze(CHATS + CHATS)
        kept = copy.deepcopy(analysis.topics)
        assert kept.questions
        with pytest.raises((attrs.exceptions.FrozenInstanceError, TypeError)):
            change(analysis.topics)
        assert analysis.topics == kept

    def test_frozen_topics_pickle_round_trip(self) -> None:
        """The KPIs travel between processes (Spark workers) unchanged."""
        topics = ks.analyze(CHATS).topics
        assert pickle.loads(pickle.dumps(topics)) == topics

    def test_empty(self) -> None:
        """No conversations, no rows."""
        assert TopicKPIs().rows() == []


class TestOutputs:
    """topics.csv beside agents.csv, and a topics section in report.html."""

    def test_write_adds_topics_csv_and_section(self, tmp_path: Path) -> None:
        """write() writes topics.csv with one row per topic and a topics section."""
        paths = ks.write_report(ks.analyze(CHATS), tmp_path)
        assert [p.name for p in paths] == [
            "agents.csv",
            "trends.csv",
            "topics.csv",
            "topics_by_agent.csv",
            "report.html",
        ]
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
        high = sum(ks.escalation(c).level == "high" for c in (CHATS[0], convs[-1]))
        assert top[0] == {
            "question": "快递怎么还没到",
            "topic": "logistics",
            "name": "物流配送",
            "count": 2,
            "unanswered": 1,
            "high_risk": high,
            "answers": [("亲，这边帮您处理哦", 1)],
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
        assert "常见回复 usual answers" in html
        assert "亲，这边帮您处理哦 <span class='na'>×2</span>" in html  # the agents' reply, twice


class TestTopicsByAgentAndDay:
    """topics_by_agent.csv: KPIs per agent, day and topic, mergeable across shards."""

    def test_rows_per_agent_day_and_topic(self) -> None:
        """Each agent's conversations of a day are counted under their top topic."""
        rows = ks.analyze(CHATS).topic_agent_rows()
        got = [(r["agent"], r["day"], r["topic"], r["conversations"], r["share"]) for r in rows]
        assert got == [
            ("小王", "2024-05-06", "invoice", 1, 1.0),
            ("小美", "2024-05-06", "logistics", 2, 1.0),
        ]
        assert rows[1]["first_response_s"] == pytest.approx(60.0)
        assert list(rows[0]) == list(TOPIC_AGENT_COLUMNS)

    def test_csv_has_the_stable_columns(self, tmp_path: Path) -> None:
        """topics_by_agent.csv has the documented header, even with no rows."""
        ks.write_report(ks.analyze(CHATS), tmp_path / "a")
        ks.write_report(ks.analyze([]), tmp_path / "b")
        for folder, n in (("a", 2), ("b", 0)):
            with (tmp_path / folder / "topics_by_agent.csv").open(
                encoding="utf-8-sig", newline=""
            ) as fh:
                reader = csv.DictReader(fh)
                rows = list(reader)
            assert tuple(reader.fieldnames or ()) == TOPIC_AGENT_COLUMNS
            assert len(rows) == n

    def test_shards_merge_to_the_same_rows(self) -> None:
        """Rows of merged shards equal the rows of the whole."""
        convs = [*CHATS, chat("e", "快递怎么还没到", 10, agent="小王")]
        whole = ks.analyze(convs)
        merged = ks.analyze(convs[:3]).merge(ks.analyze(convs[3:]))
        assert merged.topic_agent_rows() == whole.topic_agent_rows()


def _result(conv: ks.Conversation) -> ks.ConversationResult:
    """The analysis result of one conversation."""
    return next(iter(iter_results([conv])))[1][0]


class TestQuestionAnswersAndBounds:
    """The frequent questions keep the agents' usual answers, in bounded memory."""

    @given(st.lists(st.sampled_from("abcdefghij"), max_size=200))
    def test_answers_stay_bounded(self, replies: list[str]) -> None:
        """However many distinct replies come, at most 2 * ANSWER_KEEP are held."""
        q = _QuestionAcc(0, "logistics", "快递呢")
        for r in replies:
            q.add_answer(r)
            assert len(q.answers) <= 2 * ANSWER_KEEP

    def test_questions_stay_bounded(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Distinct questions beyond 2 * QUESTION_KEEP are pruned to the most frequent."""
        monkeypatch.setattr("kefu_standards._topic_kpis.QUESTION_KEEP", 5)
        kpis = _TopicAcc()
        convs = [chat(f"c{i}", f"快递{i}号单怎么还没到呀", 10) for i in range(3)]  # one key
        convs += [chat(f"d{i}", f"发票抬头写{chr(0x4E00 + i)}", 10) for i in range(40)]
        for conv in convs:
            kpis.add(_result(conv), "logistics", None, conv)
            assert len(kpis.questions) <= 10
        top = kpis.frozen().top_questions(1)
        assert (top[0]["question"], top[0]["count"]) == ("快递0号单怎么还没到呀", 3)

    def test_answers_are_the_most_common_first_replies(self) -> None:
        """The answers are ranked by how often agents gave them."""
        q = _QuestionAcc(6, "logistics", "快递呢")
        for r in ["已发货", "已发货", "稍等", "已发货", "稍等", "您好"]:
            q.add_answer(r)
        kpis = TopicKPIs(questions={"k": q.frozen()})
        assert kpis.top_questions(1, answers=2)[0]["answers"] == [("已发货", 3), ("稍等", 2)]

    def test_texts_are_masked_under_the_policy(self) -> None:
        """Question and answers are masked by default and shown with the policy off."""
        phone = "13812345678"
        convs = [chat(c, f"快递怎么还没到 {phone}", 10) for c in "xy"]
        kpis = ks.analyze(convs).topics
        masked = kpis.top_questions(1)[0]["question"]
        assert phone not in masked
        shown = kpis.top_questions(1, policy=RedactionPolicy.off())[0]["question"]
        assert phone in shown

    @pytest.mark.parametrize(
        "card",
        [
            "咨询订单号:[ORDERID_1]订单金额:[金额x]下单时间:[日期x]",
            "订单号：123456789",
            "https://item.jd.com/123.html",
        ],
    )
    def test_pasted_cards_are_not_questions(self, card: str) -> None:
        """Order cards and bare links carry a topic but are never counted as questions."""
        assert ks.is_pasted(card)
        convs = [chat(c, card, 10) for c in "xyz"]
        assert ks.analyze(convs).topics.top_questions(5) == []
