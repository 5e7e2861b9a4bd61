"""Specification of the chat-register parts of buyer sentiment.

Chat cue groups (urging, complaint, rhetorical, trouble), the public training
recipe (``SentimentModel.default_corpus``, ``train_default``, ``mix``) and the
chat cases the packaged model must order correctly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kefu_standards import _features
from kefu_standards._sentiment import (
    CORPUS_WEIGHTS,
    DEFAULT_SEEDS,
    REVIEW_SHARE,
    SentimentModel,
    _average,
    default_corpus,
    sentiment,
)
from kefu_standards._sentiment_cli import read_labelled
from kefu_standards.exceptions import ConfigError, ModelFileError, UnknownNameError

FIXTURES = Path(__file__).parent / "fixtures" / "sentiment"


def score(text: str) -> float:
    s = sentiment(text).score
    assert s is not None, text
    return s


# --------------------------------------------------------------------------- packaged model, chat

# (calmer, more dissatisfied): the first must score higher than the second.
CHAT_PAIRS = [
    # a neutral logistics question is not a complaint about the same thing
    ("请问什么时候发货", "怎么还不发货"),
    ("请问大概几天能到", "都三天了还没到"),
    ("请问退款几天到账", "退款一个星期了还没到账"),
    ("请问可以开发票吗", "发票一直没给我开"),
    # following up is calmer than pressing
    ("麻烦帮我查一下物流", "到底什么时候能到啊"),
    ("好的，我等你们消息", "还要等多久？？"),
    # giving information is not negative
    ("订单号[ORDERID_1]", "我要投诉"),
    ("我明天下午在家", "快递员态度太差了"),
    # thanks beat acknowledgement beats impatience
    ("好的谢谢", "好的"),
    ("好的", "人呢？"),
    # rhetorical questions blame
    ("这个可以退吗", "凭什么不给退"),
    ("请问包邮吗", "不是说包邮吗"),
]


@pytest.mark.parametrize(("calmer", "worse"), CHAT_PAIRS)
def test_chat_pairs_are_ordered(calmer: str, worse: str) -> None:
    """The packaged model ranks the calmer message of each pair higher."""
    assert score(calmer) > score(worse), (calmer, score(calmer), worse, score(worse))


# (text, expected label) for clear chat cases.
CHAT_LABELS = [
    ("怎么还不发货", "negative"),
    ("都一个星期了还没到", "negative"),
    ("问了三遍都没人解决", "negative"),
    ("我要投诉你们", "negative"),
    ("刚买两天就降价了", "negative"),
    ("好的，谢谢亲", "positive"),
    ("问题解决了，谢谢", "positive"),
    ("没问题了，谢谢", "positive"),
]


@pytest.mark.parametrize(("text", "label"), CHAT_LABELS)
def test_chat_labels(text: str, label: str) -> None:
    """Clear complaints are negative and thanks positive."""
    assert sentiment(text).label == label


def test_cue_evidence_names_the_cue() -> None:
    """A chat cue hit is evidence of kind ``cue`` whose span is the cue word."""
    text = "都三天了，怎么还没发货"
    cues = [e for e in sentiment(text).evidence if e.kind == "cue"]
    assert cues
    for e in cues:
        assert text[e.start : e.end] == e.text
        assert e.weight < 0


def test_packaged_model_is_a_mix_with_cue_groups() -> None:
    """The packaged model records its recipe and carries the chat cue groups."""
    model = SentimentModel.default()
    groups = dict(model.features.cue_groups)
    assert {"urging", "complaint", "rhetorical", "trouble"} <= set(groups)
    assert "怎么还" in groups["urging"]
    assert f'"share": {REVIEW_SHARE}' in model.hyperparameters
    assert f'"seed": {list(DEFAULT_SEEDS)}' in model.hyperparameters


# --------------------------------------------------------------------------- cue-group features


def _builder(groups: tuple[tuple[str, tuple[str, ...]], ...]) -> _features.FeatureBuilder:
    empty = np.zeros(0, dtype=np.uint64)
    return _features.FeatureBuilder(
        bits=12,
        negators=("不",),
        negator_exceptions=(),
        negation_window=2,
        intensifiers=(),
        intensifier_window=2,
        sarcasm=(),
        lexicon_pos=empty,
        lexicon_neg=empty,
        cue_groups=groups,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("到底什么时候发", [(0, 2), (0, 2)]),  # one word feature and one group feature
        ("催了两次,到底", [(0, 1), (0, 1), (5, 7), (5, 7)]),
        ("好的", []),
    ],
)
def test_cue_groups_add_word_and_group_features(text: str, expected: list[tuple[int, int]]) -> None:
    """Each cue hit adds two occurrences (its word, its group) over the cue's span."""
    batch = _builder((("urging", ("催", "到底")),)).transform([text])
    cue = batch.kind == _features.KIND_CUE
    spans = sorted(zip(batch.start[cue].tolist(), batch.end[cue].tolist(), strict=True))
    assert spans == expected


def test_cue_group_feature_is_shared_by_its_words() -> None:
    """Two words of one group share the group's bucket; other groups do not."""
    b = _builder((("urging", ("催", "到底")), ("complaint", ("投诉",))))
    buckets = []
    for text in ("催", "到底", "投诉"):
        batch = b.transform([text])
        buckets.append(set(batch.bucket[batch.kind == _features.KIND_CUE].tolist()))
    assert buckets[0] & buckets[1]
    assert not buckets[0] & buckets[2]


def test_no_cue_groups_means_no_cue_features() -> None:
    """Without cue groups (older model files) no ``cue`` feature is produced."""
    batch = _builder(()).transform(["到底什么时候发"])
    assert not (batch.kind == _features.KIND_CUE).any()


def test_cue_word_in_two_groups_is_rejected() -> None:
    """A cue word belongs to one group."""
    with pytest.raises(ConfigError, match="one group"):
        _builder((("urging", ("到底",)), ("rhetorical", ("到底",))))


# --------------------------------------------------------------------------- corpus and recipe


def test_default_corpus_has_a_public_home() -> None:
    """``SentimentModel.default_corpus`` is the public name; the private function still works."""
    texts, labels, weights = SentimentModel.default_corpus({"reviews": 0})
    assert (texts, labels, weights) == default_corpus({"reviews": 0})
    assert set(weights) == {CORPUS_WEIGHTS["words"], CORPUS_WEIGHTS["chat"]}
    assert all(0.0 <= y <= 1.0 for y in labels)


def test_default_corpus_weight_zero_leaves_a_part_out() -> None:
    """A part with weight 0 is not in the corpus."""
    texts, _, weights = SentimentModel.default_corpus({"reviews": 0, "words": 0})
    assert set(weights) == {CORPUS_WEIGHTS["chat"]}
    assert "怎么还不发货" in texts


def test_default_corpus_rejects_unknown_parts() -> None:
    """Unknown corpus parts name the valid ones."""
    with pytest.raises(UnknownNameError):
        SentimentModel.default_corpus({"tweets": 1.0})


@pytest.fixture(scope="module")
def two_models() -> tuple[SentimentModel, SentimentModel]:
    texts, labels = read_labelled(FIXTURES / "train.tsv")
    a = SentimentModel.train(texts, labels, bits=12, epochs=5, seed=1, sources=("a",))
    b = SentimentModel.train(texts, labels, bits=12, epochs=5, seed=2, sources=("b",))
    return a, b


@pytest.mark.parametrize("share", [0.0, 0.3, 1.0])
def test_mix_is_a_weighted_sum(
    two_models: tuple[SentimentModel, SentimentModel], share: float
) -> None:
    """``a.mix(b, s)`` has weights and bias ``s * a + (1 - s) * b``, and its margins follow."""
    a, b = two_models
    m = a.mix(b, share)
    assert np.allclose(m.weights, share * a.weights + (1 - share) * b.weights, atol=1e-6)
    assert m.bias == pytest.approx(share * a.bias + (1 - share) * b.bias)
    texts = ["很好", "太差了", "没有问题"]

    def logit(p: np.ndarray) -> np.ndarray:
        return np.log(p / (1 - p))

    expected = share * logit(a.scores(texts)) + (1 - share) * logit(b.scores(texts))
    assert np.allclose(logit(m.scores(texts)), expected, atol=1e-4)
    assert m.sources == ("a", "b")


def test_average_of_seeds_is_the_mean(two_models: tuple[SentimentModel, SentimentModel]) -> None:
    """Averaging runs gives the mean weights and bias and records every seed."""
    a, b = two_models
    m = _average([a, b, a])
    assert np.allclose(m.weights, (2 * a.weights + b.weights) / 3, atol=1e-6)
    assert m.bias == pytest.approx((2 * a.bias + b.bias) / 3)
    assert '"seed": [1, 2, 1]' in m.hyperparameters


def test_mix_validates(two_models: tuple[SentimentModel, SentimentModel]) -> None:
    """The share is in [0, 1] and both models must compute the same features."""
    a, b = two_models
    with pytest.raises(ConfigError, match=r"\[0, 1\]"):
        a.mix(b, 1.5)
    texts, labels = read_labelled(FIXTURES / "train.tsv")
    other = SentimentModel.train(texts, labels, bits=13)
    with pytest.raises(ConfigError, match="feature configurations"):
        a.mix(other, 0.5)


def test_train_default_adds_own_lines_and_mixes() -> None:
    """``train_default`` trains the recipe with extra lines; the result is a mix."""
    model = SentimentModel.train_default(
        ["这家店的小哥超给力"],
        [1.0],
        corpus_weights={"reviews": 0, "words": 0},
        review_share=0.5,
        seeds=(0, 1),
        bits=12,
    )
    assert '"share": 0.5' in model.hyperparameters
    assert '"seed": [0, 1]' in model.hyperparameters
    assert model.scores(["这家店的小哥超给力"])[0] > 0.5
    assert sentiment("怎么还不发货", model=model).label == "negative"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"review_share": -0.1}, "review_share"),
        ({"seeds": ()}, "seeds"),
        ({"seed": 3}, "seeds"),
        ({"texts": ["好"], "labels": []}, "must match"),
    ],
)
def test_train_default_validates(kwargs: dict[str, object], match: str) -> None:
    """Bad recipe settings raise ``ConfigError`` saying what is valid."""
    with pytest.raises(ConfigError, match=match):
        SentimentModel.train_default(**kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- model files


def test_cue_groups_survive_save_and_load(tmp_path: Path) -> None:
    """A model file stores its cue groups; an older file without them still loads."""
    texts, labels = read_labelled(FIXTURES / "train.tsv")
    model = SentimentModel.train(texts, labels, bits=12)
    path = model.save(tmp_path / "m.npz")
    loaded = SentimentModel.load(path)
    assert loaded.features.cue_groups == model.features.cue_groups
    assert np.allclose(loaded.scores(["到底什么时候发货"]), model.scores(["到底什么时候发货"]))

    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if k != "cue_words"}
    old = tmp_path / "old.npz"
    np.savez(old, **arrays)
    assert SentimentModel.load(old).features.cue_groups == ()


def test_conflicting_cue_words_in_a_file_are_a_model_file_error(tmp_path: Path) -> None:
    """A file whose cue words conflict is reported as a bad model file."""
    texts, labels = read_labelled(FIXTURES / "train.tsv")
    path = SentimentModel.train(texts, labels, bits=12).save(tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["cue_words"] = np.array(["urging\t到底", "rhetorical\t到底"])
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    with pytest.raises(ModelFileError, match="one group"):
        SentimentModel.load(bad)
