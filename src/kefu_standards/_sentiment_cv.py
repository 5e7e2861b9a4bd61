"""Cross-validate a sentiment model trained on a shop's own labelled chat messages.

:meth:`~kefu_standards.SentimentModel.train` trains on any labelled texts;
:func:`cross_validate_sentiment` says whether a model trained on the shop's own
chat lines ranks them better than the packaged model, with the figures
:meth:`~kefu_standards.EscalationModel.fit` reports: an out-of-fold ROC AUC
with folds by *group* (give the conversation id of each message: lines of one
chat must not be split between training and test), the packaged model's AUC on
the same messages, and bootstrap intervals that resample whole groups.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _fitcv
from ._escalation_fit import HeadEvaluation, _evaluate
from ._sentiment import SentimentModel
from .exceptions import ConfigError, NotEnoughDataError

__all__ = ["cross_validate_sentiment"]


def cross_validate_sentiment(
    texts: Sequence[str],
    labels: Sequence[bool | int],
    *,
    groups: Sequence[str] | None = None,
    folds: int = 5,
    seed: int = 0,
    bootstrap: int = 1000,
    confidence: float = 0.95,
    **train_options: Any,
) -> HeadEvaluation:
    """Out-of-fold AUC of :meth:`SentimentModel.train` on *texts*, next to the packaged model's.

    Parameters
    ----------
    texts, labels:
        The shop's chat messages and their labels: 1 / ``True`` positive, 0 /
        ``False`` negative.
    groups:
        The conversation (or any group) of each text: folds never split a group.
        ``None``: every text is its own group.
    folds, seed:
        Folds (stratified by label) and their seed.
    bootstrap, confidence:
        Resamples (of whole groups) and level of the intervals.
    train_options:
        Passed to :meth:`SentimentModel.train` (``epochs``, ``bits``, ...).

    Returns
    -------
    HeadEvaluation
        ``head == "sentiment"``; ``auc`` is the trained model's out-of-fold AUC
        of P(positive) for the positive class, ``shipped_auc`` the packaged
        model's on the same texts.  Texts without content (undefined sentiment)
        are left out of both and counted out of ``items``.

    Raises
    ------
    NotEnoughDataError
        Fewer than *folds* groups of either class.

    """
    if len(labels) != len(texts) or (groups is not None and len(groups) != len(texts)):
        msg = "texts, labels and groups (when given) must have the same length"
        raise ConfigError(msg)
    y = np.array([_binary(v, k) for k, v in enumerate(labels)], dtype=np.float64)
    names = [str(g) for g in groups] if groups is not None else [str(k) for k in range(len(y))]
    _, group_ids = np.unique(np.array(names, dtype=np.str_), return_inverse=True)
    group_ids = group_ids.astype(np.int64)
    n_groups = int(group_ids.max()) + 1 if len(group_ids) else 0
    # a group's stratum: whether it holds a negative text
    has_negative = np.zeros(n_groups, dtype=np.int64)
    np.maximum.at(has_negative, group_ids, (y == 0).astype(np.int64))
    has_positive = np.zeros(n_groups, dtype=np.int64)
    np.maximum.at(has_positive, group_ids, (y == 1).astype(np.int64))
    if int(has_negative.sum()) < folds or int(has_positive.sum()) < folds:
        raise NotEnoughDataError(
            "labelled groups of chat messages",
            needed=f"at least {folds} groups with a negative and {folds} with a positive text",
            got=f"{int(has_negative.sum())} with a negative, {int(has_positive.sum())} with a "
            "positive",
        )
    fold_of_group = _fitcv.grouped_folds(has_negative.tolist(), folds, seed)
    fold_of = fold_of_group[group_ids]
    texts = list(texts)
    oof = np.full(len(y), math.nan)
    for f in range(folds):
        train = np.flatnonzero(fold_of != f)
        test = np.flatnonzero(fold_of == f)
        model = SentimentModel.train(
            [texts[i] for i in train], y[train], seed=seed, **train_options
        )
        oof[test] = model.scores([texts[i] for i in test])
    shipped = SentimentModel.default().scores(texts)
    keep = ~np.isnan(oof) & ~np.isnan(shipped)
    return _evaluate(
        "sentiment",
        y[keep],
        oof[keep],
        shipped[keep],
        group_ids[keep],
        fold_of[keep],
        folds,
        resamples=bootstrap,
        seed=seed,
        confidence=confidence,
    )


def _binary(value: object, k: int) -> float:
    if isinstance(value, (bool, np.bool_)):
        return 1.0 if value else 0.0
    if isinstance(value, (int, np.integer)) and int(value) in (0, 1):
        return float(value)
    msg = f"labels[{k}] must be 1/True (positive) or 0/False (negative), got {value!r}"
    raise ConfigError(msg)
