"""Specification of offset-preserving text normalisation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kefu_standards.text import (
    blank_placeholders,
    fold,
    has_content,
    normalize,
    placeholder_spans,
)

# Traditional, full-width, placeholder and emoji-rich text.
chat_text = st.lists(
    st.sampled_from(
        [
            *"親謝請問這個質量還說們，！？ＡＢｃ１２　 好的在吗[]数字x#E-s/:^_😀\n",
            "[数字x]",
            "#E-s[数字x]",
            "/:^_^",
            "[ORDERID_123]",
        ]
    ),
    max_size=30,
).map("".join)


class TestFold:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("親，謝謝！", "亲,谢谢!"),
            ("這個質量還行", "这个质量还行"),
            ("ＯＫ　ｏｋ", "ok ok"),
            ("ABC", "abc"),
            ("１２３４５", "12345"),
            ("好的。", "好的。"),
            ("", ""),
        ],
    )
    def test_table(self, raw: str, expected: str) -> None:
        """Full width, Traditional and ASCII case fold to one form."""
        assert expected == fold(raw)

    @given(chat_text)
    def test_length_is_preserved(self, s: str) -> None:
        """Folding never changes the length, so offsets stay valid."""
        assert len(fold(s)) == len(s)
        assert len(normalize(s)) == len(s)


class TestPlaceholders:
    @pytest.mark.parametrize(
        ("raw", "spans"),
        [
            ("订单[ORDERID_10337264]到了", [(2, 20)]),
            ("#E-s[数字x]好的", [(0, 9)]),
            ("共[金额x]元", [(1, 6)]),
            ("谢谢/:^_^", [(2, 7)]),
            ("[价保金额(单件)]", [(0, 10)]),
            ("普通文本[不是]", []),
            ("发了[图片]", [(2, 6)]),
        ],
    )
    def test_spans(self, raw: str, spans: list[tuple[int, int]]) -> None:
        """Corpus placeholders and emoticon codes are found with their spans."""
        assert spans == placeholder_spans(raw)

    def test_blank_keeps_length(self) -> None:
        """Blanking replaces each placeholder by spaces of the same length."""
        assert blank_placeholders("a[数字x]b") == "a     b"

    def test_normalize_blanks_before_folding(self) -> None:
        """Upper-case placeholder codes are recognised even though fold lower-cases."""
        assert normalize("[ORDERID_12]親") == " " * 12 + "亲"

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("", False),
            ("   ", False),
            ("？？！", False),
            ("[数字x] #E-s[数字x]", False),
            ("好", True),
            ("ok", True),
            ("[数字x]件", True),
        ],
    )
    def test_has_content(self, raw: str, expected: bool) -> None:
        """Only text with letters, digits or CJK outside placeholders has content."""
        assert expected == has_content(raw)
