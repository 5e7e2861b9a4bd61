"""Specification of EscalationModel: escalation risk fitted to a shop's own labelled chats.

The chats here are written for the tests (no corpus text): in the "shop" below,
buyers who bought the blue model (蓝色款) end dissatisfied and buyers of the red
model (红色款) do not -- a signal the shipped model cannot know, that a fitted
model must learn.
"""

from __future__ import annotations

import io
import itertools
import json
import math
import random
import subprocess
import sys
from pathlib import Path

import attrs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import kefu_standards as ks
from kefu_standards import Conversation, EscalationModel, _fitcv, escalation
from kefu_standards import _escalation_fit as fit_module
from kefu_standards._escalation import FEATURES, EscalationScorer
from kefu_standards.analysis import _merge_model_names
from kefu_standards.cli import main
from kefu_standards.exceptions import ConfigError, ModelFileError, NotEnoughDataError

_OPENERS = ("你好，在吗", "亲，请问一下", "客服你好", "在吗在吗")
_AGENT = ("您好，请问有什么可以帮您？", "亲，您说的问题我这边帮您查一下哦", "好的呢，请稍等")
_CLOSERS = ("好的", "知道了", "行吧", "嗯")


def shop_chat(k: int, blue: bool, rng: random.Random) -> Conversation:
    """One chat; the buyer's second message names the model bought (the learnable signal)."""
    colour = "蓝色款" if blue else "红色款"
    rows = [
        {"role": "buyer", "text": rng.choice(_OPENERS)},
        {"role": "agent", "text": rng.choice(_AGENT)},
        {"role": "buyer", "text": f"我买的{colour}收到了，第{k % 7 + 1}天了"},
        {"role": "agent", "text": rng.choice(_AGENT)},
        {"role": "buyer", "text": rng.choice(_CLOSERS)},
    ]
    return Conversation.from_records(rows, id=f"shop-{k:03d}")


def shop(n: int = 40, blue_share: float = 0.3, seed: int = 7) -> list[Conversation]:
    rng = random.Random(seed)
    return [shop_chat(k, rng.random() < blue_share or k % 10 == 0, rng) for k in range(n)]


def is_blue(c: Conversation) -> bool:
    return "蓝色款" in c.messages[2].text


def message_labels(convs: list[Conversation]) -> list[list[bool | None]]:
    """The buyer's second message is rated: dissatisfied when it names the blue model."""
    return [[None, None, is_blue(c), None, False] for c in convs]


@pytest.fixture(scope="module")
def convs() -> list[Conversation]:
    return shop()


@pytest.fixture(scope="module")
def fitted(convs: list[Conversation]) -> EscalationModel:
    """Fitted with message labels (both heads)."""
    return EscalationModel.fit(
        convs, [is_blue(c) for c in convs], message_labels=message_labels(convs), bootstrap=50
    )


@pytest.fixture(scope="module")
def dialogue_only(convs: list[Conversation]) -> EscalationModel:
    """Fitted on conversation labels only."""
    return EscalationModel.fit(convs, [is_blue(c) for c in convs], bootstrap=50)


class TestFit:
    def test_learns_what_the_shop_labels(self, fitted: EscalationModel) -> None:
        """A new chat naming the blue model gets a higher turn risk than the red one; shipped
        risk barely differs between them."""
        rng = random.Random(99)
        blue, red = shop_chat(500, True, rng), shop_chat(501, False, random.Random(99))
        fitted_gap = (
            escalation(blue, model=fitted).per_message[2]
            - escalation(red, model=fitted).per_message[2]
        )
        shipped_gap = escalation(blue).per_message[2] - escalation(red).per_message[2]
        assert fitted_gap > 0.2
        assert fitted_gap > shipped_gap + 0.2

    def test_cross_validated_report_beats_shipped_here(self, fitted: EscalationModel) -> None:
        """The report's turn AUC is out-of-fold and beats the shipped one on this shop."""
        turn = fitted.report.turn
        assert turn.auc is not None
        assert turn.shipped_auc is not None
        assert turn.auc > 0.9 > turn.shipped_auc
        assert (turn.items, turn.positives) == (80, sum(is_blue(c) for c in shop()))
        assert len(turn.fold_aucs) == fitted.report.folds == 5

    def test_report_shipped_auc_is_the_shipped_models(
        self, convs: list[Conversation], fitted: EscalationModel
    ) -> None:
        """The shipped AUC is computed on the same labelled items as escalation() scores them."""
        y, s = [], []
        for c, row in zip(convs, message_labels(convs), strict=True):
            risks = escalation(c).per_message
            for i, label in enumerate(row):
                if label is not None:
                    y.append(label)
                    s.append(risks[i])
        assert fitted.report.turn.shipped_auc == pytest.approx(
            _fitcv.roc_auc(np.array(y), np.array(s)), abs=1e-4
        )

    @pytest.mark.parametrize(
        ("folds", "shipped", "expected"),
        [
            ((0.8, 0.6), (0.7, 0.7), (0.7, 0.7)),
            ((0.8, None), (0.7, 0.5), (0.8, 0.7)),
            ((None, None), (0.7, 0.5), None),
        ],
    )
    def test_fold_means_skip_undefined_folds(
        self,
        fitted: EscalationModel,
        folds: tuple[float | None, ...],
        shipped: tuple[float | None, ...],
        expected: tuple[float, float] | None,
    ) -> None:
        """fold_means: mean per-fold AUC of fitted and shipped over folds where both exist."""
        head = attrs.evolve(fitted.report.turn, fold_aucs=folds, shipped_fold_aucs=shipped)
        assert head.fold_means == expected
        assert ("mean per fold" in head.summary()) is (expected is not None)

    def test_intervals_are_ordered(self, fitted: EscalationModel) -> None:
        """Every bootstrap interval has lo <= hi inside [-1, 1]."""
        for head in (fitted.report.turn, fitted.report.dialogue):
            for ci in (head.auc_interval, head.shipped_interval, head.difference_interval):
                assert ci is not None
                assert -1.0 <= ci[0] <= ci[1] <= 1.0

    def test_records_what_it_was_trained_on(
        self, convs: list[Conversation], fitted: EscalationModel
    ) -> None:
        """Training size, label definition, date and library version are recorded."""
        n_blue = sum(is_blue(c) for c in convs)
        assert (fitted.conversations, fitted.labelled_conversations) == (40, 40)
        assert fitted.dissatisfied_conversations == n_blue
        assert (fitted.labelled_messages, fitted.dissatisfied_messages) == (80, n_blue)
        assert "<= 1" in fitted.label_definition
        assert fitted.library_version == ks.__version__
        assert fitted.trained_at.endswith("+00:00")

    def test_frozen(self, fitted: EscalationModel) -> None:
        """The model is immutable."""
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            fitted.conversations = 1  # type: ignore[misc]

    def test_dialogue_labels_only_keep_shipped_per_message(
        self, convs: list[Conversation], dialogue_only: EscalationModel
    ) -> None:
        """Without message labels per_message is the shipped one, and the turn report says why."""
        c = convs[3]
        assert escalation(c, model=dialogue_only).per_message == escalation(c).per_message
        assert dialogue_only.report.turn.auc is None
        assert "no message labels" in dialogue_only.report.turn.reason
        assert not dialogue_only.fits_messages

    def test_ratings_with_a_cut_equal_booleans(self, convs: list[Conversation]) -> None:
        """Ratings 0-4 with dissatisfied_max=1 give the model that the same booleans give."""
        ratings = [0 if is_blue(c) else 3 for c in convs]
        a = EscalationModel.fit(convs, ratings, bootstrap=0)
        b = EscalationModel.fit(convs, [r <= 1 for r in ratings], bootstrap=0)
        assert escalation(convs[0], model=a) == escalation(convs[0], model=b)

    def test_mapping_labels_by_id(self, convs: list[Conversation]) -> None:
        """Labels may be a mapping id -> label; ids it lacks are unlabelled."""
        labels = {c.id: is_blue(c) for c in convs[:-2]}
        m = EscalationModel.fit(convs, labels, bootstrap=0)
        assert (m.conversations, m.labelled_conversations) == (40, 38)

    def test_labels_of_unknown_ids_are_reported(self, convs: list[Conversation]) -> None:
        """A label naming no conversation is not dropped silently: a KefuWarning names it."""
        labels: dict[str, bool | int | None] = {c.id: is_blue(c) for c in convs}
        labels["no-such-chat"] = True
        with pytest.warns(ks.exceptions.KefuWarning, match="'no-such-chat'"):
            EscalationModel.fit(convs, labels, bootstrap=0)


class TestRefusals:
    @pytest.mark.parametrize(
        ("n", "blue_share", "what"),
        [
            (10, 0.5, "labelled conversations"),  # too few conversations
            (40, 0.0, "labelled conversations"),  # blue only every 10th: 4 dissatisfied < 5 folds
            (40, 1.0, "labelled conversations"),  # one class only
        ],
    )
    def test_too_few_or_one_class(self, n: int, blue_share: float, what: str) -> None:
        """Refuses with a typed error saying how many are needed and how many there are."""
        convs = shop(n, blue_share)
        with pytest.raises(NotEnoughDataError) as info:
            EscalationModel.fit(convs, [is_blue(c) for c in convs])
        assert info.value.what == what
        assert "at least" in info.value.needed
        assert "dissatisfied" in info.value.got
        assert isinstance(info.value, ValueError)

    def test_message_labels_of_one_class(self, convs: list[Conversation]) -> None:
        """Message labels that are all satisfied cannot be cross-validated."""
        rows: list[list[bool | None]] = [[None, None, False, None, False] for _ in convs]
        with pytest.raises(NotEnoughDataError, match="conversations with labelled messages"):
            EscalationModel.fit(convs, [is_blue(c) for c in convs], message_labels=rows)

    @pytest.mark.parametrize(
        ("bad", "match"),
        [("yes", "a label must be"), (7, "rating 0-4"), (-1, "rating 0-4"), (0.5, "got 0.5")],
    )
    def test_bad_label_values(self, convs: list[Conversation], bad: object, match: str) -> None:
        """A label that is not a bool, a rating 0-4 or None is a ConfigError naming it."""
        labels: list[object] = [is_blue(c) for c in convs]
        labels[4] = bad
        with pytest.raises(ConfigError, match=match):
            EscalationModel.fit(convs, labels)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("rows", "match"),
        [
            ([[None, True, None, None, None]], "agent message"),
            ([[None, None, True]], "align it with the messages"),
        ],
    )
    def test_bad_message_labels(
        self, convs: list[Conversation], rows: list[list[bool | None]], match: str
    ) -> None:
        """Message labels must align with the messages and sit on buyer messages."""
        per = [rows[0], *message_labels(convs)[1:]]
        with pytest.raises(ConfigError, match=match):
            EscalationModel.fit(convs, [is_blue(c) for c in convs], message_labels=per)

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"folds": 1}, "folds must be"),
            ({"l2": 0.0}, "l2 must be"),
            ({"dissatisfied_max": 4}, "dissatisfied_max"),
            ({"confidence": 1.5}, "confidence"),
        ],
    )
    def test_bad_settings(
        self, convs: list[Conversation], kwargs: dict[str, object], match: str
    ) -> None:
        """Settings are validated up front, saying what is valid."""
        with pytest.raises(ConfigError, match=match):
            EscalationModel.fit(convs, [is_blue(c) for c in convs], **kwargs)  # type: ignore[arg-type]

    def test_wrong_number_of_labels(self, convs: list[Conversation]) -> None:
        """One label per conversation."""
        with pytest.raises(ConfigError, match="one each"):
            EscalationModel.fit(convs, [True, False])


class TestFiles:
    def test_round_trip_gives_identical_scores(
        self, tmp_path: Path, convs: list[Conversation], fitted: EscalationModel
    ) -> None:
        """save then load: same scores, same metadata and report."""
        again = EscalationModel.load(fitted.save(tmp_path / "m.npz"))
        for c in convs[:10]:
            assert escalation(c, model=again) == escalation(c, model=fitted)
        assert again.report == fitted.report
        assert again.fingerprint == fitted.fingerprint
        assert (fitted.source, again.source) == (None, str(tmp_path / "m.npz"))
        kept = lambda a, _v: a.name not in {"_heads", "source"}  # noqa: E731
        assert attrs.asdict(again, filter=kept) == attrs.asdict(fitted, filter=kept)

    def test_no_pickle_inside(self, tmp_path: Path, fitted: EscalationModel) -> None:
        """The file is arrays plus a JSON header, readable with allow_pickle=False."""
        path = fitted.save(tmp_path / "m.npz")
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(str(z["header"]))
            assert all(z[k].dtype != object for k in z.files)
        assert header["format_version"] == fit_module.FORMAT_VERSION
        assert header["labelled_conversations"] == 40

    def _rewrite(self, src: Path, dst: Path, **changes: object) -> None:
        with np.load(src, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        header = json.loads(str(arrays["header"]))
        header.update(changes)
        arrays["header"] = np.array(json.dumps(header))
        np.savez(dst, **arrays)

    @pytest.mark.parametrize(
        ("changes", "match"),
        [
            ({"format_version": 99}, "format version 99"),
            ({"format_version": 1}, "format version 1"),  # before the signals' penalty (#16)
            ({"shipped_model": "0" * 16}, "another version of the shipped"),
            (  # a file fitted before the chat_negativity feature (issue 18)
                {"features": [f for f in FEATURES if f != "chat_negativity"]},
                "another version of the shipped",
            ),
            (  # a file fitted before the negativity_total feature (issue 18)
                {"features": [f for f in FEATURES if f != "negativity_total"]},
                "another version of the shipped",
            ),
            (  # a file fitted before the CPED thanks and disagreement heads (issue 18)
                {
                    "features": [
                        f for f in FEATURES if f not in {"chat_thanks", "disagreement_mean"}
                    ]
                },
                "another version of the shipped",
            ),
            ({"format": "something.else"}, "not an escalation model file"),
            ({"label_definition": None, "trained_at": None}, None),
        ],
    )
    def test_incompatible_files_are_refused(
        self,
        tmp_path: Path,
        fitted: EscalationModel,
        changes: dict[str, object],
        match: str | None,
    ) -> None:
        """Another format version, another shipped model or another format: a clear error."""
        src = fitted.save(tmp_path / "m.npz")
        dst = tmp_path / "changed.npz"
        self._rewrite(src, dst, **changes)
        if match is None:  # metadata fields that are None are still read (as text)
            assert EscalationModel.load(dst).label_definition == "None"
            return
        with pytest.raises(ModelFileError, match=match):
            EscalationModel.load(dst)

    def test_a_retrained_chat_head_refuses_old_files(
        self, tmp_path: Path, fitted: EscalationModel, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The shipped fingerprint covers the CPED head's file: a new head refuses old fits."""
        path = fitted.save(tmp_path / "m.npz")
        before = fit_module._shipped_fingerprint()
        monkeypatch.setattr(fit_module, "chat_head_digest", lambda: "another head")
        assert fit_module._shipped_fingerprint() != before
        with pytest.raises(ModelFileError, match="another version of the shipped"):
            EscalationModel.load(path)

    @pytest.mark.parametrize("content", [b"", b"not a zip file", None])
    def test_unreadable_files(self, tmp_path: Path, content: bytes | None) -> None:
        """A missing or broken file is a ModelFileError naming it."""
        path = tmp_path / "broken.npz"
        if content is not None:
            path.write_bytes(content)
        with pytest.raises(ModelFileError, match=r"broken\.npz"):
            EscalationModel.load(path)


class TestUse:
    def test_scorer_assess_analyze_use_the_model(
        self, convs: list[Conversation], fitted: EscalationModel
    ) -> None:
        """The scorer, assess and analyze read the fitted risk, not the shipped one."""
        c = next(c for c in convs if is_blue(c))
        e = escalation(c, model=fitted)
        assert e.score != escalation(c).score
        details = EscalationScorer(model=fitted).score(c).details
        assert details["risk"] == e.score
        assessed = ks.assess(c, escalation_model=fitted)
        assert assessed.dimensions["service_attitude"] is not None
        report = ks.analyze(convs[:8], escalation_model=fitted)
        risks = {r.id: r.escalation for r, _c in report.riskiest}
        for conv in convs[:8]:
            if conv.id in risks:
                assert risks[conv.id] == escalation(conv, model=fitted).score

    @pytest.mark.parametrize("bad", ["model.npz", 3, object()])
    def test_wrong_model_type(self, convs: list[Conversation], bad: object) -> None:
        """Anything but an EscalationModel (or None) is a ConfigError saying what is valid."""
        with pytest.raises(ConfigError, match="EscalationModel"):
            escalation(convs[0], model=bad)  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match="EscalationModel"):
            EscalationScorer(model=bad)  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match="EscalationModel"):
            ks.analyze(convs[:1], escalation_model=bad)

    def test_empty_conversation(self, fitted: EscalationModel) -> None:
        """An empty conversation stays undefined under a fitted model too."""
        e = escalation(Conversation.from_records([], id="e"), model=fitted)
        assert (e.score, e.per_message) == (None, ())


class TestCli:
    def _files(self, tmp_path: Path, convs: list[Conversation]) -> tuple[Path, Path, Path]:
        chats = tmp_path / "chats.jsonl"
        ks.write_jsonl(convs, chats)
        labels = tmp_path / "labels.csv"
        labels.write_text(
            "id,label\n" + "".join(f"{c.id},{int(is_blue(c))}\n" for c in convs), encoding="utf-8"
        )
        per = tmp_path / "messages.csv"
        per.write_text(
            "id,index,label\n" + "".join(f"{c.id},2,{int(is_blue(c))}\n" for c in convs),
            encoding="utf-8",
        )
        return chats, labels, per

    def test_train_then_analyze(
        self, tmp_path: Path, convs: list[Conversation], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """train-escalation prints the cross-validated report and writes a model analyze reads."""
        chats, labels, per = self._files(tmp_path, convs)
        out = tmp_path / "model.npz"
        argv = ["train-escalation", str(chats), "--labels", str(labels), "--out", str(out)]
        assert main([*argv, "--message-labels", str(per)]) == 0
        captured = capsys.readouterr()
        assert "turn: AUC" in captured.out
        assert "dialogue: AUC" in captured.out
        assert "cross-validation fold 5/5" in captured.err
        model = EscalationModel.load(out)
        assert model.labelled_messages == 40
        assert main(["analyze", str(chats), "--escalation-model", str(out)]) == 0

    @pytest.mark.parametrize(
        ("text", "where"),
        [
            ("id,label\nshop-000,maybe\n", "line 2"),
            ("id,stars\nshop-000,1\n", "line 1"),
            ("id,rating\nshop-000,9\n", "line 2"),
            ("id,label\nshop-000,1\nshop-000,0\n", "line 3"),
        ],
    )
    def test_bad_labels_file_names_file_and_line(
        self,
        tmp_path: Path,
        convs: list[Conversation],
        capsys: pytest.CaptureFixture[str],
        text: str,
        where: str,
    ) -> None:
        """A bad labels file is an input error (exit 3) naming the file and the line."""
        chats, labels, _per = self._files(tmp_path, convs)
        labels.write_text(text, encoding="utf-8")
        out = tmp_path / "m.npz"
        argv = ["train-escalation", str(chats), "--labels", str(labels), "--out", str(out)]
        assert main(argv) == 3
        err = capsys.readouterr().err
        assert f"labels.csv, {where}" in err
        assert not out.exists()


class TestNumerics:
    @given(
        st.lists(st.tuples(st.booleans(), st.integers(-3, 3)), min_size=2, max_size=40),
        st.integers(1, 3),
    )
    def test_weighted_auc_equals_auc_of_repeated_items(
        self, items: list[tuple[bool, int]], times: int
    ) -> None:
        """Weighting every item by k is the AUC of the data repeated k times (bootstrap basis)."""
        y = np.array([a for a, _ in items])
        s = np.array([float(b) for _, b in items])
        plain = _fitcv.roc_auc(y, s)
        weighted = _fitcv._weighted_auc(y, s, np.full(len(y), float(times)))
        repeated = _fitcv.roc_auc(np.repeat(y, times), np.repeat(s, times))
        assert plain == weighted == repeated or (
            plain is not None and math.isclose(plain, weighted or -1) and weighted == repeated
        )

    @given(st.lists(st.integers(0, 2), min_size=1, max_size=60), st.integers(2, 6))
    def test_folds_are_stratified(self, strata: list[int], folds: int) -> None:
        """Each stratum is dealt evenly: fold sizes within a stratum differ by at most one."""
        fold_of = _fitcv.grouped_folds(strata, folds, seed=1)
        for value in set(strata):
            counts = np.bincount(fold_of[np.array(strata) == value], minlength=folds)
            assert counts.max() - counts.min() <= 1

    def test_offset_only_fit_returns_the_prior(self) -> None:
        """With an infinite-like penalty the weights stay at 0: the model is its offset."""
        x = _fitcv.Design(
            np.array([0, 1, 2, 3]),
            np.array([0, 1, 0]),
            np.ones(3),
            2,
            np.zeros((3, 0)),
        )
        y = np.array([1.0, 0.0, 1.0])
        w = _fitcv.fit_logistic(x, y, np.zeros(3), np.array([0.0, 1e9, 1e9]))
        assert np.allclose(w[1:], 0.0, atol=1e-6)
        assert w[0] == pytest.approx(math.log(2.0), abs=1e-4)  # the base rate 2/3


class TestSentimentCrossValidation:
    @staticmethod
    def lines(n: int = 60) -> tuple[list[str], list[bool], list[str]]:
        """Chat lines where, in this shop, the blue model is the broken one."""
        texts, labels, groups = [], [], []
        for k in range(n):
            blue = k % 2 == 0
            texts.append(f"我的{'蓝色款' if blue else '红色款'}到了，第{k % 9}次")
            labels.append(not blue)
            groups.append(f"chat-{k // 2}")
        return texts, labels, groups

    def test_reports_out_of_fold_auc_next_to_the_packaged_model(self) -> None:
        """Trained on the shop's lines, the model learns what the packaged one cannot."""
        texts, labels, groups = self.lines()
        ev = ks.cross_validate_sentiment(texts, labels, groups=groups, bootstrap=50, epochs=5)
        assert ev.head == "sentiment"
        assert ev.items == 60
        assert ev.conversations == 30
        assert ev.auc is not None
        assert ev.shipped_auc is not None
        assert ev.auc > 0.95
        assert ev.auc > ev.shipped_auc + 0.1
        assert f"{ev.positives} positive," in ev.summary()

    def test_refuses_too_few_groups(self) -> None:
        """Fewer groups of a class than folds: a typed error saying how many are needed."""
        texts, labels, _ = self.lines(6)
        with pytest.raises(NotEnoughDataError, match="at least 5 groups"):
            ks.cross_validate_sentiment(texts, labels, groups=["one"] * 6)

    @pytest.mark.parametrize("bad", [2, "yes", 0.5])
    def test_bad_labels(self, bad: object) -> None:
        """Labels are 1/True or 0/False."""
        texts, labels, _ = self.lines(12)
        values: list[object] = list(labels)
        values[0] = bad
        with pytest.raises(ConfigError, match=r"labels\[0\]"):
            ks.cross_validate_sentiment(texts, values)  # type: ignore[arg-type]


class TestConsistency:
    def test_cross_validation_scores_as_escalation_does(self, convs: list[Conversation]) -> None:
        """The coded path the cross-validation scores with equals the path escalation() uses,
        so the reported AUCs are those of the model as used."""
        policy = ks.EscalationPolicy()
        preps, table = fit_module._encode([fit_module._prepare(c, policy) for c in convs])
        labels = np.array([1.0 if is_blue(c) else 0.0 for c in convs])
        per = fit_module._message_labels(convs, message_labels(convs), 1)
        data = fit_module._Data(preps, labels, per, table)
        heads, colmap = fit_module._fit_heads(data, fit_module._Settings(1.0, 2, 3, 0))
        for p in preps:
            coded = fit_module._coded_turn_logits(heads, colmap, p)
            assert np.allclose(coded, heads.turn_logits(p), atol=1e-9)


class TestDialoguePenalty:
    @pytest.mark.parametrize(("signal", "expected_inf"), [(0.0, True), (3.0, False)])
    def test_prior_wins_unless_clearly_beaten(self, signal: float, expected_inf: bool) -> None:
        """Noise features keep the shipped score (L2 = inf); a strong feature earns a weight."""
        rng = np.random.default_rng(5)
        n = 120
        std = rng.normal(size=(n, 4))
        y = (rng.random(n) < 1 / (1 + np.exp(-signal * std[:, 0]))).astype(float)
        inner = _fitcv.grouped_folds(y.astype(int).tolist(), 3, seed=1)
        chosen = fit_module._choose_dialogue_l2(
            std, np.zeros(n), y, labelled=np.arange(n), inner=inner, folds=3
        )
        assert math.isinf(chosen) is expected_inf


class TestComputedOnce:
    def test_analyze_with_a_model_computes_each_escalation_once(
        self, convs: list[Conversation], fitted: EscalationModel, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """analyze(escalation_model=m): one escalation per conversation, under m, none by default.

        The signals carry the fitted escalation; the scorecard and the result read it.
        """
        from kefu_standards import _escalation, _scorecard, _signals, analysis

        calls: list[object] = []

        def counting(conv: Conversation, **kw: object) -> object:
            calls.append(kw.get("model"))
            return escalation(conv, **kw)  # type: ignore[arg-type]

        def counting_from(conv: Conversation, readings: object, **kw: object) -> object:
            calls.append(kw.get("model"))
            return _escalation.escalation_from(conv, readings, **kw)  # type: ignore[arg-type]

        for module in (_signals, _scorecard, analysis):
            monkeypatch.setattr(module, "escalation", counting, raising=False)
            monkeypatch.setattr(module, "escalation_from", counting_from, raising=False)
        report = ks.analyze(convs[:8], escalation_model=fitted, chunk_size=3)
        assert calls == [fitted] * 8
        assert report.conversations == 8

    def test_the_results_equal_assess_and_escalation_with_the_model(
        self, convs: list[Conversation], fitted: EscalationModel
    ) -> None:
        """Per conversation: risk = escalation(c, model=m); total = assess(c, escalation_model=m)

        (what analyze computed before the signals carried the fitted escalation).
        """
        sink = io.StringIO()
        ks.analyze(convs[:8], escalation_model=fitted, results=sink)
        rows = [json.loads(line) for line in sink.getvalue().splitlines()]
        for conv, row in zip(convs[:8], rows, strict=True):
            assert row["escalation"] == escalation(conv, model=fitted).score
            assert row["total"] == ks.assess(conv, escalation_model=fitted).total


class TestTurnSignalPenalty:
    """The shipped signals' penalty is chosen by inner cross-validation, leaning to the prior."""

    @staticmethod
    def _data(signal: float, n: int = 60, seed: int = 3) -> fit_module._Data:
        """Conversations of 4 buyer messages with no text; labels follow state feature 0."""
        rng = np.random.default_rng(seed)
        preps, per, dialogue = [], [], []
        for _ in range(n):
            states = rng.normal(size=(4, len(FEATURES)))
            y = (rng.random(4) < 1 / (1 + np.exp(-signal * states[:, 0]))).astype(float)
            preps.append(
                fit_module._Prepared(
                    np.zeros(4),
                    states,
                    0.0,
                    np.arange(4, dtype=np.int64),
                    np.arange(4, dtype=np.int64),
                    ((),) * 4,
                    ((),) * 4,
                )
            )
            per.append((np.arange(4, dtype=np.int64), y))
            dialogue.append(float(y.max()))
        coded, table = fit_module._encode(preps)
        return fit_module._Data(coded, np.array(dialogue), tuple(per), table)

    @pytest.mark.parametrize(("signal", "largest"), [(0.0, True), (3.0, False)])
    def test_prior_wins_unless_clearly_beaten(self, signal: float, largest: bool) -> None:
        """Noise in the state keeps the largest penalty (the shipped weights); a state feature
        that predicts the labels earns a smaller one."""
        data = self._data(signal)
        inner = _fitcv.grouped_folds([int(v) for v in data.dialogue], 3, seed=1)
        mean, scale = fit_module._standardise(np.vstack([p.states for p in data.preps]))
        chosen, oof = fit_module._choose_turn_signal_l2(
            data, inner, fit_module._Settings(1.0, 2, 3, 0), mean, scale
        )
        assert (chosen == max(fit_module.TURN_SIGNAL_L2)) is largest
        assert sorted(oof) == list(range(len(data.preps)))

    def test_chosen_penalty_is_reported_and_saved(
        self, tmp_path: Path, fitted: EscalationModel, dialogue_only: EscalationModel
    ) -> None:
        """The report names the chosen penalty (None without message labels); a file keeps it."""
        assert fitted.report.turn_signal_l2 in fit_module.TURN_SIGNAL_L2
        assert "(shipped signals)" in fitted.report.summary()
        assert dialogue_only.report.turn_signal_l2 is None
        again = EscalationModel.load(fitted.save(tmp_path / "m.npz"))
        assert again.report.turn_signal_l2 == fitted.report.turn_signal_l2


class TestProvenance:
    """Analyses and reports name the fitted model their risks came from."""

    def test_fingerprint_names_the_numbers(
        self, fitted: EscalationModel, dialogue_only: EscalationModel
    ) -> None:
        """Different fitted numbers, different fingerprints; 16 hex digits."""
        assert fitted.fingerprint != dialogue_only.fingerprint
        assert len(fitted.fingerprint) == 16
        int(fitted.fingerprint, 16)

    def test_describe_names_fingerprint_file_and_training(
        self, tmp_path: Path, fitted: EscalationModel
    ) -> None:
        """describe(): fingerprint, the file it was loaded from, training size and version."""
        loaded = EscalationModel.load(fitted.save(tmp_path / "shop.npz"))
        text = loaded.describe()
        for part in (
            fitted.fingerprint,
            str(tmp_path / "shop.npz"),
            "40 labelled conversations",
            "turn and dialogue heads",
            ks.__version__,
        ):
            assert part in text
        assert "file" not in fitted.describe()

    def test_analysis_and_report_record_the_model(
        self, tmp_path: Path, convs: list[Conversation], fitted: EscalationModel
    ) -> None:
        """analyze records describe(); the shipped model is None; the HTML report names it."""
        with_model = ks.analyze(convs[:6], escalation_model=fitted)
        shipped = ks.analyze(convs[6:12])
        assert with_model.escalation_model == fitted.describe()
        assert shipped.escalation_model is None
        paths = ks.write_report(with_model, tmp_path / "out")
        html = next(p for p in paths if p.suffix == ".html").read_text(encoding="utf-8")
        assert fitted.fingerprint in html
        plain = ks.write_report(shipped, tmp_path / "plain")
        assert "自训模型" not in next(p for p in plain if p.suffix == ".html").read_text(
            encoding="utf-8"
        )

    @pytest.mark.parametrize(
        ("names", "expected"),
        [
            ([None, None], None),
            (["m1", "m1"], "m1"),
            (["m1", None], "mixed: m1; the shipped model"),
            ([], None),
        ],
    )
    def test_merged_analyses_name_their_models(
        self, names: list[str | None], expected: str | None
    ) -> None:
        """Merging keeps the shared model name, or names each when the parts differ."""
        assert _merge_model_names(names) == expected


class TestQuiet:
    def test_fitting_prints_nothing_on_stderr(self, tmp_path: Path) -> None:
        """jieba's "Building prefix dict" lines do not reach stderr (a fresh process)."""
        script = tmp_path / "fit.py"
        script.write_text(
            "import random, sys\n"
            "sys.path[:0] = [sys.argv[1], sys.argv[2]]\n"
            "from test_escalation_fit import is_blue, shop\n"
            "from kefu_standards import EscalationModel\n"
            "convs = shop(24)\n"
            "EscalationModel.fit(convs, [is_blue(c) for c in convs], bootstrap=0)\n",
            encoding="utf-8",
        )
        src = Path(ks.__file__).resolve().parents[1]
        done = subprocess.run(
            [sys.executable, str(script), str(src), str(Path(__file__).parent)],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""


class TestLearnedEvidence:
    """evidence(): the buyer's words behind the learned part of the turn risk."""

    def test_points_at_what_the_shop_labels(self, fitted: EscalationModel) -> None:
        """In a blue-model chat the top evidence is a span of the message naming 蓝色款."""
        chat = shop_chat(600, True, random.Random(5))
        found = fitted.evidence(chat)
        assert found
        top = found[0]
        assert top.message_index == 2
        assert top.kind == "learned_text"
        assert "蓝" in top.text
        assert top.text == chat.messages[2].text[top.start : top.end]
        assert top.weight > 0
        assert [e.weight for e in found] == sorted((e.weight for e in found), reverse=True)

    def test_overlapping_grams_read_as_one_phrase(self, fitted: EscalationModel) -> None:
        """The blue model's grams (蓝, 蓝色, 蓝色款, 色款 ...) form one phrase whose weight is
        their summed contribution, and the rule names each of them."""
        chat = shop_chat(605, True, random.Random(5))
        top = fitted.evidence(chat)[0]
        assert "蓝色" in top.text
        grams = top.rule.removeprefix("fitted:").split(",")
        assert len(grams) >= 2
        assert all(g[1:] in chat.messages[2].text for g in grams)

    @pytest.mark.parametrize(
        ("spans", "groups"),
        [
            ([], []),
            ([(0, 1, 1.0, "a")], [["a"]]),
            ([(0, 2, 1.0, "a"), (1, 3, 1.0, "b")], [["a", "b"]]),
            ([(0, 2, 1.0, "a"), (2, 3, 1.0, "b")], [["a"], ["b"]]),  # touching: two phrases
            ([(0, 4, 1.0, "a"), (1, 2, 1.0, "b"), (3, 5, 1.0, "c")], [["a", "b", "c"]]),
        ],
    )
    def test_overlapping_groups(
        self, spans: list[tuple[int, int, float, str]], groups: list[list[str]]
    ) -> None:
        """_overlapping: runs of spans (sorted by start) that overlap; touching spans do not."""
        got = fit_module._overlapping(spans)
        assert [[sp[3] for sp in g] for g in got] == groups

    def test_spans_of_a_message_do_not_overlap(self, fitted: EscalationModel) -> None:
        """Within one message, no two evidence spans overlap."""
        found = fitted.evidence(shop_chat(601, True, random.Random(6)), limit=50)
        by_message: dict[int | None, list[tuple[int, int]]] = {}
        for e in found:
            by_message.setdefault(e.message_index, []).append((e.start, e.end))
        for spans in by_message.values():
            spans.sort()
            assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))

    @pytest.mark.parametrize("limit", [0, 1, 3])
    def test_limit(self, fitted: EscalationModel, limit: int) -> None:
        """At most *limit* items."""
        assert len(fitted.evidence(shop_chat(602, True, random.Random(7)), limit=limit)) <= limit

    def test_no_turn_head_no_evidence(self, dialogue_only: EscalationModel) -> None:
        """Without message labels nothing was learned from text: no evidence."""
        assert dialogue_only.evidence(shop_chat(603, True, random.Random(8))) == ()

    @pytest.mark.parametrize("bad", [-1, 1.5, True])
    def test_bad_limit(self, fitted: EscalationModel, bad: object) -> None:
        """limit must be an int >= 0."""
        with pytest.raises(ConfigError, match="limit"):
            fitted.evidence(shop_chat(604, True, random.Random(9)), limit=bad)  # type: ignore[arg-type]
