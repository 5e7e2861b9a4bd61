r"""One JSON document as text that any UTF-8 sink can take.

``json.dumps(..., ensure_ascii=False)`` keeps non-ASCII characters as they are,
which is what the JSON Lines outputs want, but a lone surrogate (a truncated
emoji in a JSON export, ``"\ud83d"``) then reaches the UTF-8 encoder of the file
and raises ``UnicodeEncodeError``.  :func:`dumps` writes such a character as its
``\uXXXX`` escape instead, so the line is valid UTF-8 and JSON, and reading it
back gives the same string.  :func:`visible` does the same for text printed in a
table.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["dumps", "visible"]

_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def dumps(obj: Any) -> str:
    """Return ``json.dumps(obj, ensure_ascii=False)`` with lone surrogates escaped.

    Outside string literals ``json.dumps`` writes only ASCII, so every surrogate in
    its output is inside a string, where the escape means the same character.
    """
    return visible(json.dumps(obj, ensure_ascii=False))


def visible(text: str) -> str:
    r"""Return *text* with each lone surrogate written as its ``\uXXXX`` escape (for tables)."""
    return _SURROGATE.sub(_escape, text) if _SURROGATE.search(text) else text
