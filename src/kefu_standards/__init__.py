"""kefu_standards: measured service-quality signals from Chinese e-commerce chats.

Importing this package is cheap: it loads no model, no jieba dictionary and no
lexicon.  The analysis functions live in submodules that are imported on first
use (a closed, listed set, see ``_LAZY``), and their data loads on first call.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from . import exceptions
from .evidence import Evidence
from .exceptions import KefuError
from .model import Conversation, Message, Role

__version__ = "0.1.0"

# name -> submodule that defines it; imported on first attribute access.
_LAZY: dict[str, str] = {
    # reading and writing
    "read_conversations": "io",
    "write_jsonl": "io",
    "ReadReport": "io",
    # response times
    "response_times": "timing",
    "ResponseTimes": "timing",
    "Round": "timing",
    "TimingPolicy": "timing",
    "BusinessHours": "timing",
    "summarize_response_times": "timing",
    "TimingSummary": "timing",
    # sentiment
    "sentiment": "sentiment",
    "sentiment_many": "sentiment",
    "sentiment_scores": "sentiment",
    "Sentiment": "sentiment",
    "SentimentModel": "sentiment",
    # politeness
    "politeness": "politeness",
    "politeness_many": "politeness",
    "Politeness": "politeness",
    "PolitenessScorer": "politeness",
    "Lexicon": "politeness",
    # escalation
    "escalation": "escalation",
    "Escalation": "escalation",
    # competency and scoring
    "assess": "competency",
    "Assessment": "competency",
    "Scorecard": "competency",
    "Criterion": "competency",
    "DimensionScore": "competency",
    "profile_agent": "competency",
    "AgentProfile": "competency",
    "Scorer": "scoring",
    "ScoreResult": "scoring",
    "make_scorer": "scoring",
    "get_scorer": "scoring",
    "get_scorer_names": "scoring",
    # many conversations
    "analyze": "analysis",
    "Analysis": "analysis",
    "ConversationResult": "analysis",
}

__all__ = [
    "AgentProfile",
    "Analysis",
    "Assessment",
    "BusinessHours",
    "Conversation",
    "ConversationResult",
    "Criterion",
    "DimensionScore",
    "Escalation",
    "Evidence",
    "KefuError",
    "Lexicon",
    "Message",
    "Politeness",
    "PolitenessScorer",
    "ReadReport",
    "ResponseTimes",
    "Role",
    "Round",
    "ScoreResult",
    "Scorecard",
    "Scorer",
    "Sentiment",
    "SentimentModel",
    "TimingPolicy",
    "TimingSummary",
    "__version__",
    "analyze",
    "assess",
    "escalation",
    "exceptions",
    "get_scorer",
    "get_scorer_names",
    "make_scorer",
    "politeness",
    "politeness_many",
    "profile_agent",
    "read_conversations",
    "response_times",
    "sentiment",
    "sentiment_many",
    "sentiment_scores",
    "summarize_response_times",
    "testing",
    "write_jsonl",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from . import testing
    from .analysis import Analysis, ConversationResult, analyze
    from .competency import (
        AgentProfile,
        Assessment,
        Criterion,
        DimensionScore,
        Scorecard,
        assess,
        profile_agent,
    )
    from .escalation import Escalation, escalation
    from .io import ReadReport, read_conversations, write_jsonl
    from .politeness import Lexicon, Politeness, PolitenessScorer, politeness, politeness_many
    from .scoring import ScoreResult, get_scorer, get_scorer_names, make_scorer
    from .sentiment import Sentiment, SentimentModel, sentiment, sentiment_many, sentiment_scores
    from .timing import (
        BusinessHours,
        ResponseTimes,
        Round,
        TimingPolicy,
        TimingSummary,
        response_times,
        summarize_response_times,
    )
    from .typing import Scorer


# submodules reachable as attributes (``ks.testing.check_scorer``), imported on first use.
_LAZY_SUBMODULES = frozenset({"testing"})


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kefu_standards' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


class _Package(types.ModuleType):
    """Keep ``ks.sentiment`` (and politeness, escalation) the *function*.

    Importing a submodule makes Python set it as an attribute of the package,
    which would hide the function of the same name.  The submodules stay
    importable (``from kefu_standards.sentiment import SentimentModel``).
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if (
            isinstance(value, types.ModuleType)
            and _LAZY.get(name) == name
            and value.__name__ == f"{__name__}.{name}"
        ):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
