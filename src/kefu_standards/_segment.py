"""Word segmentation with jieba, loaded on first use and silenced.

jieba prints its dictionary-loading progress to stderr through a logger it
configures at import, and builds its prefix dictionary (about a second) on the
first cut.  Both happen here, once, on the first call of :func:`words`, never
at ``import kefu_standards``.  The package uses its own ``jieba.Tokenizer``
instance, so a caller's changes to jieba's global dictionary do not leak in.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any

from .resources import lazy
from .text import normalize

__all__ = ["words"]

_NUMBER_RE = re.compile(r"\d+(?:\.\d+)?")
_WORD_RE = re.compile(r"[0-9a-z\u3400-\u9fff]")


@lazy
def _tokenizer() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)  # jieba's own logger; it logs the load at DEBUG
    logging.getLogger("jieba").setLevel(logging.WARNING)
    tok = jieba.Tokenizer()
    tok.initialize()
    return tok


@lru_cache(maxsize=65536)
def words(text: str) -> tuple[str, ...]:
    """Return the words of *text*: normalised, each number folded to ``0``, punctuation dropped.

    Placeholders (``[数字x]``, order ids) are blanked first, so an order number
    contributes nothing; a number typed by the buyer becomes ``0``.  Cached by text.
    """
    norm = _NUMBER_RE.sub("0", normalize(text))
    return tuple(w for w in _tokenizer().lcut(norm, HMM=True) if _WORD_RE.search(w))
