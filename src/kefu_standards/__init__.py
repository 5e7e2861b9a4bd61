"""kefu_standards: measured service-quality signals from Chinese e-commerce chats.

Importing this package is cheap: it loads no model, no jieba dictionary and no
lexicon.  The analysis functions live in submodules that are imported on first
use (a closed, listed set, see ``_LAZY``), and their data loads on first call.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import exceptions
from ._version import __version__
from .evidence import Evidence
from .exceptions import KefuError
from .model import Conversation, Message, Role

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
    "sentiment": "_sentiment",
    "sentiment_many": "_sentiment",
    "sentiment_scores": "_sentiment",
    "Sentiment": "_sentiment",
    "SentimentModel": "_sentiment",
    "cross_validate_sentiment": "_sentiment_cv",
    # politeness
    "politeness": "_politeness",
    "politeness_many": "_politeness",
    "Politeness": "_politeness",
    "PolitenessScorer": "_politeness",
    "Lexicon": "_politeness",
    # escalation
    "escalation": "_escalation",
    "Escalation": "_escalation",
    "EscalationPolicy": "_escalation",
    "EscalationModel": "_escalation_fit",
    "EscalationFitReport": "_escalation_fit",
    "HeadEvaluation": "_escalation_fit",
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
    # consultation topics
    "topic": "_topics",
    "topics": "_topics",
    "Topic": "_topics",
    "TopicCue": "_topics",
    "TopicDef": "_topics",
    "TopicLexicon": "_topics",
    "TopicShare": "_topics",
    "ConversationTopics": "_topics",
    "is_pasted": "_topics",
    "TopicModel": "_topic_model",
    "frequent_questions": "_faq",
    "FrequentQuestion": "_faq",
    # many conversations
    "Signals": "_signals",
    "signals": "_signals",
    "signals_many": "_signals",
    "analyze": "analysis",
    "Analysis": "analysis",
    "ConversationResult": "analysis",
    "trends_of": "analysis",
    "Trends": "_trends",
    "TrendRow": "_trends",
    "AgentLearning": "_trends",
    "to_pandas": "frames",
    "to_arrow": "frames",
    # outcomes (#15): ratings, orders, refunds, reviews joined to the chats
    "OutcomeJoin": "outcomes",
    "read_orders": "outcomes",
    "read_ratings": "outcomes",
    "read_refunds": "outcomes",
    "read_reviews": "outcomes",
    # personal data in outputs (the function is ks.redact.redact: ks.redact is the module)
    "RedactionPolicy": "redact",
    "Redaction": "redact",
}

__all__ = [
    "AgentLearning",
    "AgentProfile",
    "Analysis",
    "Assessment",
    "BusinessHours",
    "Conversation",
    "ConversationResult",
    "ConversationTopics",
    "Criterion",
    "DimensionScore",
    "Escalation",
    "EscalationFitReport",
    "EscalationModel",
    "EscalationPolicy",
    "Evidence",
    "FrequentQuestion",
    "HeadEvaluation",
    "KefuError",
    "Lexicon",
    "Message",
    "OutcomeJoin",
    "Politeness",
    "PolitenessScorer",
    "ReadReport",
    "Redaction",
    "RedactionPolicy",
    "ResponseTimes",
    "Role",
    "Round",
    "ScoreResult",
    "Scorecard",
    "Scorer",
    "Sentiment",
    "SentimentModel",
    "Signals",
    "TimingPolicy",
    "TimingSummary",
    "Topic",
    "TopicCue",
    "TopicDef",
    "TopicLexicon",
    "TopicModel",
    "TopicShare",
    "TrendRow",
    "Trends",
    "__version__",
    "analyze",
    "assess",
    "cross_validate_sentiment",
    "escalation",
    "exceptions",
    "frequent_questions",
    "get_scorer",
    "get_scorer_names",
    "is_pasted",
    "make_scorer",
    "politeness",
    "politeness_many",
    "profile_agent",
    "read_conversations",
    "read_orders",
    "read_ratings",
    "read_refunds",
    "read_reviews",
    "redact",
    "response_times",
    "sentiment",
    "sentiment_many",
    "sentiment_scores",
    "signals",
    "signals_many",
    "summarize_response_times",
    "testing",
    "to_arrow",
    "to_pandas",
    "topic",
    "topics",
    "trends_of",
    "write_jsonl",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from . import redact, testing
    from ._escalation import Escalation, EscalationPolicy, escalation
    from ._escalation_fit import EscalationFitReport, EscalationModel, HeadEvaluation
    from ._faq import FrequentQuestion, frequent_questions
    from ._politeness import Lexicon, Politeness, PolitenessScorer, politeness, politeness_many
    from ._sentiment import Sentiment, SentimentModel, sentiment, sentiment_many, sentiment_scores
    from ._sentiment_cv import cross_validate_sentiment
    from ._signals import Signals, signals, signals_many
    from ._topic_model import TopicModel
    from ._topics import (
        ConversationTopics,
        Topic,
        TopicCue,
        TopicDef,
        TopicLexicon,
        TopicShare,
        is_pasted,
        topic,
        topics,
    )
    from ._trends import AgentLearning, TrendRow, Trends
    from .analysis import Analysis, ConversationResult, analyze, trends_of
    from .competency import (
        AgentProfile,
        Assessment,
        Criterion,
        DimensionScore,
        Scorecard,
        assess,
        profile_agent,
    )
    from .frames import to_arrow, to_pandas
    from .io import ReadReport, read_conversations, write_jsonl
    from .outcomes import OutcomeJoin, read_orders, read_ratings, read_refunds, read_reviews
    from .redact import Redaction, RedactionPolicy
    from .scoring import ScoreResult, get_scorer, get_scorer_names, make_scorer
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
_LAZY_SUBMODULES = frozenset({"redact", "testing"})


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
