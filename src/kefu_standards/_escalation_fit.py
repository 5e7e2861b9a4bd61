"""Escalation risk fitted to a shop's own labelled chats: :class:`EscalationModel`.

The shipped escalation model (:func:`kefu_standards.escalation`) is hand-set
from domain reasoning and licensed text.  A shop has what no licensed corpus
gives: its own buyers' satisfaction ratings.  :meth:`EscalationModel.fit`
learns from them, **starting from the shipped model**:

- the *turn head* (``per_message``) adds to the shipped turn log-odds a linear
  term in the latest buyer message's character 1-3-grams and jieba words, the
  previous message's character 1-2-grams (chat context), the shipped risk
  itself and the shipped state (:data:`~kefu_standards._escalation.FEATURES`).
  The shipped log-odds are an *offset*: with every learned weight at 0 the model
  is the shipped one, and the L2 penalty pulls each weight towards 0, so with
  little data the fitted model stays close to the shipped one.  The text grams'
  penalty is ``l2``; the shipped signals' penalty is chosen by inner
  cross-validation from :data:`TURN_SIGNAL_L2`, leaning to the largest (the
  shipped weights) unless a smaller one is better by more than one standard
  error.  It is learned only from message labels;
- the *dialogue head* (``score``) adds to the shipped outcome log-odds a term
  in the mean, maximum and last of the turn head's log-odds over the buyer's
  messages and the shipped outcome log-odds; its penalty is chosen by
  cross-validation from a grid that includes "infinitely strong", which is the
  shipped score recalibrated on the shop's data, and which is kept unless a
  finite penalty does better by more than one standard error.

``fit`` reports cross-validated AUCs with folds by conversation, next to the
shipped model's AUCs on the same items, with bootstrap intervals: the shop
sees whether its model is better before using it.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from . import _fitcv
from ._escalation import FEATURES, EscalationPolicy
from ._escalation_model import _default_model, chat_head_digest, default_signals, outcome_logit_of
from ._escalation_walk import walk_messages
from ._fitcv import Design, Floats, Ints
from ._segment import words
from ._version import __version__
from .evidence import Evidence
from .exceptions import ConfigError, KefuWarning, ModelFileError, NotEnoughDataError
from .model import Conversation, Message, Role
from .text import has_content, normalize

__all__ = ["EscalationFitReport", "EscalationModel", "HeadEvaluation"]

#: Identifies the file format; a file of another format version is refused.
FORMAT = "kefu_standards.escalation_model"
#: 2: jieba words from the package's segmenter (numbers folded to ``0``), and the
#: shipped signals' own penalty (``turn_signal_l2``); a version-1 file is refused.
FORMAT_VERSION = 2
#: Ratings run from 0 (very dissatisfied) to this (very satisfied).
RATING_MAX = 4
#: Fewest labelled conversations ``fit`` accepts (besides ``folds`` of each class).
MIN_CONVERSATIONS = 20
#: The dialogue head's L2 grid (``inf``: the shipped score, recalibrated).
DIALOGUE_L2 = (1.0, 10.0, 100.0, math.inf)
#: The turn head's grid for the penalty of the shipped signals' weights (the
#: shipped log-odds and the standardised state), chosen by inner cross-validated
#: log loss; the text grams keep ``l2``.
TURN_SIGNAL_L2 = (1.0, 10.0, 100.0, 1000.0, 10000.0)

_N_STATE = len(FEATURES)
#: Length of the context block (the message before) relative to the buyer's own text.
_CONTEXT_WEIGHT = 0.3
_DIALOGUE_COLUMNS = ("shipped_outcome", "turn_mean", "turn_max", "turn_last")

Label = bool | int | None


# ---------------------------------------------------------------- text features


def _char_grams(text: str, sizes: Sequence[int], prefix: str) -> set[str]:
    out: set[str] = set()
    for part in text.split():
        for n in sizes:
            for i in range(len(part) - n + 1):
                out.add(prefix + part[i : i + n])
    return out


@lru_cache(maxsize=65536)
def _own_grams(text: str) -> tuple[str, ...]:
    """Character 1-3-grams (``c``) and jieba words (``w``) of a buyer text, sorted.

    Read from :func:`~kefu_standards.text.normalize` (width and script folded,
    placeholders blanked); grams never cross a blank.  Words come from the
    package's one silenced jieba instance (:func:`~kefu_standards._segment.words`:
    numbers folded to ``0``, punctuation dropped); single characters are
    already among the character grams.
    """
    grams = _char_grams(normalize(text), (1, 2, 3), "c")
    grams.update("w" + word for word in words(text) if len(word) > 1)
    return tuple(sorted(grams))


@lru_cache(maxsize=65536)
def _context_grams(text: str) -> tuple[str, ...]:
    """Character 1-2-grams (``p``) of the message before a buyer message, sorted."""
    return tuple(sorted(_char_grams(normalize(text), (1, 2), "p")))


# ---------------------------------------------------------------- one conversation


@attrs.frozen(slots=True, eq=False)
class _Prepared:
    """What the heads read from one conversation, computed once.

    ``turn``: the shipped turn log-odds after each message; ``states``: the
    shipped state after each message; ``outcome``: the shipped outcome log-odds;
    ``buyer``: indexes of the buyer messages with content; ``latest[i]``: the
    position in ``buyer`` of the latest of them at or before message *i* (-1
    before the first); ``own``/``context``: the grams of each buyer message and
    of the message before it.
    """

    turn: Floats
    states: Floats
    outcome: float
    buyer: Ints
    latest: Ints
    own: tuple[tuple[str, ...], ...]
    context: tuple[tuple[str, ...], ...]
    coded: _Coded | None = None  # set while fitting (see _encode)


@attrs.frozen(slots=True, eq=False)
class _Coded:
    """The text part of each buyer message as ids of one fit-wide gram table (CSR by position).

    Entries ``indptr[b]:indptr[b + 1]`` are buyer position *b*'s grams (own, then
    context) with their values, as :func:`_text_row` would weigh them.
    """

    indptr: Ints
    ids: Ints
    values: Floats


def _encode(preps: Sequence[_Prepared]) -> tuple[tuple[_Prepared, ...], tuple[str, ...]]:
    """*preps* with their grams coded as ids of one table; and the table (id -> gram)."""
    table: dict[str, int] = {}
    out = []
    for p in preps:
        indptr = [0]
        ids: list[int] = []
        vals: list[float] = []
        for own, context in zip(p.own, p.context, strict=True):
            for grams, weight in ((own, 1.0), (context, _CONTEXT_WEIGHT)):
                if not grams or not weight:
                    continue
                v = weight / math.sqrt(len(grams))
                for g in grams:
                    k = table.get(g)
                    if k is None:
                        k = table[g] = len(table)
                    ids.append(k)
                    vals.append(v)
            indptr.append(len(ids))
        coded = _Coded(
            np.asarray(indptr, dtype=np.int64),
            np.asarray(ids, dtype=np.int64),
            np.asarray(vals, dtype=np.float64),
        )
        out.append(attrs.evolve(p, coded=coded))
    return tuple(out), tuple(table)


def _columns(preps: Sequence[_Prepared], n_ids: int, min_count: int) -> tuple[Ints, int]:
    """Column of each gram id (-1: left out) for grams in >= *min_count* buyer messages."""
    parts = [p.coded.ids for p in preps if p.coded is not None]
    counts = np.bincount(np.concatenate(parts), minlength=n_ids) if parts else np.zeros(n_ids)
    keep = counts >= min_count
    colmap = np.full(n_ids, -1, dtype=np.int64)
    colmap[keep] = np.arange(int(keep.sum()), dtype=np.int64)
    return colmap, int(keep.sum())


def _coded_design(
    preps: Sequence[_Prepared],
    rows: Sequence[Ints],
    *,
    colmap: Ints,
    width: int,
    mean: Floats,
    scale: Floats,
) -> Design:
    """:func:`_turn_design` from the coded grams (vectorised; used while fitting)."""
    counts: list[Ints] = []
    cols: list[Ints] = []
    vals: list[Floats] = []
    dense: list[Floats] = []
    for p, r in zip(preps, rows, strict=True):
        c = p.coded
        assert c is not None  # _encode ran first
        dense.append(np.column_stack([p.turn[r], (p.states[r] - mean) / scale]))
        pos = p.latest[r]
        valid = pos >= 0
        starts = np.zeros(len(r), dtype=np.int64)
        ends = np.zeros(len(r), dtype=np.int64)
        starts[valid] = c.indptr[pos[valid]]
        ends[valid] = c.indptr[pos[valid] + 1]
        lengths = ends - starts
        total = int(lengths.sum())
        pick = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(total)
        col = colmap[c.ids[pick]]
        keep = col >= 0
        row_of = np.repeat(np.arange(len(r), dtype=np.int64), lengths)
        counts.append(np.bincount(row_of[keep], minlength=len(r)).astype(np.int64))
        cols.append(col[keep])
        vals.append(c.values[pick][keep])
    indptr = np.zeros(sum(len(x) for x in counts) + 1, dtype=np.int64)
    if counts:
        np.cumsum(np.concatenate(counts), out=indptr[1:])
    return Design(
        indptr,
        np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64),
        np.concatenate(vals) if vals else np.zeros(0),
        width,
        np.vstack(dense) if dense else np.zeros((0, 1 + _N_STATE)),
    )


def _prepared(
    messages: Sequence[Message],
    turn: Sequence[float],
    states: Sequence[Sequence[float]],
    outcome: float,
) -> _Prepared:
    buyer_role = Role.BUYER
    buyer = [i for i, m in enumerate(messages) if m.role is buyer_role and has_content(m.text)]
    latest = np.full(len(messages), -1, dtype=np.int64)
    for pos, i in enumerate(buyer):
        latest[i:] = pos
    own = tuple(_own_grams(messages[i].text) for i in buyer)
    context = tuple(_context_grams(messages[i - 1].text) if i else () for i in buyer)
    return _Prepared(
        np.asarray(turn, dtype=np.float64),
        np.asarray(states, dtype=np.float64).reshape(len(messages), _N_STATE),
        float(outcome),
        np.asarray(buyer, dtype=np.int64),
        latest,
        own,
        context,
    )


def _prepare(conversation: Conversation, policy: EscalationPolicy) -> _Prepared:
    """Walk *conversation* with the shipped model and the library's default signals."""
    sentiment, politeness = default_signals()
    model = _default_model()
    logits, rows, _events = walk_messages(
        conversation.messages,
        policy=policy,
        sentiment=sentiment,
        politeness=politeness,
        model=model,
    )
    outcome = outcome_logit_of(rows[-1], model) if rows else 0.0
    return _prepared(conversation.messages, logits, rows, outcome)


# ---------------------------------------------------------------- the heads


@attrs.frozen(slots=True, eq=False)
class _Heads:
    """The learned numbers: turn head (optional) and dialogue head.

    Turn log-odds after message *i*:
    ``a + b * (s_i + w0 + w_dense . [s_i, std(state_i)] + w_text . x(latest buyer message))``
    with ``s_i`` the shipped log-odds, ``(b, a)`` the calibration
    (``turn_calibration``) fitted on out-of-fold predictions.  Without message
    labels (``turn_weights`` empty) the turn log-odds are the shipped ones.

    Dialogue log-odds: ``o + v0 + v . std([o, mean t, max t, last t])`` with
    ``o`` the shipped outcome log-odds and ``t`` the turn log-odds at the buyer's
    messages.
    """

    vocabulary: tuple[str, ...]
    turn_weights: Floats
    state_mean: Floats
    state_scale: Floats
    turn_calibration: tuple[float, float]
    dialogue_weights: Floats
    dialogue_mean: Floats
    dialogue_scale: Floats
    turn_l2: float | None
    dialogue_l2: float
    turn_signal_l2: float | None = None
    _index: dict[str, int] = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_index", {g: k for k, g in enumerate(self.vocabulary)})

    @property
    def has_turn(self) -> bool:
        return bool(len(self.turn_weights))

    def turn_logits(self, p: _Prepared) -> Floats:
        if not self.has_turn:
            return p.turn
        rows = np.arange(len(p.turn), dtype=np.int64)
        x = _turn_design([p], [rows], self._index, self.state_mean, self.state_scale)
        raw = p.turn + x.linear(self.turn_weights)
        scale, offset = self.turn_calibration
        out: Floats = offset + scale * raw
        return out

    def dialogue_logit(self, p: _Prepared, turn: Floats) -> float:
        f = (_dialogue_features(p, turn) - self.dialogue_mean) / self.dialogue_scale
        w = self.dialogue_weights
        return float(p.outcome + w[0] + f @ w[1:])


def _turn_design(
    preps: Sequence[_Prepared],
    rows: Sequence[Ints],
    index: Mapping[str, int],
    mean: Floats,
    scale: Floats,
) -> Design:
    """Turn-head design: for each message in *rows*, dense [s_i, std(state_i)] and text grams."""
    indptr: list[int] = [0]
    cols: list[int] = []
    vals: list[float] = []
    dense_parts: list[Floats] = []
    for p, r in zip(preps, rows, strict=True):
        dense_parts.append(np.column_stack([p.turn[r], (p.states[r] - mean) / scale]))
        memo: dict[int, tuple[list[int], list[float]]] = {}
        for i in r.tolist():
            pos = int(p.latest[i])
            if pos < 0:
                indptr.append(indptr[-1])
                continue
            hit = memo.get(pos)
            if hit is None:
                hit = _text_row(p.own[pos], p.context[pos], index)
                memo[pos] = hit
            cols.extend(hit[0])
            vals.extend(hit[1])
            indptr.append(indptr[-1] + len(hit[0]))
    dense = np.vstack(dense_parts) if dense_parts else np.zeros((0, 1 + _N_STATE))
    return Design(
        np.asarray(indptr, dtype=np.int64),
        np.asarray(cols, dtype=np.int64),
        np.asarray(vals, dtype=np.float64),
        len(index),
        dense,
    )


def _text_row(
    own: Sequence[str], context: Sequence[str], index: Mapping[str, int]
) -> tuple[list[int], list[float]]:
    """Columns and values of one buyer message: each block scaled to unit length."""
    cols: list[int] = []
    vals: list[float] = []
    for grams, weight in ((own, 1.0), (context, _CONTEXT_WEIGHT)):
        if not grams or not weight:
            continue
        v = weight / math.sqrt(len(grams))
        for g in grams:
            k = index.get(g)
            if k is not None:
                cols.append(k)
                vals.append(v)
    return cols, vals


def _dialogue_features(p: _Prepared, turn: Floats) -> Floats:
    t = turn[p.buyer] if len(p.buyer) else turn
    if not len(t):
        return np.array([p.outcome, 0.0, 0.0, 0.0])
    return np.array([p.outcome, float(t.mean()), float(t.max()), float(t[-1])])


def _standardise(x: Floats) -> tuple[Floats, Floats]:
    mean = x.mean(axis=0) if len(x) else np.zeros(x.shape[1])
    scale = x.std(axis=0) if len(x) else np.ones(x.shape[1])
    scale = np.where(scale > 1e-9, scale, 1.0)
    return mean, scale


@attrs.frozen(slots=True)
class _Data:
    """Training data: prepared conversations and their labels (NaN = unlabelled)."""

    preps: tuple[_Prepared, ...]  # coded (see _encode)
    dialogue: Floats  # 1 dissatisfied, 0 not, NaN unlabelled
    messages: tuple[tuple[Ints, Floats], ...]  # per conversation: (message indexes, labels)
    table: tuple[str, ...]  # gram id -> gram

    def subset(self, idx: Ints) -> _Data:
        return _Data(
            tuple(self.preps[i] for i in idx.tolist()),
            self.dialogue[idx],
            tuple(self.messages[i] for i in idx.tolist()),
            self.table,
        )

    @property
    def has_messages(self) -> bool:
        return any(len(m[0]) for m in self.messages)


@attrs.frozen(slots=True)
class _Settings:
    l2: float
    min_count: int
    inner_folds: int
    seed: int


def _fit_turn(
    data: _Data,
    *,
    colmap: Ints,
    width: int,
    mean: Floats,
    scale: Floats,
    l2: float,
    signal_l2: float,
    start: Floats | None = None,
) -> tuple[Floats, Design, Floats]:
    """Turn weights fitted on the labelled messages of *data* (and their design, labels).

    The text grams' weights get penalty *l2*, the shipped signals' weights (the
    shipped log-odds and the standardised state) *signal_l2*, the intercept none.
    *start*: weights to start from (a warm start; the optimum does not depend on it).
    """
    rows = [m[0] for m in data.messages]
    x = _coded_design(data.preps, rows, colmap=colmap, width=width, mean=mean, scale=scale)
    y = np.concatenate([m[1] for m in data.messages]) if rows else np.zeros(0)
    offset = np.concatenate([p.turn[r] for p, r in zip(data.preps, rows, strict=True)])
    penalty = np.full(x.size, l2)
    penalty[0] = 0.0
    penalty[1 : 1 + x.dense.shape[1]] = signal_l2
    return _fitcv.fit_logistic(x, y, offset, penalty, start=start), x, y


def _fit_dialogue(features: Floats, offset: Floats, y: Floats, l2: float) -> Floats:
    k = features.shape[1]
    if math.isinf(l2) or len(np.unique(y)) < 2:
        x = Design(
            np.zeros(len(y) + 1, dtype=np.int64),
            np.zeros(0, dtype=np.int64),
            np.zeros(0),
            0,
            np.zeros((len(y), 0)),
        )
        w0 = _fitcv.fit_logistic(x, y, offset, np.zeros(1))
        return np.concatenate([w0, np.zeros(k)])
    x = Design(
        np.zeros(len(y) + 1, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0), 0, features
    )
    penalty = np.full(1 + k, l2)
    penalty[0] = 0.0
    return _fitcv.fit_logistic(x, y, offset, penalty)


@attrs.frozen(slots=True, eq=False)
class _TurnPart:
    """The turn head fitted on some data, and what the dialogue head reads from it.

    ``stacked``: each conversation's calibrated turn log-odds *out of fold*
    (inner folds; the shipped ones where no fold had training messages, and
    everywhere without message labels): the dialogue head is fitted on these,
    so it never sees a turn risk from a model that saw the same conversation.
    """

    vocabulary: tuple[str, ...]
    weights: Floats
    state_mean: Floats
    state_scale: Floats
    calibration: tuple[float, float]
    l2: float | None
    signal_l2: float | None
    colmap: Ints
    inner: Ints
    stacked: tuple[Floats, ...]


def _fit_turn_part(data: _Data, s: _Settings) -> _TurnPart:
    """Fit the turn half of :func:`_fit_heads` (signals' penalty, calibration, weights)."""
    strata = [2 if math.isnan(v) else int(v) for v in data.dialogue]
    inner = _fitcv.grouped_folds(strata, s.inner_folds, s.seed + 1)
    colmap = np.full(len(data.table), -1, dtype=np.int64)
    if not data.has_messages:
        return _TurnPart(
            (), np.zeros(0), np.zeros(_N_STATE), np.ones(_N_STATE), (1.0, 0.0), None, None,
            colmap, inner, tuple(p.turn for p in data.preps),
        )  # fmt: skip
    states = np.vstack([p.states for p in data.preps])
    state_mean, state_scale = _standardise(states)
    # out-of-fold turn log-odds for each signal penalty: the penalty with the
    # lowest log loss is kept; its out-of-fold log-odds feed the calibration
    # and the dialogue head's inputs (stacking without leakage)
    signal_l2, oof = _choose_turn_signal_l2(data, inner, s, state_mean, state_scale)
    zs = np.concatenate([z[data.messages[i][0]] for i, z in oof.items()])
    ys = np.concatenate([data.messages[i][1] for i in oof])
    calibration = _fitcv.platt(zs, ys) if len(np.unique(ys)) == 2 else (1.0, 0.0)
    scale, offset = calibration
    stacked = tuple(offset + scale * oof.get(i, p.turn) for i, p in enumerate(data.preps))
    colmap, width = _columns(data.preps, len(data.table), s.min_count)
    vocabulary = tuple(data.table[k] for k in np.flatnonzero(colmap >= 0).tolist())
    weights, _x, _y = _fit_turn(
        data,
        colmap=colmap,
        width=width,
        mean=state_mean,
        scale=state_scale,
        l2=s.l2,
        signal_l2=signal_l2,
    )
    return _TurnPart(
        vocabulary, weights, state_mean, state_scale, calibration, s.l2, signal_l2,
        colmap, inner, stacked,
    )  # fmt: skip


def _fit_heads(data: _Data, s: _Settings) -> tuple[_Heads, Ints]:
    """Run the whole fitting procedure on *data* (what cross-validation repeats per fold)."""
    n = len(data.preps)
    t = _fit_turn_part(data, s)
    inner = t.inner
    turn_by_conv = t.stacked
    # the dialogue head, on the labelled conversations
    labelled = np.flatnonzero(~np.isnan(data.dialogue))
    feats = np.vstack(
        [_dialogue_features(data.preps[i], turn_by_conv[i]) for i in range(n)]
    ).reshape(n, len(_DIALOGUE_COLUMNS))
    d_mean, d_scale = _standardise(feats[labelled])
    std = (feats - d_mean) / d_scale
    offset_d = np.array([p.outcome for p in data.preps])
    y = data.dialogue
    best_l2 = _choose_dialogue_l2(
        std, offset_d, y, labelled=labelled, inner=inner, folds=s.inner_folds
    )
    dialogue_weights = _fit_dialogue(std[labelled], offset_d[labelled], y[labelled], best_l2)
    heads = _Heads(
        t.vocabulary,
        t.weights,
        t.state_mean,
        t.state_scale,
        t.calibration,
        dialogue_weights,
        d_mean,
        d_scale,
        t.l2,
        best_l2,
        t.signal_l2,
    )
    return heads, t.colmap


def _choose_turn_signal_l2(
    data: _Data, inner: Ints, s: _Settings, mean: Floats, scale: Floats
) -> tuple[float, dict[int, Floats]]:
    """Choose the shipped signals' penalty from :data:`TURN_SIGNAL_L2` by inner CV log loss.

    The one-standard-error rule leans towards the shipped model: of the
    penalties whose out-of-fold log loss is within one standard error of the
    lowest (of the per-conversation differences), the largest is kept.
    Returns the penalty and, for it, the out-of-fold turn log-odds of every
    conversation in a fold with training messages (by position in *data*).
    """
    folds = []
    for f in range(s.inner_folds):
        train = np.flatnonzero(inner != f)
        test = np.flatnonzero(inner == f)
        part = data.subset(train)
        if part.has_messages and len(test):
            folds.append((part, test, *_columns(part.preps, len(data.table), s.min_count)))
    runs: list[tuple[float, dict[int, Floats], dict[int, float]]] = []
    starts: list[Floats | None] = [None] * len(folds)
    # largest penalty first: each fold's fit starts from the one before (warm start)
    for signal_l2 in sorted(TURN_SIGNAL_L2, reverse=True):
        oof: dict[int, Floats] = {}
        loss: dict[int, float] = {}  # per conversation: summed log loss of its labelled messages
        for k, (part, test, fold_map, width) in enumerate(folds):
            w, _x, _y = _fit_turn(
                part,
                colmap=fold_map,
                width=width,
                mean=mean,
                scale=scale,
                l2=s.l2,
                signal_l2=signal_l2,
                start=starts[k],
            )
            starts[k] = w
            for i in test.tolist():
                p = data.preps[i]
                rows = np.arange(len(p.turn), dtype=np.int64)
                x = _coded_design([p], [rows], colmap=fold_map, width=width, mean=mean, scale=scale)
                z = p.turn + x.linear(w)
                oof[i] = z
                r, y = data.messages[i]
                loss[i] = float(np.sum(np.logaddexp(0.0, z[r]) - y * z[r]))
        runs.insert(0, (signal_l2, oof, loss))  # runs: penalties in increasing order
    keys = sorted(runs[0][2])
    if not keys:
        return runs[-1][0], runs[-1][1]
    totals = [np.array([run[2][i] for i in keys]) for run in runs]
    best = int(np.argmin([float(t.mean()) for t in totals]))
    chosen = best
    for k in range(best + 1, len(runs)):  # larger penalties: closer to the shipped model
        diff = totals[k] - totals[best]
        se = float(diff.std(ddof=1)) / math.sqrt(len(diff)) if len(diff) > 1 else 0.0
        if float(diff.mean()) <= se:
            chosen = k
    return runs[chosen][0], runs[chosen][1]


def _choose_dialogue_l2(
    std: Floats, offset: Floats, y: Floats, *, labelled: Ints, inner: Ints, folds: int
) -> float:
    """Choose the dialogue head's L2 from :data:`DIALOGUE_L2`, by inner cross-validated log loss.

    The prior wins ties and near-ties (the one-standard-error rule): a finite
    penalty replaces ``inf`` (the shipped score, recalibrated) only when its
    out-of-fold log loss is lower by more than one standard error of the
    per-conversation differences.
    """
    losses: dict[float, Floats] = {}
    for l2 in DIALOGUE_L2:
        per_item = np.full(len(y), math.nan)
        for f in range(folds):
            train = labelled[inner[labelled] != f]
            test = labelled[inner[labelled] == f]
            if not len(test) or len(np.unique(y[train])) < 2:
                continue
            w = _fit_dialogue(std[train], offset[train], y[train], l2)
            z = offset[test] + w[0] + std[test] @ w[1:]
            per_item[test] = np.logaddexp(0.0, z) - y[test] * z
        losses[l2] = per_item[labelled]
    prior = losses[math.inf]
    best_l2, best_gain = math.inf, 0.0
    for l2, loss in losses.items():
        ok = ~np.isnan(loss) & ~np.isnan(prior)
        if math.isinf(l2) or ok.sum() < 2:
            continue
        gain = prior[ok] - loss[ok]  # > 0: better than the prior
        se = float(gain.std(ddof=1)) / math.sqrt(int(ok.sum()))
        if float(gain.mean()) > max(se, 1e-12) and float(gain.mean()) > best_gain:
            best_l2, best_gain = l2, float(gain.mean())
    return best_l2


def _coded_turn_logits(h: _Heads, colmap: Ints, p: _Prepared) -> Floats:
    """:meth:`_Heads.turn_logits` of a coded conversation (*colmap* from the same fit)."""
    if not h.has_turn:
        return p.turn
    rows = np.arange(len(p.turn), dtype=np.int64)
    x = _coded_design(
        [p],
        [rows],
        colmap=colmap,
        width=len(h.vocabulary),
        mean=h.state_mean,
        scale=h.state_scale,
    )
    scale, offset = h.turn_calibration
    out: Floats = offset + scale * (p.turn + x.linear(h.turn_weights))
    return out


# ---------------------------------------------------------------- the report


@attrs.frozen(slots=True)
class HeadEvaluation:
    """Cross-validated ROC AUC of one head, next to the shipped model's on the same items.

    ``head`` is ``"turn"`` (labelled buyer messages, ``per_message``) or
    ``"dialogue"`` (labelled conversations, ``score``), or ``"sentiment"``
    (:func:`~kefu_standards.cross_validate_sentiment`).  ``items`` were scored
    out of fold (``positives`` of them dissatisfied; for sentiment, positive)
    in ``conversations`` conversations.  ``auc``/``shipped_auc`` are pooled over the folds;
    ``auc_interval``, ``shipped_interval`` and ``difference_interval``
    (fitted minus shipped) are percentile bootstrap intervals that resample
    whole conversations.  ``fold_aucs`` and ``shipped_fold_aucs`` are per
    fold (``None`` where a fold has one class only).  When the head was not
    fitted (no message labels), the AUCs are ``None`` and ``reason`` says why.

    .. versionadded:: 0.2.0
    """

    head: str
    items: int
    positives: int
    conversations: int
    auc: float | None
    shipped_auc: float | None
    auc_interval: tuple[float, float] | None
    shipped_interval: tuple[float, float] | None
    difference_interval: tuple[float, float] | None
    fold_aucs: tuple[float | None, ...]
    shipped_fold_aucs: tuple[float | None, ...]
    reason: str = ""

    @property
    def difference(self) -> float | None:
        """``auc - shipped_auc`` (``None`` when either is undefined)."""
        if self.auc is None or self.shipped_auc is None:
            return None
        return round(self.auc - self.shipped_auc, 4)

    @property
    def fold_means(self) -> tuple[float, float] | None:
        """Mean per-fold AUC of the fitted and of the shipped model, over folds where both exist.

        Each fold is scored by its own model, so this is the expected AUC of one
        model; the pooled ``auc`` also ranks items across folds whose models
        were calibrated apart, which lowers it when the calibration varies (with
        few conversations).  ``None`` when no fold has both classes.

        .. versionadded:: 0.2.0
        """
        pairs = [
            (a, b)
            for a, b in zip(self.fold_aucs, self.shipped_fold_aucs, strict=True)
            if a is not None and b is not None
        ]
        if not pairs:
            return None
        return (
            round(sum(a for a, _ in pairs) / len(pairs), 4),
            round(sum(b for _, b in pairs) / len(pairs), 4),
        )

    def summary(self) -> str:
        """One line of text: the AUCs with their intervals, and the per-fold means."""
        if self.auc is None:
            return f"{self.head}: not fitted ({self.reason})"

        def ci(v: tuple[float, float] | None) -> str:
            return "" if v is None else f" [{v[0]:.3f}, {v[1]:.3f}]"

        kind = "positive" if self.head == "sentiment" else "dissatisfied"
        means = self.fold_means
        per_fold = "" if means is None else f"; mean per fold {means[0]:.3f} vs {means[1]:.3f}"
        return (
            f"{self.head}: AUC {self.auc:.3f}{ci(self.auc_interval)} vs shipped "
            f"{self.shipped_auc:.3f}{ci(self.shipped_interval)}, difference "
            f"{self.difference:+.3f}{ci(self.difference_interval)} "
            f"({self.items} items, {self.positives} {kind}, "
            f"{self.conversations} conversations{per_fold})"
        )

    def to_record(self) -> dict[str, Any]:
        """Return a JSON-ready dict of the fields."""
        out = attrs.asdict(self)
        for key in ("auc_interval", "shipped_interval", "difference_interval"):
            out[key] = None if out[key] is None else list(out[key])
        out["fold_aucs"] = list(self.fold_aucs)
        out["shipped_fold_aucs"] = list(self.shipped_fold_aucs)
        return out

    @classmethod
    def from_record(cls, rec: Mapping[str, Any]) -> HeadEvaluation:
        """Inverse of :meth:`to_record`."""
        d = dict(rec)
        for key in ("auc_interval", "shipped_interval", "difference_interval"):
            d[key] = None if d[key] is None else (float(d[key][0]), float(d[key][1]))
        d["fold_aucs"] = tuple(d["fold_aucs"])
        d["shipped_fold_aucs"] = tuple(d["shipped_fold_aucs"])
        return cls(**d)


@attrs.frozen(slots=True)
class EscalationFitReport:
    """What :meth:`EscalationModel.fit` measured about the model it returns.

    ``turn`` and ``dialogue`` are the :class:`HeadEvaluation` of each head:
    the whole fitting procedure (vocabulary, penalties, calibration) is
    repeated on ``folds - 1`` folds and scored on the held-out fold, with folds
    made of whole conversations (stratified by the conversation label,
    seeded by ``seed``), so no conversation is ever scored by a model that saw
    it.  ``bootstrap`` resamples give the ``confidence`` intervals.
    ``turn_l2``, ``turn_signal_l2`` and ``dialogue_l2`` are the penalties of
    the final model: of the turn head's text grams, of its shipped signals
    (chosen by inner cross-validation from :data:`TURN_SIGNAL_L2`), and of the
    dialogue head (``inf``: the dialogue head kept the shipped score and only
    recalibrated it); ``seconds`` is the wall time of the whole fit.

    .. versionadded:: 0.2.0
    """

    turn: HeadEvaluation
    dialogue: HeadEvaluation
    folds: int
    seed: int
    bootstrap: int
    confidence: float
    turn_l2: float | None
    dialogue_l2: float
    seconds: float
    turn_signal_l2: float | None = None

    def summary(self) -> str:
        """Return a few lines of text for people (the CLI prints them)."""
        lines = [
            f"cross-validated by conversation ({self.folds} folds, seed {self.seed}; "
            f"{self.confidence:.0%} bootstrap intervals over conversations, "
            f"{self.bootstrap} resamples)",
            "  " + self.turn.summary(),
            "  " + self.dialogue.summary(),
        ]
        d_l2 = "shipped score, recalibrated" if math.isinf(self.dialogue_l2) else self.dialogue_l2
        lines.append(
            f"  penalties: turn l2 {self.turn_l2} (text), {self.turn_signal_l2} (shipped "
            f"signals), dialogue l2 {d_l2}"
        )
        return "\n".join(lines)

    def to_record(self) -> dict[str, Any]:
        """Return a JSON-ready dict (``inf`` written as ``null``)."""
        return {
            "turn": self.turn.to_record(),
            "dialogue": self.dialogue.to_record(),
            "folds": self.folds,
            "seed": self.seed,
            "bootstrap": self.bootstrap,
            "confidence": self.confidence,
            "turn_l2": self.turn_l2,
            "dialogue_l2": None if math.isinf(self.dialogue_l2) else self.dialogue_l2,
            "seconds": self.seconds,
            "turn_signal_l2": self.turn_signal_l2,
        }

    @classmethod
    def from_record(cls, rec: Mapping[str, Any]) -> EscalationFitReport:
        """Inverse of :meth:`to_record`."""
        return cls(
            HeadEvaluation.from_record(rec["turn"]),
            HeadEvaluation.from_record(rec["dialogue"]),
            int(rec["folds"]),
            int(rec["seed"]),
            int(rec["bootstrap"]),
            float(rec["confidence"]),
            None if rec["turn_l2"] is None else float(rec["turn_l2"]),
            math.inf if rec["dialogue_l2"] is None else float(rec["dialogue_l2"]),
            float(rec["seconds"]),
            None if rec.get("turn_signal_l2") is None else float(rec["turn_signal_l2"]),
        )


def _evaluate(  # noqa: PLR0917 - one call site, arrays of one length
    head: str,
    y: Floats,
    fitted: Floats,
    shipped: Floats,
    groups: Ints,
    fold_of_item: Ints,
    folds: int,
    *,
    resamples: int,
    seed: int,
    confidence: float,
) -> HeadEvaluation:
    yb = y.astype(bool)
    per_fold = [
        (
            _round(_fitcv.roc_auc(yb[fold_of_item == f], fitted[fold_of_item == f])),
            _round(_fitcv.roc_auc(yb[fold_of_item == f], shipped[fold_of_item == f])),
        )
        for f in range(folds)
    ]
    intervals = _fitcv.auc_interval(
        yb, [fitted, shipped], groups, resamples=resamples, seed=seed, level=confidence
    )
    return HeadEvaluation(
        head,
        len(y),
        int(yb.sum()),
        len(np.unique(groups)),
        _round(_fitcv.roc_auc(yb, fitted)),
        _round(_fitcv.roc_auc(yb, shipped)),
        intervals[0],
        intervals[1],
        intervals[2],
        tuple(a for a, _ in per_fold),
        tuple(b for _, b in per_fold),
    )


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


# ---------------------------------------------------------------- labels


def _is_rating(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _dissatisfied(value: object, cut: int, where: str) -> float:
    """1.0 dissatisfied, 0.0 not, NaN unlabelled; a clear error for anything else."""
    if value is None:
        return math.nan
    if isinstance(value, (bool, np.bool_)):
        return 1.0 if value else 0.0
    if _is_rating(value) and 0 <= int(value) <= RATING_MAX:  # type: ignore[call-overload]
        return 1.0 if int(value) <= cut else 0.0  # type: ignore[call-overload]
    msg = (
        f"{where}: a label must be True (dissatisfied) / False, a rating 0-{RATING_MAX} "
        f"(0 = very dissatisfied) or None (unlabelled); got {value!r}"
    )
    raise ConfigError(msg)


def label_definition(cut: int) -> str:
    """Return the label definition a model records (see :meth:`EscalationModel.fit`)."""
    return (
        f"dissatisfied = True, or a rating 0-{RATING_MAX} (0 = very dissatisfied) "
        f"<= {cut}; message labels the same, on buyer messages"
    )


# ---------------------------------------------------------------- the model


@attrs.frozen(slots=True, eq=False)
class EscalationModel:
    """Escalation risk fitted to a shop's own labelled chats; build it with :meth:`fit`.

    Pass it to :func:`kefu_standards.escalation` (``model=``),
    :class:`~kefu_standards._escalation.EscalationScorer` (``model=``),
    :func:`kefu_standards.assess` and :func:`kefu_standards.analyze`
    (``escalation_model=``): ``score`` and ``per_message`` then come from the
    fitted heads, while ``reasons`` still explain the shipped signals.

    The fields record what it was trained on: ``conversations`` read,
    ``labelled_conversations`` (``dissatisfied_conversations`` of them
    dissatisfied), ``labelled_messages`` (``dissatisfied_messages``), the
    ``label_definition``, ``trained_at`` (UTC, ISO 8601), the
    ``library_version`` and ``report`` (:class:`EscalationFitReport`, the
    cross-validated figures).  :meth:`save` and :meth:`load` write and read
    it as ``.npz`` (arrays and one JSON header, no pickle); ``source`` is the
    file it was loaded from (``None`` when fitted in this process).
    :attr:`fingerprint` and :meth:`describe` name it in analyses and reports.

    .. versionadded:: 0.2.0
    """

    _heads: _Heads = attrs.field(repr=False, alias="heads")
    conversations: int
    labelled_conversations: int
    dissatisfied_conversations: int
    labelled_messages: int
    dissatisfied_messages: int
    label_definition: str
    trained_at: str
    library_version: str
    report: EscalationFitReport = attrs.field(repr=False)
    source: str | None = None

    # ------------------------------------------------------------------ scoring

    def _rescore(
        self,
        messages: Sequence[Message],
        turn_logits: Sequence[float],
        states: Sequence[Sequence[float]],
        outcome_logit: float,
    ) -> tuple[list[float], float]:
        """Return the fitted log-odds of each message and of the dialogue, from the shipped ones.

        This is the hook :func:`~kefu_standards.escalation` calls with ``model=``.
        """
        p = _prepared(messages, turn_logits, states, outcome_logit)
        turn = self._heads.turn_logits(p)
        return turn.tolist(), self._heads.dialogue_logit(p, turn)

    @property
    def fits_messages(self) -> bool:
        """Whether the turn head was fitted (message labels were given)."""
        return self._heads.has_turn

    @property
    def fingerprint(self) -> str:
        """A digest (16 hex digits) of the fitted numbers: two models score alike iff it matches.

        It covers the vocabulary, every weight, the standardisation and the
        calibration, not the training figures; it survives :meth:`save` /
        :meth:`load`.

        .. versionadded:: 0.2.0
        """
        h = self._heads
        digest = hashlib.sha256()
        digest.update("\n".join(h.vocabulary).encode())
        for arr in (
            h.turn_weights,
            h.state_mean,
            h.state_scale,
            np.asarray(h.turn_calibration, dtype=np.float64),
            h.dialogue_weights,
            h.dialogue_mean,
            h.dialogue_scale,
        ):
            digest.update(np.ascontiguousarray(arr, dtype="<f8").tobytes())
        return digest.hexdigest()[:16]

    def evidence(self, conversation: Conversation, *, limit: int = 5) -> tuple[Evidence, ...]:
        """Return the buyer's phrases that raised the fitted turn risk most (the learned part).

        ``reasons`` of :func:`~kefu_standards.escalation` explain the shipped
        signals only; this explains what the turn head learned from the shop's
        labels.  Each :class:`~kefu_standards.Evidence` (``kind``
        ``"learned_text"``) is a phrase of a buyer message: the union of
        overlapping character grams and words (at their first occurrence) that
        have a positive learned weight, so 没 + 没收 + 收到 read as one phrase
        没收到.  ``weight`` is the phrase's contribution to that message's
        calibrated log-odds (the sum of its grams'), ``rule`` names the grams,
        largest first (``fitted:`` then ``c`` character grams and ``w`` words,
        comma-separated).  The *limit* largest contributions over the
        conversation are returned, largest first.  Empty when the turn head was
        not fitted (no message labels) or no learned word raised the risk.

        These are associations learned from the shop's labels, not judged
        reasons: they are kept out of ``Escalation.reasons`` (see the
        explanation "Fitting escalation risk to a shop's ratings").

        .. versionadded:: 0.2.0
        .. versionchanged:: 0.2.0
           Overlapping grams form one phrase (they were listed one by one, the
           largest winning each overlap).
        """
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
            raise ConfigError(f"limit must be an int >= 0, got {limit!r}")
        h = self._heads
        if not h.has_turn or not limit:
            return ()
        scale = h.turn_calibration[0]
        sparse = h.turn_weights[2 + _N_STATE :]  # intercept, shipped log-odds, state, grams
        found: list[Evidence] = []
        for i, m in enumerate(conversation.messages):
            if m.role is not Role.BUYER or not has_content(m.text):
                continue
            grams = _own_grams(m.text)
            value = 1.0 / math.sqrt(len(grams))
            norm = normalize(m.text)
            spans = sorted(
                (start, start + len(g) - 1, scale * value * float(sparse[k]), g)
                for g in grams
                if (k := h._index.get(g)) is not None and sparse[k] > 0
                and (start := norm.find(g[1:])) >= 0
            )  # fmt: skip
            for group in _overlapping(spans):
                start, end = group[0][0], max(sp[1] for sp in group)
                weight = sum(sp[2] for sp in group)
                names = ",".join(sp[3] for sp in sorted(group, key=lambda sp: -sp[2]))
                found.append(
                    Evidence(start, end, m.text[start:end], "learned_text", round(weight, 4),
                             f"fitted:{names}", i)
                )  # fmt: skip
        found.sort(key=lambda e: -e.weight)
        return tuple(found[:limit])

    def describe(self) -> str:
        """Return one line naming the model: fingerprint, file, training data, version.

        :func:`~kefu_standards.analyze` records it in
        :attr:`Analysis.escalation_model <kefu_standards.analysis.Analysis>`
        and the report shows it, so a figure can be traced to the model behind it.

        .. versionadded:: 0.2.0
        """
        source = f"file {self.source}; " if self.source else ""
        heads = "turn and dialogue heads" if self.fits_messages else "dialogue head only"
        return (
            f"fitted escalation model {self.fingerprint} ({source}{heads}; fitted "
            f"{self.trained_at} on {self.labelled_conversations} labelled conversations, "
            f"{self.dissatisfied_conversations} dissatisfied, {self.labelled_messages} "
            f"labelled messages; kefu_standards {self.library_version})"
        )

    # ------------------------------------------------------------------ fitting

    @classmethod
    def fit(
        cls,
        conversations: Iterable[Conversation],
        labels: Sequence[Label] | Mapping[str, Label],
        *,
        message_labels: Sequence[Sequence[Label] | None] | None = None,
        dissatisfied_max: int = 1,
        l2: float = 1.0,
        folds: int = 5,
        seed: int = 0,
        bootstrap: int = 1000,
        confidence: float = 0.95,
        min_count: int = 2,
        policy: EscalationPolicy | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> EscalationModel:
        """Fit escalation risk to labelled conversations, starting from the shipped model.

        Parameters
        ----------
        conversations:
            The shop's conversations (consumed once).
        labels:
            One label per conversation, in order, or a mapping from conversation
            id to label (ids it lacks are unlabelled): ``True`` = the buyer ended
            dissatisfied, ``False`` = not, an ``int`` rating from 0 (very
            dissatisfied) to 4 (very satisfied), dissatisfied when
            ``<= dissatisfied_max``, or ``None`` = unlabelled.
        message_labels:
            Optional: one sequence per conversation, aligned with its messages,
            holding a label (as above) on the buyer messages that were rated and
            ``None`` elsewhere (``None`` for a whole conversation: no message
            labels).  Without them only the dialogue head is fitted and
            ``per_message`` stays the shipped one.
        dissatisfied_max:
            Ratings ``<= dissatisfied_max`` are dissatisfied (default 1: the two
            lowest of five points).
        l2:
            Penalty of the turn head's text weights (larger = closer to the
            shipped model).  The penalty of its weights on the shipped signals
            (the shipped log-odds and state) is chosen by inner cross-validation
            from :data:`TURN_SIGNAL_L2` (one-standard-error rule towards the
            largest).  The dialogue head's penalty is chosen by cross-validation
            from :data:`DIALOGUE_L2` (``inf``, the shipped score recalibrated,
            unless a finite one is better by more than one standard error).
        folds:
            Cross-validation folds (by conversation) for the report; the
            signals' penalty, the calibration and the dialogue head use 3 inner
            folds.
        seed:
            Seed of the folds and the bootstrap.
        bootstrap, confidence:
            Resamples and level of the bootstrap intervals.
        min_count:
            A character gram or word enters the vocabulary when at least this
            many buyer messages (or the messages before them) contain it.
        policy:
            The :class:`~kefu_standards.EscalationPolicy` the shipped signals
            are read with (default: the defaults).
        progress:
            Called with a short text at each stage (the CLI prints it on stderr).

        Raises
        ------
        NotEnoughDataError
            Fewer than :data:`MIN_CONVERSATIONS` labelled conversations, or
            fewer than *folds* of either class (conversations or, when given,
            conversations with a message of that class): cross-validation needs
            each class in every fold.
        ConfigError
            A label that is not a bool, a rating 0-4 or ``None``; message labels
            not aligned with the messages or on a message that is not the
            buyer's.

        """
        t0 = time.perf_counter()
        say = progress or (lambda _text: None)
        _check_settings(dissatisfied_max, l2, folds, bootstrap, confidence, min_count)
        policy = EscalationPolicy() if policy is None else policy
        if not isinstance(policy, EscalationPolicy):
            msg = f"policy must be an EscalationPolicy or None, got {type(policy).__name__}"
            raise ConfigError(msg)
        convs = list(conversations)
        for k, c in enumerate(convs):
            if not isinstance(c, Conversation):
                msg = f"EscalationModel.fit: item {k} is a {type(c).__name__}, not a Conversation"
                raise ConfigError(msg)
        dialogue = _dialogue_labels(convs, labels, dissatisfied_max)
        messages = _message_labels(convs, message_labels, dissatisfied_max)
        _check_enough(convs, dialogue, messages, folds)
        say(f"reading {len(convs)} conversations with the shipped model")
        preps, table = _encode([_prepare(c, policy) for c in convs])
        data = _Data(preps, dialogue, messages, table)
        settings = _Settings(float(l2), int(min_count), 3, int(seed))
        report = _cross_validate(
            data, settings, folds, bootstrap=bootstrap, confidence=confidence, say=say
        )
        say("fitting the final model on every conversation")
        heads, _colmap = _fit_heads(data, settings)
        seconds = round(time.perf_counter() - t0, 3)
        report = attrs.evolve(
            report,
            turn_l2=heads.turn_l2,
            turn_signal_l2=heads.turn_signal_l2,
            dialogue_l2=heads.dialogue_l2,
            seconds=seconds,
        )
        labelled = ~np.isnan(dialogue)
        all_y = np.concatenate([m[1] for m in messages]) if messages else np.zeros(0)
        return cls(
            heads=heads,
            conversations=len(convs),
            labelled_conversations=int(labelled.sum()),
            dissatisfied_conversations=int(np.nansum(dialogue)),
            labelled_messages=len(all_y),
            dissatisfied_messages=int(all_y.sum()),
            label_definition=label_definition(dissatisfied_max),
            trained_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            library_version=__version__,
            report=report,
        )

    # ------------------------------------------------------------------ files

    def save(self, path: str | Path) -> Path:
        """Write the model to *path* (``.npz``: arrays plus a JSON header; no pickle)."""
        h = self._heads
        header = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "features": list(FEATURES),
            "shipped_model": _shipped_fingerprint(),
            "conversations": self.conversations,
            "labelled_conversations": self.labelled_conversations,
            "dissatisfied_conversations": self.dissatisfied_conversations,
            "labelled_messages": self.labelled_messages,
            "dissatisfied_messages": self.dissatisfied_messages,
            "label_definition": self.label_definition,
            "trained_at": self.trained_at,
            "library_version": self.library_version,
            "turn_calibration": list(h.turn_calibration),
            "turn_l2": h.turn_l2,
            "turn_signal_l2": h.turn_signal_l2,
            "dialogue_l2": None if math.isinf(h.dialogue_l2) else h.dialogue_l2,
            "report": self.report.to_record(),
        }
        p = Path(path)
        with p.open("wb") as fh:
            np.savez_compressed(
                fh,
                header=np.array(json.dumps(header, ensure_ascii=False)),
                vocabulary=np.array(h.vocabulary, dtype=np.str_).reshape(-1),
                turn_weights=h.turn_weights,
                state_mean=h.state_mean,
                state_scale=h.state_scale,
                dialogue_weights=h.dialogue_weights,
                dialogue_mean=h.dialogue_mean,
                dialogue_scale=h.dialogue_scale,
            )
        return p

    @classmethod
    def load(cls, path: str | Path) -> EscalationModel:
        """Read a model written by :meth:`save`.

        Raises :class:`~kefu_standards.exceptions.ModelFileError` when the file
        is missing, not such a model, of another format version, or fitted on
        top of a shipped model other than this library's (its scores would not
        be the ones it was validated with: fit it again).
        """
        p = Path(path)
        try:
            with np.load(p, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except FileNotFoundError:
            raise ModelFileError(f"{p}: no such file") from None
        except (OSError, ValueError, EOFError) as exc:
            raise ModelFileError(f"{p}: not an escalation model file ({exc})") from None
        try:
            header = json.loads(str(arrays["header"]))
        except (KeyError, ValueError):
            raise ModelFileError(f"{p}: not an escalation model file (no JSON header)") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ModelFileError(f"{p}: not an escalation model file (format {FORMAT!r})")
        version = header.get("format_version")
        if version != FORMAT_VERSION:
            msg = (
                f"{p}: escalation model format version {version!r} (written by kefu_standards "
                f"{header.get('library_version')}); this version of kefu_standards reads "
                f"version {FORMAT_VERSION}: fit the model again"
            )
            raise ModelFileError(msg)
        if header.get("features") != list(FEATURES) or (
            header.get("shipped_model") != _shipped_fingerprint()
        ):
            msg = (
                f"{p}: this model was fitted on top of another version of the shipped "
                f"escalation model (kefu_standards {header.get('library_version')}); "
                "its scores would differ from the ones it was validated with: fit it again"
            )
            raise ModelFileError(msg)
        try:
            d_l2 = header["dialogue_l2"]
            heads = _Heads(
                tuple(str(g) for g in arrays["vocabulary"].tolist()),
                arrays["turn_weights"].astype(np.float64),
                arrays["state_mean"].astype(np.float64),
                arrays["state_scale"].astype(np.float64),
                (float(header["turn_calibration"][0]), float(header["turn_calibration"][1])),
                arrays["dialogue_weights"].astype(np.float64),
                arrays["dialogue_mean"].astype(np.float64),
                arrays["dialogue_scale"].astype(np.float64),
                None if header["turn_l2"] is None else float(header["turn_l2"]),
                math.inf if d_l2 is None else float(d_l2),
                _optional_float(header.get("turn_signal_l2")),
            )
            _check_shapes(heads)
            return cls(
                heads=heads,
                conversations=int(header["conversations"]),
                labelled_conversations=int(header["labelled_conversations"]),
                dissatisfied_conversations=int(header["dissatisfied_conversations"]),
                labelled_messages=int(header["labelled_messages"]),
                dissatisfied_messages=int(header["dissatisfied_messages"]),
                label_definition=str(header["label_definition"]),
                trained_at=str(header["trained_at"]),
                library_version=str(header["library_version"]),
                report=EscalationFitReport.from_record(header["report"]),
                source=str(p),
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            msg = f"{p}: malformed escalation model file ({type(exc).__name__}: {exc})"
            raise ModelFileError(msg) from None


def _overlapping(
    spans: Sequence[tuple[int, int, float, str]],
) -> list[list[tuple[int, int, float, str]]]:
    """Group *spans* (sorted by start) into runs that overlap (touching is not overlapping)."""
    groups: list[list[tuple[int, int, float, str]]] = []
    end = -1
    for sp in spans:
        if groups and sp[0] < end:
            groups[-1].append(sp)
            end = max(end, sp[1])
        else:
            groups.append([sp])
            end = sp[1]
    return groups


def _optional_float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def _check_shapes(h: _Heads) -> None:
    k = 1 + 1 + _N_STATE + len(h.vocabulary)
    if len(h.turn_weights) not in (0, k):
        raise ValueError(f"turn_weights has {len(h.turn_weights)} values, expected 0 or {k}")
    if h.state_mean.shape != (_N_STATE,) or h.state_scale.shape != (_N_STATE,):
        raise ValueError("state_mean and state_scale need one value per FEATURES entry")
    nd = len(_DIALOGUE_COLUMNS)
    if h.dialogue_weights.shape != (1 + nd,) or h.dialogue_mean.shape != (nd,):
        raise ValueError(f"the dialogue head needs {1 + nd} weights and {nd} means")


def _shipped_fingerprint() -> str:
    """Return a digest of the shipped model (a fitted model sits on top of it).

    It covers the coefficients of both heads and the exact bytes of the CPED heads
    (``escalation/cped_{negativity,thanks,disagreement}.npz``) that compute the
    ``chat_negativity``, ``chat_thanks`` and ``disagreement_mean`` states.
    """
    m = _default_model()
    numbers = [
        *m.turn.weights,
        m.turn.scale,
        m.turn.offset,
        *m.outcome.weights,
        m.outcome.scale,
        m.outcome.offset,
    ]
    # esc (#18): the CPED head's file digest, so a retrained head refuses old fitted files
    text = ",".join(f"{x:.6g}" for x in numbers) + f";chat_head={chat_head_digest()}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# ---------------------------------------------------------------- validation


def _check_settings(  # noqa: PLR0917 - the fit settings, checked together
    cut: int, l2: float, folds: int, bootstrap: int, confidence: float, min_count: int
) -> None:
    problems = []
    if not _is_rating(cut) or not 0 <= cut < RATING_MAX:
        problems.append(f"dissatisfied_max must be an int in 0..{RATING_MAX - 1}, got {cut!r}")
    if not (isinstance(l2, (int, float)) and l2 > 0 and math.isfinite(l2)):
        problems.append(f"l2 must be a finite number > 0, got {l2!r}")
    if not _is_rating(folds) or folds < 2:
        problems.append(f"folds must be an int >= 2, got {folds!r}")
    if not _is_rating(bootstrap) or bootstrap < 0:
        problems.append(f"bootstrap must be an int >= 0 (0: no intervals), got {bootstrap!r}")
    if not (isinstance(confidence, float) and 0.5 <= confidence < 1.0):
        problems.append(f"confidence must be a float in [0.5, 1), got {confidence!r}")
    if not _is_rating(min_count) or min_count < 1:
        problems.append(f"min_count must be an int >= 1, got {min_count!r}")
    if problems:
        raise ConfigError("EscalationModel.fit: " + "; ".join(problems))


def _dialogue_labels(
    convs: Sequence[Conversation], labels: Sequence[Label] | Mapping[str, Label], cut: int
) -> Floats:
    if isinstance(labels, Mapping):
        unknown = set(labels) - {c.id for c in convs}
        if unknown:
            shown = ", ".join(repr(u) for u in sorted(map(str, unknown))[:5])
            msg = (
                f"{len(unknown)} labels name no conversation given to fit and were not "
                f"used: {shown}"
            )
            warnings.warn(msg, KefuWarning, stacklevel=3)
        return np.array(
            [_dissatisfied(labels.get(c.id), cut, f"labels[{c.id!r}]") for c in convs]
        ).reshape(len(convs))
    if isinstance(labels, (str, bytes)) or not isinstance(labels, Sequence):
        msg = (
            "labels must be a sequence (one label per conversation) or a mapping "
            f"conversation id -> label, got {type(labels).__name__}"
        )
        raise ConfigError(msg)
    if len(labels) != len(convs):
        msg = f"labels has {len(labels)} entries for {len(convs)} conversations; give one each"
        raise ConfigError(msg)
    return np.array(
        [
            _dissatisfied(v, cut, f"labels[{k}] ({c.id})")
            for k, (c, v) in enumerate(zip(convs, labels, strict=True))
        ]
    ).reshape(len(convs))


def _message_labels(
    convs: Sequence[Conversation],
    message_labels: Sequence[Sequence[Label] | None] | None,
    cut: int,
) -> tuple[tuple[Ints, Floats], ...]:
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0))
    if message_labels is None:
        return tuple(empty for _ in convs)
    if len(message_labels) != len(convs):
        msg = (
            f"message_labels has {len(message_labels)} entries for {len(convs)} "
            "conversations; give one sequence (or None) each"
        )
        raise ConfigError(msg)
    out = []
    for c, seq in zip(convs, message_labels, strict=True):
        if seq is None:
            out.append(empty)
            continue
        if len(seq) != len(c.messages):
            msg = (
                f"message_labels for conversation {c.id!r} has {len(seq)} entries for "
                f"{len(c.messages)} messages; align it with the messages (None where unrated)"
            )
            raise ConfigError(msg)
        idx, ys = [], []
        for i, (m, v) in enumerate(zip(c.messages, seq, strict=True)):
            y = _dissatisfied(v, cut, f"message_labels of {c.id!r}, message {i}")
            if math.isnan(y):
                continue
            if m.role is not Role.BUYER:
                msg = (
                    f"message_labels of {c.id!r}, message {i}: labels go on buyer messages; "
                    f"this one is a {m.role.value} message {m.text[:20]!r}"
                )
                raise ConfigError(msg)
            idx.append(i)
            ys.append(y)
        out.append((np.asarray(idx, dtype=np.int64), np.asarray(ys, dtype=np.float64)))
    return tuple(out)


def _check_enough(
    convs: Sequence[Conversation],
    dialogue: Floats,
    messages: Sequence[tuple[Ints, Floats]],
    folds: int,
) -> None:
    labelled = int((~np.isnan(dialogue)).sum())
    bad = int(np.nansum(dialogue))
    good = labelled - bad
    if labelled < MIN_CONVERSATIONS or bad < folds or good < folds:
        raise NotEnoughDataError(
            "labelled conversations",
            needed=f"at least {MIN_CONVERSATIONS}, with at least {folds} dissatisfied and "
            f"{folds} satisfied (each class in each of the {folds} folds)",
            got=f"{labelled} ({bad} dissatisfied, {good} satisfied) of {len(convs)}",
        )
    if any(len(m[0]) for m in messages):
        with_bad = sum(1 for _i, y in messages if (y == 1).any())
        with_good = sum(1 for _i, y in messages if (y == 0).any())
        if with_bad < folds or with_good < folds:
            raise NotEnoughDataError(
                "conversations with labelled messages",
                needed=f"at least {folds} with a dissatisfied and {folds} with a satisfied "
                "message label (each class in each fold)",
                got=f"{with_bad} with a dissatisfied, {with_good} with a satisfied one",
            )


# ---------------------------------------------------------------- cross-validation


def _cross_validate(
    data: _Data,
    s: _Settings,
    folds: int,
    *,
    bootstrap: int,
    confidence: float,
    say: Callable[[str], None],
) -> EscalationFitReport:
    strata = [2 if math.isnan(v) else int(v) for v in data.dialogue]
    fold_of = _fitcv.grouped_folds(strata, folds, s.seed)
    n = len(data.preps)
    turn_fit: list[Floats] = [np.zeros(0)] * n
    dialogue_fit = np.full(n, math.nan)
    for f in range(folds):
        say(f"cross-validation fold {f + 1}/{folds}")
        train = np.flatnonzero(fold_of != f)
        test = np.flatnonzero(fold_of == f)
        heads, colmap = _fit_heads(data.subset(train), s)
        for i in test.tolist():
            p = data.preps[i]
            z = _coded_turn_logits(heads, colmap, p)
            turn_fit[i] = z
            dialogue_fit[i] = heads.dialogue_logit(p, z)
    ids = np.arange(n, dtype=np.int64)
    labelled = np.flatnonzero(~np.isnan(data.dialogue))
    dialogue = _evaluate(
        "dialogue",
        data.dialogue[labelled],
        dialogue_fit[labelled],
        np.array([data.preps[i].outcome for i in labelled.tolist()]),
        ids[labelled],
        fold_of[labelled],
        folds,
        resamples=bootstrap,
        seed=s.seed,
        confidence=confidence,
    )
    if data.has_messages:
        y = np.concatenate([m[1] for m in data.messages])
        fitted = np.concatenate([turn_fit[i][m[0]] for i, m in enumerate(data.messages)])
        shipped = np.concatenate(
            [p.turn[m[0]] for p, m in zip(data.preps, data.messages, strict=True)]
        )
        groups = np.concatenate([np.full(len(m[0]), i) for i, m in enumerate(data.messages)])
        turn = _evaluate(
            "turn",
            y,
            fitted,
            shipped,
            groups.astype(np.int64),
            fold_of[groups.astype(np.int64)],
            folds,
            resamples=bootstrap,
            seed=s.seed,
            confidence=confidence,
        )
    else:
        turn = HeadEvaluation(
            "turn", 0, 0, 0, None, None, None, None, None, (), (),
            "no message labels: per_message is the shipped turn risk",
        )  # fmt: skip
    return EscalationFitReport(
        turn, dialogue, folds, s.seed, bootstrap, confidence, None, math.inf, 0.0
    )
