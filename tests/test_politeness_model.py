"""Specification of the offensive-language model (numpy only, COLD-trained weights)."""

from __future__ import annotations

import io

import numpy as np
import pytest

from kefu_standards._offensive import (
    OffensiveModel,
    default_model,
    fit,
    from_arrays,
    hashed_ngrams,
    to_arrays,
)
from kefu_standards.exceptions import ConfigError, ModelFileError
from kefu_standards.resources import load_npz


class TestShippedModel:
    def test_names_cold_and_its_licence(self) -> None:
        arrays = load_npz("politeness/offensive_cold.npz")
        assert any("COLD" in str(s) for s in arrays["sources"])
        assert "Apache-2.0" in str(arrays["licence"])
        model = default_model()
        assert model.bits == 18
        assert model.weights.shape == (1 << 18,)

    @pytest.mark.parametrize(
        ("text", "offensive"),
        [("黑人都是垃圾，滚出中国", True), ("亲，您好，请问有什么可以帮您？", False)],
    )
    def test_obvious_cases(self, text: str, offensive: bool) -> None:
        assert (default_model().probability(text) > 0.5) is offensive


class TestHashing:
    def test_counts_1_2_3_grams(self) -> None:
        assert [hashed_ngrams(t, 18).size for t in ("", "a", "ab", "abc", "abcd")] == [
            0,
            1,
            3,
            6,
            9,
        ]

    def test_deterministic_and_in_range(self) -> None:
        ids = hashed_ngrams("你好，世界", 12)
        assert (ids == hashed_ngrams("你好，世界", 12)).all()
        assert int(ids.max()) < 1 << 12

    def test_batch_logits_equal_single(self) -> None:
        model = default_model()
        texts = ["", "a", "你好", "你这个白痴", "亲，您好"]
        assert model.logits(texts) == pytest.approx([model.logit(t) for t in texts], abs=1e-9)
        assert model.logits([]) == []


class TestTraining:
    def test_fit_learns_a_toy_task(self) -> None:
        texts = ["你真是个废物", "滚开废物", "废物一个", "谢谢您", "您好呀", "感谢支持"] * 5
        labels = [1, 1, 1, 0, 0, 0] * 5
        model = fit(texts, labels, bits=12, epochs=100)
        assert model.probability("废物") > 0.5 > model.probability("谢谢")

    @pytest.mark.parametrize(
        ("texts", "labels", "message"),
        [(["a"], [1, 0], "one label per text"), (["a"], [2], "0 \\(safe\\) and 1"), ([], [], "0")],
    )
    def test_fit_validates(self, texts: list, labels: list, message: str) -> None:
        with pytest.raises(ConfigError, match=message):
            fit(texts, labels)

    def test_round_trip_without_pickle(self) -> None:
        model = fit(["坏", "好"], [1, 0], bits=8, epochs=5, sources=("toy",), licence="MIT")
        buf = io.BytesIO()
        np.savez_compressed(buf, **to_arrays(model))
        buf.seek(0)
        with np.load(buf, allow_pickle=False) as z:
            back = from_arrays({k: z[k] for k in z.files})
        assert (back.bits, back.sources, back.licence) == (8, ("toy",), "MIT")
        assert back.logit("坏") == pytest.approx(model.logit("坏"))

    def test_bad_arrays(self) -> None:
        with pytest.raises(ModelFileError, match="not supported"):
            from_arrays({"format": np.array("other/9")})
        with pytest.raises(ModelFileError, match="not a valid"):
            from_arrays({"format": np.array("kefu-offensive-ngram-lr/1")})

    def test_shape_validated(self) -> None:
        with pytest.raises(ConfigError, match="shape"):
            OffensiveModel(np.zeros(10), 0.0, 8)
