"""Specification of consultation topics: ks.topic, ks.topics, TopicLexicon, TopicModel, FAQ."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kefu_standards as ks
from kefu_standards import Conversation
from kefu_standards._faq import question_key
from kefu_standards.exceptions import ConfigError, ModelFileError, ReadError
from kefu_standards.resources import read_text

DEFAULT_TOPICS = (
    "logistics",
    "returns_repair",
    "refund",
    "invoice",
    "order",
    "price_promo",
    "product",
    "payment",
    "review",
    "contact_human",
    "complaint_dispute",
)


def conv(*turns: tuple[str, str], cid: str = "c1") -> Conversation:
    """A conversation from (role, text) pairs."""
    return Conversation.from_records([{"role": r, "text": t} for r, t in turns], id=cid)


class TestDefaultTaxonomy:
    """The default taxonomy: 11 topics with Chinese names, cues as package data."""

    def test_eleven_topics_in_order_with_names(self) -> None:
        """The ids are the issue's 11 topics, each with a Chinese name."""
        lex = ks.TopicLexicon.default()
        assert lex.topic_ids == DEFAULT_TOPICS
        assert lex.topic_name("logistics") == "物流配送"
        assert all(t.name for t in lex.topics)

    @pytest.mark.parametrize("name", ["cues", "taxonomy", "context", "faq_stopwords"])
    def test_data_files_name_source_and_licence(self, name: str) -> None:
        """Every topics data file starts with its source and licence."""
        head = read_text(f"topics/{name}.tsv").splitlines()[:2]
        assert head == [
            "# source: written by the kefu_standards developers",
            "# licence: MIT (same as the code)",
        ]

    def test_import_loads_no_jieba_and_topic_needs_none(self) -> None:
        """Importing loads no jieba; ks.topic works without it (cue trie only)."""
        code = (
            "import sys, kefu_standards as ks; a = 'jieba' in sys.modules; "
            "ks.topic('快递到哪了'); print(a, 'jieba' in sys.modules)"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
        )
        assert out.stdout.split() == ["False", "False"]


class TestTopic:
    """ks.topic: one text, the topic its cues vote for, or None with a reason."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("快递怎么还没到", "logistics"),
            ("什么时候发货啊", "logistics"),
            ("手机开不了机了，能保修吗", "returns_repair"),
            ("我要退货", "returns_repair"),
            ("退款多久到账", "refund"),
            ("取消退款", "refund"),
            ("能开增值税专用发票吗", "invoice"),
            ("能開發票嗎", "invoice"),  # Traditional script
            ("我想取消订单", "order"),
            ("收货地址写错了", "order"),
            ("降价了能价保吗", "price_promo"),
            ("优惠券怎么用不了", "price_promo"),
            ("这个有货吗", "product"),
            ("是正品吗", "product"),
            ("可以用白条分期吗", "payment"),
            ("怎么删除评价", "review"),
            ("转人工", "contact_human"),
            ("我要投诉你们", "complaint_dispute"),
            # version 2 cues (tuned on dev): order cards, 换, 联系, 电话, 钱, 票
            ("咨询订单号:[ORDERID_1]订单金额:[金额x]下单时间:[日期x]", "order"),
            ("能换一个吗", "returns_repair"),
            ("怎么联系你们", "contact_human"),
            ("钱什么时候给我", "refund"),
            ("能开在一张票上吗", "invoice"),
            ("明天能送吗", "logistics"),
        ],
    )
    def test_label(self, text: str, expected: str) -> None:
        """Common buyer questions get their topic."""
        assert ks.topic(text).label == expected

    @pytest.mark.parametrize(
        ("text", "reason"),
        [
            ("好的", "no topic cue"),
            ("[ORDERID_10337264]", "no content"),
            ("", "no content"),
            ("嗯嗯，谢谢", "no topic cue"),
        ],
    )
    def test_no_topic_is_explicit(self, text: str, reason: str) -> None:
        """A message without a topic has label None and says why; scores are all zero."""
        result = ks.topic(text)
        assert (result.label, result.name, result.reason) == (None, None, reason)
        assert set(result.scores.values()) == {0.0}

    def test_evidence_spans_point_into_the_original_text(self) -> None:
        """Each cue's evidence is a span of the original (Traditional, full-width) text."""
        text = "親，發票什麼時候開？退款呢"
        result = ks.topic(text)
        cues = [e for e in result.evidence if e.kind == "topic_cue"]
        assert [(e.text, e.rule) for e in cues] == [("發票", "invoice"), ("退款", "refund")]
        assert all(text[e.start : e.end] == e.text for e in cues)
        assert result.label == "invoice"  # 发票 3.0 over 退款 2.5

    def test_scores_cover_every_topic_and_sum_the_cue_weights(self) -> None:
        """scores has one entry per topic; the winner's is the sum of its cue weights."""
        result = ks.topic("快递物流")
        assert tuple(result.scores) == DEFAULT_TOPICS
        assert result.score == result.scores["logistics"] == 3.0
        assert result.ranked[0] == ("logistics", 3.0)

    def test_longest_cue_hides_the_shorter_inside(self) -> None:
        """取消退款 is one refund cue, not order's 取消 plus refund's 退款."""
        result = ks.topic("取消退款")
        assert [e.text for e in result.evidence] == ["取消退款"]

    def test_min_score_turns_weak_votes_into_none(self) -> None:
        """Below min_score the label is None and the reason names the weak topic."""
        result = ks.topic("东西", min_score=1.0)
        assert result.label is None
        assert "below min_score" in (result.reason or "")

    @pytest.mark.parametrize("bad", [0, -1.0, float("nan")])
    def test_bad_min_score_is_a_config_error(self, bad: float) -> None:
        """min_score must be a finite number above zero."""
        with pytest.raises(ConfigError, match="min_score"):
            ks.topic("快递", min_score=bad)

    def test_result_is_frozen(self) -> None:
        """Results are frozen attrs objects."""
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            ks.topic("快递").label = "x"  # type: ignore[misc]

    @settings(max_examples=60, deadline=None)
    @given(st.text(alphabet="快递退款发票好的这个吗?[]ORDERID_0123 ", max_size=30))
    def test_label_is_the_top_score_or_none(self, text: str) -> None:
        """For any text: a label is a top-scoring topic at or above min_score; evidence is exact."""
        result = ks.topic(text)
        top = max(result.scores.values())
        if result.label is not None:
            assert result.scores[result.label] == top >= 1.0
        else:
            assert top < 1.0
        assert all(text[e.start : e.end] == e.text for e in result.evidence)


class TestTopicLexicon:
    """TopicLexicon: editable like the politeness Lexicon, and a shop's taxonomy from files."""

    def test_with_cues_and_without_return_new_lexicons(self) -> None:
        """Edits return new lexicons; the default is unchanged."""
        base = ks.TopicLexicon.default()
        edited = base.with_cues([("以旧换新", "price_promo", 2.0)]).without("快递")
        assert ks.topic("以旧换新", lexicon=edited).label == "price_promo"
        assert "快递" not in edited
        assert "快递" in base
        assert "以旧换新" not in base

    def test_cue_for_an_unknown_topic_names_the_valid_ones(self) -> None:
        """A cue must vote for a topic of the taxonomy."""
        with pytest.raises(ConfigError, match="unknown topic 'warranty'; the topics are"):
            ks.TopicLexicon.default().with_cues([("保修卡", "warranty")])

    @pytest.mark.parametrize(
        ("cue", "match"),
        [
            (("", "order"), "non-empty"),
            (("订单", "Order!"), "lower-case identifier"),
            (("订单", "order", -1.0), ">= 0"),
        ],
    )
    def test_bad_cues_are_config_errors(self, cue: tuple[str, ...], match: str) -> None:
        """Bad phrases, topic ids and weights fail when the cue is built."""
        with pytest.raises(ConfigError, match=match):
            ks.TopicCue(*cue)  # type: ignore[arg-type]

    def test_traditional_cue_is_folded(self) -> None:
        """A cue written in Traditional script matches both scripts."""
        lex = ks.TopicLexicon.of([("運費險", "logistics", 2.0)])
        assert lex["运费险"].phrase == "运费险"
        assert ks.topic("运费险怎么赔", lexicon=lex).label == "logistics"

    def test_from_tsv_extends_default_and_declares_topics(self, tmp_path: Path) -> None:
        """A TSV adds cues and topics over the default; '-' rows remove cues."""
        path = tmp_path / "shop.tsv"
        path.write_text(
            "# our cues\n@topic\twarranty\t保修\n保修卡\twarranty\t3\n快递\t-\n", encoding="utf-8"
        )
        lex = ks.TopicLexicon.from_tsv(path)
        assert lex.topic_ids[-1] == "warranty"
        assert lex.topic_name("warranty") == "保修"
        assert ks.topic("保修卡丢了", lexicon=lex).label == "warranty"
        assert "快递" not in lex

    def test_from_tsv_bad_row_names_file_and_line(self, tmp_path: Path) -> None:
        """A malformed row is a ReadError with the file and 1-based line."""
        path = tmp_path / "bad.tsv"
        path.write_text("# header\n快递\tlogistics\tlots\n", encoding="utf-8")
        with pytest.raises(ReadError, match=r"bad\.tsv, line 2"):
            ks.TopicLexicon.from_tsv(path)

    def test_from_toml_is_a_whole_taxonomy(self, tmp_path: Path) -> None:
        """A TOML file with [topics.<id>] tables replaces the default taxonomy."""
        path = tmp_path / "tax.toml"
        path.write_text(
            '[topics.size]\nname = "尺码"\ncues = ["尺码", "大小"]\n'
            '[topics.fabric]\nname = "面料"\ncues = ["面料"]\nweighted = { "纯棉" = 2.0 }\n',
            encoding="utf-8",
        )
        lex = ks.TopicLexicon.from_toml(path)
        assert lex.topic_ids == ("size", "fabric")
        assert ks.topic("这件是纯棉的吗", lexicon=lex).label == "fabric"
        assert ks.topic("快递", lexicon=lex).label is None

    def test_from_toml_unknown_key_says_what_is_valid(self, tmp_path: Path) -> None:
        """A typo in a topic table names the valid keys."""
        path = tmp_path / "tax.toml"
        path.write_text('[topics.size]\nqueues = ["尺码"]\n', encoding="utf-8")
        with pytest.raises(ReadError, match="valid: name, description, cues, weighted"):
            ks.TopicLexicon.from_toml(path)


class TestIsPasted:
    """ks.is_pasted: order cards and bare links, which carry a topic but are no question."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("咨询订单号:[ORDERID_1]订单金额:[金额x]下单时间:[日期x]", True),
            ("咨询订单号:[ORDERID_1]商品ID:4274549", True),
            ("[订单编号:[ORDERID_1]，订单金额:[金额x]，下单时间:[日期x]]", True),
            ("订单号：123456789", True),
            ("https://item.jd.com/123.html", True),
            ("https://item.jd.com/123.html 这个有货吗", False),
            ("订单号:123 怎么还没发货", False),
            ("请问:怎么退货", False),
            ("好的", False),
        ],
    )
    def test_cards_and_links(self, text: str, *, expected: bool) -> None:
        """Two label: fields, one field and no words, or only URLs: pasted."""
        assert ks.is_pasted(text) is expected


class TestConversationTopics:
    """ks.topics: per-message topics with context, ranked topics with shares."""

    def test_context_follows_the_topic_before(self) -> None:
        """A bare 这个 / 后天的呢 takes the previous buyer topic, with context evidence."""
        c = conv(
            ("buyer", "快递什么时候到"),
            ("agent", "亲，明天送达哦"),
            ("buyer", "后天的呢"),
            ("buyer", "好的"),
        )
        result = ks.topics(c)
        follow = result.per_message[2]
        assert follow is not None
        assert follow.label == "logistics"
        assert [e.kind for e in follow.evidence] == ["context"]
        closing = result.per_message[3]
        assert closing is not None
        assert closing.label is None  # fillers never take a topic
        assert result.per_message[1] is None  # agent messages are not scored

    def test_context_can_be_switched_off(self) -> None:
        """With context=False a bare follow-up has no topic."""
        c = conv(("buyer", "快递什么时候到"), ("buyer", "这个呢"))
        result = ks.topics(c, context=False)
        assert result.per_message[1] is not None
        assert result.per_message[1].label is None

    def test_ranked_by_score_with_shares(self) -> None:
        """Topics are ranked; shares are fractions of topical buyer messages and sum to 1."""
        c = conv(
            ("buyer", "我要退款"),
            ("buyer", "退款多久到账"),
            ("buyer", "发票呢"),
            ("buyer", "[ORDERID_1]"),
        )
        result = ks.topics(c)
        assert result.label == "refund"
        assert [(t.label, t.count, t.messages) for t in result.topics] == [
            ("refund", 2, (0, 1)),
            ("invoice", 1, (2,)),
        ]
        assert result.share("refund") == pytest.approx(2 / 3)
        assert sum(t.share for t in result.topics) == pytest.approx(1.0)
        assert result.share("review") == 0.0

    def test_no_topic_is_explicit(self) -> None:
        """A conversation with no topical buyer message has label None and a reason."""
        result = ks.topics(conv(("buyer", "在吗"), ("agent", "在的")))
        assert (result.label, result.topics, result.reason) == (
            None,
            (),
            "no buyer message carries a topic",
        )

    def test_not_a_conversation_is_a_config_error(self) -> None:
        """topics() takes a Conversation."""
        with pytest.raises(ConfigError, match="takes a Conversation"):
            ks.topics(["快递"])  # type: ignore[arg-type]


TRAIN = [
    ("这件衣服尺码偏大吗", "size"),
    ("我穿多大码", "size"),
    ("尺码怎么选", "size"),
    ("xl码有吗", "size"),
    ("身高170穿什么码", "size"),
    ("大小合适吗", "size"),
    ("面料是纯棉的吗", "fabric"),
    ("起球吗", "fabric"),
    ("这个料子透气吗", "fabric"),
    ("会缩水吗", "fabric"),
    ("是什么面料", "fabric"),
    ("掉色吗", "fabric"),
]


@pytest.fixture(scope="module")
def model() -> ks.TopicModel:
    """A small model on two made-up labels."""
    return ks.TopicModel.train([t for t, _ in TRAIN], [y for _, y in TRAIN], folds=3)


class TestTopicModel:
    """TopicModel: a shop's own labels, trained in numpy, saved without pickle."""

    def test_learns_the_labels_and_reports_cv(self, model: ks.TopicModel) -> None:
        """Training texts come back with their labels; CV macro-F1 is in [0, 1]."""
        assert model.labels == ("fabric", "size")
        assert model.cv_macro_f1 is not None
        assert 0.0 <= model.cv_macro_f1 <= 1.0
        assert ks.topic("尺码怎么选", model=model).label == "size"
        assert ks.topic("面料是纯棉的吗", model=model).label == "fabric"

    def test_scores_are_probabilities_with_feature_evidence(self, model: ks.TopicModel) -> None:
        """A model's scores sum to 1; its evidence is spans of the text."""
        text = "这个面料起球吗"
        result = ks.topic(text, model=model)
        assert sum(result.scores.values()) == pytest.approx(1.0)
        assert result.evidence
        assert all(text[e.start : e.end] == e.text for e in result.evidence)

    def test_save_load_round_trip_without_pickle(
        self, model: ks.TopicModel, tmp_path: Path
    ) -> None:
        """save() writes one .npz that load() reads back to the same predictions."""
        path = model.save(tmp_path / "m.npz")
        again = ks.TopicModel.load(path)
        for text, _ in TRAIN:
            assert again.probabilities(text) == pytest.approx(model.probabilities(text), abs=1e-5)
        assert again.cv_macro_f1 == model.cv_macro_f1

    def test_load_rejects_other_files(self, tmp_path: Path) -> None:
        """A file that is not a TopicModel is a ModelFileError naming it."""
        path = tmp_path / "x.npz"
        path.write_bytes(b"not a zip")
        with pytest.raises(ModelFileError, match=r"x\.npz"):
            ks.TopicModel.load(path)

    @pytest.mark.parametrize(
        ("texts", "labels", "match"),
        [
            (["a", "b"], ["x"], "2 texts but 1 labels"),
            (["a", "b", "c"], ["x", "x", "y"], "at least 2 labels with 2 texts"),
        ],
    )
    def test_bad_training_input(self, texts: list[str], labels: list[str], match: str) -> None:
        """Mismatched or too-small training sets say what is needed."""
        with pytest.raises(ConfigError, match=match):
            ks.TopicModel.train(texts, labels)

    def test_lexicon_and_model_together_is_an_error(self, model: ks.TopicModel) -> None:
        """topic() takes a lexicon or a model, not both."""
        with pytest.raises(ConfigError, match="not both"):
            ks.topic("尺码", model=model, lexicon=ks.TopicLexicon.default())


class TestFrequentQuestions:
    """frequent_questions: near-identical buyer questions grouped, with agents' answers."""

    @pytest.mark.parametrize(
        ("a", "b"),
        [
            ("你好，请问发票怎么开", "发票怎么开啊"),
            ("订单12345678901怎么取消", "订单98765432109怎么取消"),
        ],
    )
    def test_near_identical_questions_share_a_key(self, a: str, b: str) -> None:
        """Greetings, particles and the digits of numbers do not change the key."""
        assert question_key(a) == question_key(b) != ""

    def test_groups_counts_answers_and_unanswered(self) -> None:
        """Groups count messages and conversations, keep the usual answer and unanswered share."""
        convs = [
            conv(("buyer", "发票怎么开"), ("agent", "亲，下单时选择开票即可"), cid="a"),
            conv(("buyer", "请问发票怎么开啊"), ("agent", "亲，下单时选择开票即可"), cid="b"),
            conv(("buyer", "发票怎么开"), cid="c"),
            conv(("buyer", "好的"), ("buyer", "好的"), cid="d"),
        ]
        groups = ks.frequent_questions(convs, escalation_rate=False)
        assert len(groups) == 1
        g = groups[0]
        assert (g.count, g.conversations, g.topic) == (3, 3, "invoice")
        assert g.answers == (("亲，下单时选择开票即可", 2),)
        assert g.unanswered_rate == pytest.approx(1 / 3)
        assert g.escalated_rate is None

    def test_bad_argument_says_what_is_valid(self) -> None:
        """Numeric options are checked up front."""
        with pytest.raises(ConfigError, match="top must be an int >= 1"):
            ks.frequent_questions([], top=0)
