"""Specification of the offensive-language model (an n-gram table; COLD-trained weights)."""

from __future__ import annotations

import io
import math
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kefu_standards._offensive import (
    OffensiveModel,
    default_model,
    fit,
    from_arrays,
    ngram_keys,
    to_arrays,
)
from kefu_standards.exceptions import ConfigError, ModelFileError
from kefu_standards.resources import load_npz


class TestShippedModel:
    def test_names_cold_and_its_licence(self) -> None:
        """The shipped file says it was trained on COLD, under Apache-2.0."""
        arrays = load_npz("politeness/offensive_cold.npz")
        assert any("COLD" in str(s) for s in arrays["sources"])
        assert "Apache-2.0" in str(arrays["licence"])
        assert len(default_model()) == arrays["weights"].size > 10_000

    @pytest.mark.parametrize(
        ("text", "offensive"),
        [("黑人都是垃圾，滚出中国", True), ("亲，您好，请问有什么可以帮您？", False)],
    )
    def test_obvious_cases(self, text: str, offensive: bool) -> None:
        """An insult scores above one half, a service greeting below."""
        assert (default_model().probability(text) > 0.5) is offensive


class TestKeys:
    @pytest.mark.parametrize(
        ("text", "counts"),
        [
            ("", (0, 0)),
            ("a", (1, 0)),
            ("ab", (2, 1)),
            ("abc", (3, 2)),
            ("你好，世界", (5, 4)),
            ("好😀", (3, 2)),  # an emoji is two UTF-16 units
        ],
    )
    def test_counts_1_2_grams(self, text: str, counts: tuple[int, int]) -> None:
        """n units give n unigrams and n - 1 bigrams."""
        assert tuple(map(len, ngram_keys(text))) == counts

    def test_keys_pack_the_units(self) -> None:
        """A unigram is the unit ``a``, a bigram ``a | b << 16`` (even starts first)."""
        a, b, c = map(ord, "你好吗")
        assert ngram_keys("你好吗") == ([a, b, c], [a | b << 16, b | c << 16])

    @given(st.text(alphabet="ab你好\x00😀,。 ", max_size=14) | st.text(max_size=14))
    def test_keys_are_every_1_and_2_gram(self, text: str) -> None:
        """The keys are the text's UTF-16 units and adjacent pairs, each exactly once."""
        raw = text.encode("utf-16-le", "surrogatepass")
        units = [int.from_bytes(raw[i : i + 2], "little") for i in range(0, len(raw), 2)]
        pairs = sorted(a | b << 16 for a, b in pairwise(units))
        uni, bi = ngram_keys(text)
        assert (uni, sorted(bi)) == (units, pairs)

    def test_unseen_ngrams_weigh_nothing_but_count(self) -> None:
        """Only the bias and the length normaliser act on n-grams outside the table."""
        model = OffensiveModel(("坏",), np.array([3.0]), -1.0)
        assert model.logit("好") == -1.0
        assert model.logit("坏") == 2.0
        assert model.logit("好坏") == pytest.approx(3.0 / math.sqrt(3) - 1.0)  # 2 + 1 n-grams
        assert model.logits(["", "坏"]) == [-1.0, 2.0]


class TestTraining:
    def test_fit_learns_a_toy_task(self) -> None:
        """Five copies of six texts are enough to tell 废物 from 谢谢."""
        texts = ["你真是个废物", "滚开废物", "废物一个", "谢谢您", "您好呀", "感谢支持"] * 5
        labels = [1, 1, 1, 0, 0, 0] * 5
        model = fit(texts, labels, epochs=100)
        assert model.probability("废物") > 0.5 > model.probability("谢谢")

    def test_min_count_prunes_rare_ngrams(self) -> None:
        """The table keeps only n-grams found in at least ``min_count`` texts."""
        texts, labels = ["坏蛋", "坏人", "好人"], [1, 1, 0]
        kw = {"epochs": 5, "min_weight": 0.0}
        assert set(fit(texts, labels, min_count=2, **kw).grams) == {"坏", "人"}
        assert len(fit(texts, labels, min_count=1, **kw)) == 7

    def test_min_weight_drops_light_ngrams(self) -> None:
        """After training, n-grams lighter than ``min_weight`` leave the table."""
        texts = ["你真是个废物", "滚开废物", "谢谢您", "您好呀"] * 3
        labels = [1, 1, 0, 0] * 3
        full = fit(texts, labels, min_count=1, min_weight=0.0, epochs=50)
        cut = float(np.median(np.abs(full.weights)))
        light = {g for g, w in zip(full.grams, full.weights, strict=True) if abs(w) < cut}
        pruned = fit(texts, labels, min_count=1, min_weight=cut, epochs=50)
        assert light
        assert set(pruned.grams) == set(full.grams) - light

    @pytest.mark.parametrize("nb_alpha", [0.0, 0.5, 1.0])
    def test_with_and_without_naive_bayes_scaling(self, nb_alpha: float) -> None:
        """``nb_alpha=0`` trains the plain n-grams; any setting learns the toy task."""
        texts = ["你真是个废物", "滚开废物", "废物一个", "谢谢您", "您好呀", "感谢支持"] * 5
        model = fit(texts, [1, 1, 1, 0, 0, 0] * 5, nb_alpha=nb_alpha, epochs=100)
        assert model.probability("废物") > 0.5 > model.probability("谢谢")

    @pytest.mark.parametrize(
        ("texts", "labels", "kw", "message"),
        [
            (["a"], [1, 0], {}, "one label per text"),
            (["a"], [2], {}, "0 \\(safe\\) and 1"),
            ([], [], {}, "0"),
            (["a"], [1], {"min_count": 0}, "min_count must be >= 1"),
            (["a"], [1], {"nb_alpha": -1.0}, "nb_alpha must be >= 0"),
        ],
    )
    def test_fit_validates(self, texts: list, labels: list, kw: dict, message: str) -> None:
        """Bad training input raises ConfigError saying what is valid."""
        with pytest.raises(ConfigError, match=message):
            fit(texts, labels, **kw)

    def test_round_trip_without_pickle(self) -> None:
        """to_arrays / from_arrays keep the n-grams, weights, sources and licence."""
        model = fit(["坏😀", "好"], [1, 0], min_count=1, epochs=5, sources=("toy",), licence="MIT")
        buf = io.BytesIO()
        np.savez_compressed(buf, **to_arrays(model))
        buf.seek(0)
        with np.load(buf, allow_pickle=False) as z:
            back = from_arrays({k: z[k] for k in z.files})
        assert (back.grams, back.sources, back.licence) == (model.grams, ("toy",), "MIT")
        assert back.logit("坏😀") == model.logit("坏😀")

    def test_bad_arrays(self) -> None:
        """A file of another format or with missing arrays is refused by name."""
        with pytest.raises(ModelFileError, match="not supported"):
            from_arrays({"format": np.array("kefu-offensive-ngram-lr/1")})
        with pytest.raises(ModelFileError, match="not a valid"):
            from_arrays({"format": np.array("kefu-offensive-ngram-table/2")})

    @pytest.mark.parametrize(
        ("grams", "weights", "bias", "message"),
        [
            (("a", "b"), [1.0], 0.0, "one weight per n-gram"),
            (("a", "a"), [1.0, 2.0], 0.0, "must not repeat"),
            (("abc",), [1.0], 0.0, "1 or 2 UTF-16 units"),
            (("",), [1.0], 0.0, "1 or 2 UTF-16 units"),
            (("a",), [math.inf], 0.0, "finite"),
            (("a",), [1.0], math.nan, "bias must be a finite"),
        ],
    )
    def test_validated_when_built(
        self, grams: tuple[str, ...], weights: list[float], bias: float, message: str
    ) -> None:
        """A malformed table raises ConfigError when the model is built."""
        with pytest.raises(ConfigError, match=message):
            OffensiveModel(grams, np.array(weights), bias)
