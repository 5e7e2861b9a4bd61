"""Text normalisation that never moves an offset.

Every function here that returns text returns a string **of the same length**
as its input, character for character, so a span found in the normalised text
is a span of the original: ``original[start:end]`` is always the evidence.

- :func:`fold` — full-width to half-width, Traditional to Simplified (one
  character to one character, OpenCC's table), ASCII lower case.
- :func:`blank_placeholders` — anonymisation placeholders (``[数字x]``,
  ``[ORDERID_123]``) and emoticon codes (``#E-s[数字x]``, ``/:^_^``) replaced by
  spaces.
- :func:`normalize` — both (placeholders first, on the original), the form
  every analyser reads.

Personal data in text shown to people is masked by
:func:`kefu_standards.redact.redact` (same length too).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from .exceptions import InputTypeError
from .resources import lazy, load_tsv

__all__ = [
    "blank_placeholders",
    "fold",
    "has_content",
    "normalize",
    "placeholder_spans",
]

# Corpus anonymisation placeholders: [数字x] [金额x] [姓名x] [ORDERID_10337264] [USERID_5];
# media and card markers of chat exports: [图片] [语音] [商品快照] [价保金额(单件)].
# Bracketed Chinese without the trailing "x" is ordinary text ("[不是]") unless listed.
_CARD_MARKERS = (
    "图片|语音|视频|表情|文件|链接|商品|订单|卡片|商品快照|商品链接|订单卡片|位置|红包|"
    "价保金额\\(单件\\)|价保商品数量"
)
_PLACEHOLDER = r"\[(?:[\u4e00-\u9fff]{1,6}x|" + _CARD_MARKERS + r"|[A-Z]+_\d+|[A-Z]+_?x)\]"
# Emoticon codes: JD #E-s[数字x] / #E-s33 / #E-b12, Taobao /:^_^ /:809 /:Q
_EMOTICON = (
    r"#E-[a-z]\d*(?:\[[^\]\s]{1,6}\]|\d+)?\d*(?:#E)?"
    r"|/:(?:[0-9]{3}|[\^_$*&?!~Q\-]{1,4}|[a-zA-Z]{1,2}\b)"
)
_PLACEHOLDER_RE = re.compile(f"{_EMOTICON}|{_PLACEHOLDER}")

_CONTENT_RE = re.compile(r"[0-9A-Za-z\u3400-\u9fff\uf900-\ufaff]")


@lazy
def _fold_table() -> dict[int, int]:
    table: dict[int, int] = {}
    for code in range(0xFF01, 0xFF5F):  # full-width ASCII
        table[code] = code - 0xFEE0
    table[0x3000] = 0x20  # ideographic space
    for code in range(ord("A"), ord("Z") + 1):
        table[code] = code + 32
    for code in range(0xFF21, 0xFF3B):  # full-width A-Z -> a-z
        table[code] = code - 0xFEE0 + 32
    for entry in load_tsv("t2s_chars.tsv"):
        trad, simp = entry.phrase, entry.fields[0]
        table[ord(trad)] = ord(simp)
    return table


@lazy
def _fold_chars() -> str:
    """:func:`_fold_table` as a string indexed by code point, up to the last folded one.

    ``str.translate`` looks each character up in its table; a string answers at
    once, where a dict raises (and catches) a ``KeyError`` for every character it
    leaves alone.  Characters beyond the string's end stay as they are.
    """
    table = _fold_table()
    return "".join(chr(table.get(code, code)) for code in range(max(table) + 1))


def fold(text: str) -> str:
    """Full-width → half-width, Traditional → Simplified, ASCII → lower case.

    Same length as *text*: ``len(fold(t)) == len(t)`` for every ``t``.

    >>> fold("親，謝謝！ＯＫ")
    '亲,谢谢!ok'
    """
    return text.translate(_fold_chars())


def placeholder_spans(text: str) -> list[tuple[int, int]]:
    """Return ``(start, end)`` of each placeholder or emoticon code in *text*."""
    return [m.span() for m in _PLACEHOLDER_RE.finditer(text)]


def blank_placeholders(text: str) -> str:
    """Replace placeholders and emoticon codes by spaces (same length)."""
    return _PLACEHOLDER_RE.sub(lambda m: " " * (m.end() - m.start()), text)


def normalize(text: str) -> str:
    """Return the form analysers read: :func:`blank_placeholders`, then :func:`fold`.

    Same length as *text*.

    >>> normalize("#E-s[数字x]親，好的")
    '         亲,好的'
    """
    return fold(blank_placeholders(text))


@lru_cache(maxsize=65536)
def has_content(text: str) -> bool:
    """Return True if *text* has a letter, digit or CJK character outside placeholders.

    Empty, whitespace-only, punctuation-only and placeholder-only texts have
    no content: sentiment and politeness are *undefined* for them.  Cached by
    text (chat repeats itself; every analyser asks).
    """
    return _CONTENT_RE.search(blank_placeholders(text)) is not None


def text_list(texts: Iterable[str], caller: str, one_text: str) -> list[str]:
    """Return *texts* as a list for the ``*_many`` function *caller*.

    A single ``str`` (it would be scored character by character) or something
    that is not iterable raises :class:`~kefu_standards.exceptions.InputTypeError`;
    *one_text* names the call to use for one text (``"sentiment(text)"``).
    """
    if isinstance(texts, str):
        msg = f"{caller}() needs an iterable of texts, not one str; use {one_text}"
        raise InputTypeError(msg)
    try:
        return list(texts)
    except TypeError:
        msg = f"{caller}() needs an iterable of texts, got {type(texts).__name__}"
        raise InputTypeError(msg) from None
