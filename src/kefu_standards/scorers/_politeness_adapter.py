"""Politeness as a scorecard line: :class:`PolitenessAdapter`."""

from __future__ import annotations

import attrs

from kefu_standards._politeness import PolitenessScorer
from kefu_standards.evidence import ScoreResult
from kefu_standards.exceptions import UnknownNameError
from kefu_standards.model import Conversation

from ._base import clip, why

# -- adapters: the library's analysers as contract-keeping scorers -----------------------


def _check_aggregate(_inst: object, _attr: object, value: object) -> None:
    if value not in ("mean", "min"):
        raise UnknownNameError("aggregate", value, ("mean", "min"))


@attrs.frozen(slots=True)
class PolitenessAdapter:
    """Politeness of the agent's messages as a scorecard line (1 = polite).

    Wraps :class:`~kefu_standards._politeness.PolitenessScorer` (``aggregate``
    ``"mean"`` or ``"min"``) and returns a :class:`ScoreResult`: the score is
    the politeness in [0, 1], the evidence its markers, ``details`` the label,
    mean, minimum and message count.  N/A (with the analyser's reason) when no
    agent message has content.
    """

    aggregate: str = attrs.field(default="mean", validator=_check_aggregate)
    name: str = attrs.field(default="politeness", init=False)

    def score(self, conversation: Conversation, /) -> ScoreResult:
        """Score *conversation* (see the class docstring)."""
        r = PolitenessScorer(aggregate=self.aggregate).score(conversation)
        if r.score is None:
            return ScoreResult.na(r.reason or "no agent message with content")
        details = {"label": r.label, "mean": r.mean, "minimum": r.minimum, "n": r.n_messages}
        evidence = tuple(r.evidence)
        return ScoreResult(clip(float(r.score)), evidence, why(evidence), details)
