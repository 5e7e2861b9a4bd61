"""The extension points of kefu_standards, as small typed Protocols.

Duck typing is enough: a class (or any object) that has the attributes and
methods below *is* a scorer, without inheriting from or even importing anything
from kefu_standards.  The Protocols are ``runtime_checkable``, so
``isinstance(obj, Scorer)`` checks that the members exist (not their types);
:func:`kefu_standards.testing.check_scorer` checks the full contract.

- :class:`Scorer` scores one conversation (one line of a scorecard).
- :class:`KpiScorer` scores an agent's KPIs over a period (dimension 7,
  数据分析, in :func:`kefu_standards.competency.profile_agent`).

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:  # pragma: no cover - imported for annotations only
    from ._signals import Signals
    from .evidence import ScoreResult
    from .model import Conversation

__all__ = ["KpiScorer", "Scorer", "SignalsScorer"]


@runtime_checkable
class Scorer(Protocol):
    """Anything with a ``name`` and ``score(conversation) -> ScoreResult``.

    ``score`` must be deterministic, must not change the conversation, must
    return a :class:`~kefu_standards.scoring.ScoreResult` whose ``score`` is in
    ``[0, 1]`` (1 = best) or ``None`` (N/A) with a ``reason``, and must not
    raise on empty, buyer-only, agent-only or untimed conversations.  Scorers
    should be picklable so that they can run in worker processes.

    .. versionadded:: 0.1.0
    """

    @property
    def name(self) -> str:
        """Stable, non-empty identifier (``"service_attitude"``)."""
        ...  # pragma: no cover

    def score(self, conversation: Conversation, /) -> ScoreResult:
        """Score *conversation*: ``[0, 1]`` (1 = best) or N/A with a reason."""
        ...  # pragma: no cover


@runtime_checkable
class SignalsScorer(Scorer, Protocol):
    """A :class:`Scorer` that can also score from shared :class:`~kefu_standards.Signals`.

    ``score_signals(signals)`` must equal ``score(signals.conversation)``; it
    lets :func:`~kefu_standards.assess` run the analysers (politeness,
    sentiment, timing, escalation, cues) once per conversation for all its
    scorers.  The built-in scorers have it; a custom scorer needs only
    ``score``.

    .. versionadded:: 0.2.0
    """

    def score_signals(self, signals: Signals, /) -> ScoreResult:
        """Score the conversation of *signals* from them."""
        ...  # pragma: no cover


@runtime_checkable
class KpiScorer(Protocol):
    """Anything with a ``name`` and ``score_kpis(kpis) -> ScoreResult``.

    *kpis* maps KPI names (``"first_response_s"``, ``"reply_rate"``, or any
    shop KPI passed to ``profile_agent(kpis=...)`` such as
    ``"conversion_rate"``) to a number or ``None`` when undefined.

    .. versionadded:: 0.1.0
    """

    @property
    def name(self) -> str:
        """Stable, non-empty identifier."""
        ...  # pragma: no cover

    def score_kpis(self, kpis: Mapping[str, float | None], /) -> ScoreResult:
        """Score an agent's KPIs: ``[0, 1]`` (1 = best) or N/A with a reason."""
        ...  # pragma: no cover
