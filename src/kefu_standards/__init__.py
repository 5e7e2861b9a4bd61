"""kefu_standards: measured service-quality signals from Chinese e-commerce chats.

Importing this package is cheap: it loads no model, no jieba dictionary and no
lexicon.  The analysis functions live in submodules that are imported on first
use (a closed, listed set, see ``_LAZY``), and their data loads on first call.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import exceptions
from .evidence import Evidence
from .exceptions import KefuError
from .model import Conversation, Message, Role

__version__ = "0.1.0"

# name -> submodule that defines it; imported on first attribute access.
_LAZY: dict[str, str] = {
    "read_conversations": "io",
    "write_jsonl": "io",
    "ReadReport": "io",
}

__all__ = [
    "Conversation",
    "Evidence",
    "KefuError",
    "Message",
    "Role",
    "__version__",
    "exceptions",
    *_LAZY,
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from .io import ReadReport, read_conversations, write_jsonl


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kefu_standards' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
