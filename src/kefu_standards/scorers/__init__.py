"""The built-in scorers of the nine-standard scorecard, one module per dimension.

Each scorer is a small frozen object with a ``name`` and ``score(conversation)
-> ScoreResult`` (score in [0, 1], 1 = best, or N/A with a reason), and
``score_signals(signals)`` that reads the conversation's shared
:class:`~kefu_standards.Signals`.  The phrase cues they read are in
``data/competency/cues.tsv`` (loaded on first use); the signals they borrow from
other analysers (politeness, sentiment, escalation risk, response times) are
*injectable* functions, and default to the conversation's signals.  A signal
function that returns ``None`` turns that part off: the dimension is then
computed from its other parts and ``details`` says so.

The shared parts (message selections, evidence helpers, N/A results) are in
``_base``; the formulas and their constants are this project's proposals, and
``docs/explanation/competency.md`` gives them dimension by dimension.

.. versionadded:: 0.2.0
   The package (the scorers lived in the private module ``_dimensions`` before).
"""

from __future__ import annotations

from collections.abc import Callable

from kefu_standards._escalation import EscalationScorer
from kefu_standards.typing import Scorer

from ._base import no_escalation
from ._communication import CommunicationScorer
from ._continuous_learning import ContinuousLearningScorer
from ._data_analysis import DataAnalysisScorer
from ._money_promise import MoneyPromiseScorer
from ._no_insult import NoInsultScorer
from ._politeness_adapter import PolitenessAdapter
from ._problem_handling import ProblemHandlingScorer
from ._product_knowledge import ProductKnowledgeScorer
from ._responsibility import ResponsibilityScorer
from ._service_attitude import ServiceAttitudeScorer
from ._stress_resilience import StressResilienceScorer
from ._teamwork import TeamworkScorer

__all__ = [
    "BUILTIN_SCORERS",
    "CommunicationScorer",
    "ContinuousLearningScorer",
    "DataAnalysisScorer",
    "MoneyPromiseScorer",
    "NoInsultScorer",
    "PolitenessAdapter",
    "ProblemHandlingScorer",
    "ProductKnowledgeScorer",
    "ResponsibilityScorer",
    "ServiceAttitudeScorer",
    "StressResilienceScorer",
    "TeamworkScorer",
    "no_escalation",
]

#: name -> factory of every built-in scorer (read by ``kefu_standards.scoring``).
BUILTIN_SCORERS: dict[str, Callable[..., Scorer]] = {
    "product_knowledge": ProductKnowledgeScorer,
    "communication": CommunicationScorer,
    "service_attitude": ServiceAttitudeScorer,
    "problem_handling": ProblemHandlingScorer,
    "stress_resilience": StressResilienceScorer,
    "teamwork": TeamworkScorer,
    "data_analysis": DataAnalysisScorer,
    "responsibility": ResponsibilityScorer,
    "continuous_learning": ContinuousLearningScorer,
    "no_insult": NoInsultScorer,
    "no_money_promise": MoneyPromiseScorer,
    "politeness": PolitenessAdapter,
    "escalation": EscalationScorer,
}
