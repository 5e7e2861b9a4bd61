"""Specification of the analysis speed-ups: each shortcut equals the computation it replaces.

- escalation: with the default signals, :func:`escalation` reads the sentiment cache and
  a per-text politeness verdict directly; it must give the same :class:`Escalation`,
  field for field, as the same signals called as plain functions, for any chat and
  policy.  The benchmark's ``_trace`` (the state after each message) agrees with it.
- model: ``Message`` keeps a ``Role``, an aware ``datetime``, a ``str`` sender and a
  ``FrozenDict`` meta as they are instead of converting them again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import CHAT_START, escalation_chats, gap_chat
from kefu_standards import _escalation
from kefu_standards._escalation import (
    EscalationPolicy,
    _default_model,
    _outcome_logit,
    _sigmoid,
    _trace,
    escalation,
)
from kefu_standards._frozendict import FrozenDict
from kefu_standards._time import as_aware
from kefu_standards.model import Conversation, Message, Role

_fixture_chats = escalation_chats


def _bundled_examples() -> list[Conversation]:
    from kefu_standards.io import read_conversations
    from kefu_standards.resources import data_file

    return list(read_conversations(data_file("examples/conversations.jsonl")))


# -- escalation: the default signals' shortcuts equal plain calls ------------------------

#: Texts that fire every branch of the walk: threats, emotion, repeats, nudges, thanks,
#: acknowledgements, corrections, questions, problems, cards, info-only lines, holding
#: replies, apologies with remedies and deadlines, refusals, impolite replies.
_TEXTS = (
    "在吗",
    "人呢??",
    "？？",
    "发货了吗",
    "什么时候发货啊",
    "什么时候发货啊，我说过了",
    "快递一直没到，太慢了",
    "再不处理我就打12315投诉你们",
    "给差评，找你们主管",
    "气死了，垃圾服务",
    "谢谢，问题解决了",
    "好的",
    "嗯嗯",
    "不是这个意思，我的意思是换货",
    "质量有问题，要退款",
    "[ORDERID_1]",
    "#E-s[数字x]",
    "[数字x]",
    "",
    "   ",
    "亲，您好，请稍等",
    "稍等",
    "非常抱歉让您久等了，马上为您补发，24小时内发出",
    "已为您申请退款，预计[数字x]天到账",
    "抱歉，这个无法处理，请您联系快递",
    "不支持退换",
    "你自己看不懂吗",
    "爱买不买",
    "好的呢，还有什么可以帮您",
)
_ROLES = ("buyer", "buyer", "agent", "agent", "bot", "system")
_TURN = st.tuples(
    st.sampled_from(_ROLES),
    st.sampled_from(_TEXTS),
    st.one_of(st.none(), st.sampled_from([0.0, 5.0, 100.0, 179.9, 180.0, 400.0, 1000.0, 4000.0])),
)
_POLICIES = st.sampled_from(
    [
        EscalationPolicy(),
        EscalationPolicy(
            long_wait_s=30,
            holding_followup_s=60,
            apology_window=1,
            decay=0.5,
            threat_decay=0.9,
            average_weight=0.7,
            repeat_similarity=0.3,
        ),
    ]
)


def _chat(turns: list[tuple[str, str, float | None]]) -> Conversation:
    return gap_chat(turns, id="walk")


def _plain(fn: Any) -> Any:
    """The same signal behind a plain function (so no shortcut recognises it)."""
    return lambda text: fn(text)  # noqa: PLW0108 - a new object on purpose


def _assert_same(conv: Conversation, policy: EscalationPolicy) -> None:
    sent, pol = _escalation._lazy_sentiment(), _escalation._lazy_politeness()
    assert sent is not None
    assert pol is not None
    fast = escalation(conv, policy=policy)
    plain = escalation(conv, policy=policy, sentiment=_plain(sent), politeness=_plain(pol))
    assert fast == plain
    assert repr(fast) == repr(plain)  # the same floats, evidence and reason order
    if conv.messages:  # the benchmark's trace reads the same walk
        rows = _trace(conv, policy=policy, sentiment=sent, politeness=pol).features
        assert len(rows) == len(conv.messages)
        assert round(_sigmoid(_outcome_logit(rows[-1], _default_model())), 6) == fast.score


def test_shortcuts_equal_plain_calls_on_the_fixture_chats() -> None:
    for conv in _fixture_chats():
        _assert_same(conv, EscalationPolicy())


def test_shortcuts_equal_plain_calls_on_the_bundled_examples() -> None:
    for conv in _bundled_examples():
        _assert_same(conv, EscalationPolicy())


#: Chats that reach each branch of the walk at least once (``role, text, gap``).
_BRANCHES: dict[str, list[tuple[str, str, float | None]]] = {
    "long wait, no apology after it": [
        ("buyer", "发货了吗", 0.0),
        ("agent", "好的呢，还有什么可以帮您", 400.0),
        ("agent", "稍等", 5.0),
        ("agent", "好的呢，还有什么可以帮您", 5.0),
        ("agent", "好的", 5.0),
    ],
    "long wait, then an apology": [
        ("buyer", "发货了吗", 0.0),
        ("agent", "好的", 400.0),
        ("agent", "非常抱歉让您久等了，马上为您补发，24小时内发出", 5.0),
    ],
    "holding reply followed up too late": [
        ("buyer", "发货了吗", 0.0),
        ("agent", "稍等", 5.0),
        ("agent", "已为您申请退款，预计[数字x]天到账", 1000.0),
    ],
    "buyer chases a holding reply": [
        ("buyer", "发货了吗", 0.0),
        ("agent", "稍等", 5.0),
        ("buyer", "人呢??", 100.0),
        ("agent", "稍等", 5.0),
        ("buyer", "什么时候发货啊，我说过了", 4000.0),
    ],
    "buyer keeps waiting": [
        ("buyer", "快递一直没到，太慢了", 0.0),
        ("buyer", "在吗", 400.0),
        ("buyer", "再不处理我就打12315投诉你们", 1000.0),
        ("buyer", "质量有问题，要退款", None),
        ("agent", "抱歉，这个无法处理，请您联系快递", 5.0),
    ],
    "thanks, acknowledgements and info-only lines": [
        ("buyer", "不是这个意思，我的意思是换货", 0.0),
        ("agent", "你自己看不懂吗", 5.0),
        ("buyer", "[ORDERID_1]", 5.0),
        ("buyer", "嗯嗯", 5.0),
        ("agent", "已为您申请退款，预计[数字x]天到账", 5.0),
        ("buyer", "气死了，垃圾服务，谢谢", 5.0),
        ("buyer", "谢谢，问题解决了", 5.0),
    ],
}


@pytest.mark.parametrize("name", list(_BRANCHES))
def test_shortcuts_equal_plain_calls_on_each_branch(name: str) -> None:
    for policy in (EscalationPolicy(), EscalationPolicy(long_wait_s=30, apology_window=1)):
        _assert_same(_chat(_BRANCHES[name]), policy)


@settings(max_examples=300)
@given(st.lists(_TURN, max_size=16), _POLICIES)
def test_shortcuts_equal_plain_calls_on_any_chat(
    turns: list[tuple[str, str, float | None]], policy: EscalationPolicy
) -> None:
    _assert_same(_chat(turns), policy)


def test_walk_covers_the_end_of_chat_holding_lapse() -> None:
    """A holding reply left last: the final state changes after the last message."""
    conv = _chat([("buyer", "发货了吗", 0.0), ("agent", "稍等", 5.0)])
    e = escalation(conv)
    assert e.reason("holding_unfollowed") is not None
    _assert_same(conv, EscalationPolicy())


def test_walk_of_an_empty_chat() -> None:
    conv = Conversation(id="empty", messages=())
    assert escalation(conv) == escalation(conv, sentiment=None, politeness=None)
    assert escalation(conv).per_message == ()


# -- model: Message keeps values that need no conversion ----------------------------------


class _Str(str):
    """A str subclass (converted to a plain str, as before)."""


class _When(datetime):
    """A datetime subclass (takes the general path)."""


_NAIVE = datetime(2024, 5, 6, 9, 0)
_AWARE = CHAT_START


@pytest.mark.parametrize(
    ("role", "sent_at", "sender", "meta"),
    [
        (Role.BUYER, _AWARE, "jd_买家", None),
        ("customer", _NAIVE, 12345, {"a": [1, 2]}),
        ("客服", None, None, FrozenDict({"k": "v"})),
        (Role.SYSTEM, _When(2024, 5, 6, 9, 0, tzinfo=timezone.utc), _Str("小美"), {}),
        (Role.AGENT, _When(2024, 5, 6, 9, 0), "", FrozenDict()),
    ],
)
def test_message_fields_equal_the_general_conversion(
    role: Any, sent_at: datetime | None, sender: Any, meta: Any
) -> None:
    kwargs: dict[str, Any] = {} if meta is None else {"meta": meta}
    m = Message(role, "好的", sent_at, sender, **kwargs)
    assert m.role is Role.parse(role)
    expected_time = None if sent_at is None else as_aware(sent_at)
    assert m.sent_at == expected_time
    assert repr(m.sent_at) == repr(expected_time)
    assert m.sender == (None if sender is None else str(sender))
    assert type(m.sender) is (type(None) if sender is None else str)
    assert type(m.meta) is FrozenDict
    assert m.meta == FrozenDict(meta)
    assert hash(m) == hash(
        Message(Role.parse(role), "好的", expected_time, m.sender, FrozenDict(meta))
    )


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: Message("nobody", "x"), "unknown role"),
        (lambda: Message(Role.BUYER, "x", "2024-05-06"), "sent_at must be a datetime"),
        (lambda: Message(Role.BUYER, 3), "must be a str"),  # type: ignore[arg-type]
    ],
)
def test_message_still_rejects_bad_values(make: Callable[[], Message], error: str) -> None:
    from kefu_standards.exceptions import ConfigError

    with pytest.raises(ConfigError, match=error):
        make()


def test_messages_without_meta_share_one_empty_mapping() -> None:
    a, b = Message(Role.BUYER, "a"), Message(Role.AGENT, "b")
    assert a.meta == {}
    assert a.meta is b.meta
    conv = Conversation(id="c", messages=(a, b))
    assert conv.meta == {}
    assert type(conv.meta) is FrozenDict


# -- FrozenDict and ScoreResult: the scalar fast paths ------------------------------------


def _frozen_reference(data: Any) -> dict[str, Any]:
    """The mapping FrozenDict held before its fast path (a comprehension over freeze)."""
    from kefu_standards._frozendict import freeze

    return {(k if type(k) is str else str(k)): freeze(v) for k, v in data.items()}


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"a": 1, "b": 2.5, "c": None, "d": True, "e": "x"},
        {1: "int key", ("t",): "tuple key"},
        {"s": _Str("str subclass"), "l": [1, [2, {"x": 3}]], "t": (1, 2), "m": {"n": {}}},
        {"f": FrozenDict({"k": [1]}), "set": frozenset({1})},
    ],
)
def test_frozendict_holds_what_freeze_gives(data: dict[Any, Any]) -> None:
    fd = FrozenDict(data)
    assert fd._data == _frozen_reference(data)
    assert [type(v) for v in fd._data.values()] == [
        type(v) for v in _frozen_reference(data).values()
    ]
    assert hash(fd) == hash(FrozenDict(fd))


@given(
    st.dictionaries(
        st.one_of(st.text(max_size=3), st.integers()),
        st.recursive(
            st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=3)),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner),
            max_leaves=6,
        ),
        max_size=5,
    )
)
def test_frozendict_fast_path_on_any_mapping(data: dict[Any, Any]) -> None:
    assert repr(FrozenDict(data)._data) == repr(_frozen_reference(data))


@pytest.mark.parametrize("score", [0.0, -0.0, 0.5, 1.0, 1, 0, None])
def test_score_result_keeps_valid_scores(score: float | None) -> None:
    from kefu_standards.scoring import ScoreResult

    r = ScoreResult(score, (), "n/a" if score is None else "")
    assert r.score == (None if score is None else float(score))
    assert repr(r.score) == repr(None if score is None else float(score))


@pytest.mark.parametrize("score", [float("nan"), -0.1, 1.0000001, float("inf"), True, "0.5"])
def test_score_result_still_rejects_bad_scores(score: Any) -> None:
    from kefu_standards.exceptions import ConfigError
    from kefu_standards.scoring import ScoreResult

    with pytest.raises(ConfigError):
        ScoreResult(score)


def test_score_result_evidence_is_still_checked() -> None:
    from kefu_standards.evidence import Evidence
    from kefu_standards.exceptions import ConfigError
    from kefu_standards.scoring import ScoreResult

    ev = Evidence(0, 1, "好", "kind", 1.0)
    assert ScoreResult(1.0, (ev, ev)).evidence == (ev, ev)
    assert ScoreResult(1.0, [ev]).evidence == (ev,)
    with pytest.raises(ConfigError, match=r"evidence\[1\]"):
        ScoreResult(1.0, (ev, "not evidence"))  # type: ignore[arg-type]


# -- dimension scorers: the default politeness read from the signals ------------------------


def _default_politeness_fn() -> Callable[[str], Any]:
    """The default politeness as an injected function (so the scorers take the general path)."""
    from kefu_standards._politeness import PolitenessScorer

    scorer = PolitenessScorer()
    return scorer.score_text


def _politeness_scorers() -> list[tuple[Any, Any]]:
    """``(default scorer, the same scorer with the default politeness injected)`` pairs."""
    from kefu_standards.scorers import (
        NoInsultScorer,
        ServiceAttitudeScorer,
        StressResilienceScorer,
    )

    fn = _default_politeness_fn()
    return [
        (ServiceAttitudeScorer(), ServiceAttitudeScorer(politeness=fn)),
        (StressResilienceScorer(), StressResilienceScorer(politeness=fn)),
        (NoInsultScorer(), NoInsultScorer(politeness=fn)),
        (NoInsultScorer(model_threshold=0.1), NoInsultScorer(politeness=fn, model_threshold=0.1)),
    ]


def _assert_scorers_agree(conv: Conversation) -> None:
    for cached, general in _politeness_scorers():
        a, b = cached.score(conv), general.score(conv)
        assert a == b, cached.name
        assert repr(a) == repr(b), cached.name


def test_cached_politeness_reads_agree_on_the_fixture_chats() -> None:
    for conv in [*_fixture_chats(), *_bundled_examples()]:
        _assert_scorers_agree(conv)


@given(st.lists(_TURN, max_size=12))
def test_cached_politeness_reads_agree_on_any_chat(
    turns: list[tuple[str, str, float | None]],
) -> None:
    _assert_scorers_agree(_chat(turns))


def test_view_rows_are_the_named_tuples_the_constructor_builds() -> None:
    from kefu_standards._competency_cues import CueMessage, _side, cue_view, text_cues

    for conv in _bundled_examples():
        view = cue_view(conv)
        for i, (row, m) in enumerate(zip(view, conv.messages, strict=True)):
            assert type(row) is CueMessage
            assert row == CueMessage(i, m.role, m.text, *text_cues(_side(m.role), m.text))
            assert row.index == i


# -- FrozenDict reads and Evidence.at answer as the general code did -------------------------


@pytest.mark.parametrize("data", [{}, {"a": 1, "b": [1, 2]}, {"transfer": True, "x": None}])
def test_frozendict_reads_equal_the_mapping_mixins(data: dict[str, Any]) -> None:
    from collections.abc import ItemsView, KeysView, Mapping, ValuesView

    fd = FrozenDict(data)
    assert list(fd.items()) == list(ItemsView(fd))
    assert list(fd.keys()) == list(KeysView(fd))
    assert list(fd.values()) == list(ValuesView(fd))
    assert fd.items() == ItemsView(fd)
    assert fd.keys() == KeysView(fd)
    assert isinstance(fd.items(), ItemsView)
    assert isinstance(fd.keys(), KeysView)
    assert isinstance(fd.values(), ValuesView)
    for key in ("a", "transfer", "missing"):
        assert (key in fd) is Mapping.__contains__(fd, key)
        assert fd.get(key) == Mapping.get(fd, key)
        assert fd.get(key, "default") == Mapping.get(fd, key, "default")
    with pytest.raises(TypeError):
        [] in fd  # noqa: B015 - unhashable, as for the mixin  # type: ignore[comparison-overlap]


@given(
    st.integers(0, 50),
    st.integers(0, 50),
    st.text(max_size=4),
    st.floats(-3, 3),
    st.one_of(st.none(), st.integers(0, 99)),
)
def test_evidence_at_equals_evolve(
    start: int, length: int, text: str, weight: float, index: int | None
) -> None:
    import attrs

    from kefu_standards.evidence import Evidence

    e = Evidence(start, start + length, text, "kind", weight, "rule", index)
    moved = e.at(7)
    assert moved == attrs.evolve(e, message_index=7)
    assert repr(moved) == repr(attrs.evolve(e, message_index=7))


# -- analyze: problem markers kept per agent text ----------------------------------------


def _reference_hits(conv: Conversation) -> tuple[Any, ...]:
    """The politeness problem hits of *conv*, computed without the per-text cache."""
    from kefu_standards._politeness import politeness_many
    from kefu_standards.analysis import PROBLEM_KINDS
    from kefu_standards.text import has_content

    idx = [i for i, m in enumerate(conv.messages) if m.role is Role.AGENT and has_content(m.text)]
    scored = politeness_many([conv.messages[i].text for i in idx]) if idx else []
    return tuple(
        e.at(i)
        for i, p in zip(idx, scored, strict=True)
        if p.score is not None
        for e in p.evidence
        if e.kind in PROBLEM_KINDS
    )


def test_problem_hits_equal_the_uncached_filter() -> None:
    from kefu_standards.analysis import analyze_conversation

    for conv in [
        *_fixture_chats(),
        *_bundled_examples(),
        _chat([("agent", t, 1.0) for t in _TEXTS]),
    ]:
        for _ in range(2):  # cold, then cached
            assert analyze_conversation(conv).hits == _reference_hits(conv)


def test_assessment_dimensions_equal_a_frozendict_of_them() -> None:
    from kefu_standards.competency import assess

    for conv in [*_bundled_examples(), *_fixture_chats()]:
        dims = assess(conv).dimensions
        assert type(dims) is FrozenDict
        assert dims == FrozenDict(dict(dims))
        assert repr(dims) == repr(FrozenDict(dict(dims)))


@pytest.mark.parametrize(
    "data", [{}, {"a": 1, "b": None}, {"f": FrozenDict({"x": (1, 2)}), "s": frozenset({1})}]
)
def test_of_frozen_equals_the_constructor(data: dict[str, Any]) -> None:
    fd = FrozenDict._of_frozen(data)
    assert fd == FrozenDict(data)
    assert repr(fd) == repr(FrozenDict(data))
    assert hash(fd) == hash(FrozenDict(data))
    assert fd._data is not data  # copied


# -- Evidence: the written-out __init__ is the one attrs generates --------------------------


def _attrs_evidence_class() -> type:
    """Evidence as attrs would build it (generated __init__), for comparison."""
    import attrs

    from kefu_standards.evidence import _check_span

    @attrs.frozen(slots=True)
    class Generated:
        start: int = attrs.field(validator=_check_span)
        end: int
        text: str
        kind: str
        weight: float = attrs.field(converter=float)
        rule: str = ""
        message_index: int | None = None

    return Generated


_GENERATED = _attrs_evidence_class()


@given(
    st.integers(-3, 40),
    st.integers(-3, 40),
    st.text(max_size=3),
    st.one_of(st.floats(allow_nan=False), st.integers(-5, 5), st.booleans()),
    st.one_of(st.none(), st.integers(0, 9)),
)
def test_evidence_init_equals_the_generated_one(
    start: int, end: int, text: str, weight: float, index: int | None
) -> None:
    import attrs

    from kefu_standards.evidence import Evidence
    from kefu_standards.exceptions import ConfigError

    args = (start, end, text, "kind", weight, "rule", index)
    if start < 0 or end < start:
        with pytest.raises(ConfigError, match="0 <= start <= end"):
            Evidence(*args)
        with pytest.raises(ConfigError, match="0 <= start <= end"):
            _GENERATED(*args)
        return
    mine, generated = Evidence(*args), _GENERATED(*args)
    assert attrs.astuple(mine) == attrs.astuple(generated)
    assert [type(v) for v in attrs.astuple(mine)] == [type(v) for v in attrs.astuple(generated)]
    assert Evidence(start, end, text, "kind", weight) == Evidence(
        start=start, end=end, text=text, kind="kind", weight=weight, rule="", message_index=None
    )


def test_evidence_span_check_follows_the_attrs_switch() -> None:
    import attrs

    from kefu_standards.evidence import Evidence

    attrs.validators.set_disabled(True)
    try:
        assert Evidence(-1, 0, "", "kind", 1).start == -1
        assert _GENERATED(-1, 0, "", "kind", 1).start == -1
    finally:
        attrs.validators.set_disabled(False)


def test_shared_fixed_results_equal_fresh_ones() -> None:
    from kefu_standards.scorers._base import clean_result as _clean
    from kefu_standards.scorers._base import not_applicable as _na
    from kefu_standards.scoring import ScoreResult

    assert _na("the buyer raised no problem") == ScoreResult.na("the buyer raised no problem")
    assert _na("x") is _na("x")
    assert _clean() == ScoreResult(1.0, (), "", {"hits": 0})
    assert repr(_clean()) == repr(ScoreResult(1.0, (), "", {"hits": 0}))


def _attrs_message_class() -> type:
    """Message as attrs would build it (generated __init__ over the same converters)."""
    import attrs

    from kefu_standards.model import _NO_META, _check_text, _opt_str, _to_meta, _to_role, _to_time

    @attrs.frozen(slots=True)
    class Generated:
        role: Role = attrs.field(converter=_to_role)
        text: str = attrs.field(validator=_check_text)
        sent_at: datetime | None = attrs.field(default=None, converter=_to_time)
        sender: str | None = attrs.field(default=None, converter=_opt_str)
        meta: FrozenDict = attrs.field(default=_NO_META, converter=_to_meta, repr=False)

    return Generated


_GENERATED_MESSAGE = _attrs_message_class()
_MISSING_META = object()


@given(
    st.sampled_from([Role.BUYER, Role.AGENT, "customer", " 客服 ", "nobody", 3]),
    st.sampled_from(["好的", _Str("您好"), "", 5]),
    st.sampled_from(
        [None, _AWARE, _NAIVE, _When(2024, 5, 6, tzinfo=timezone.utc), _When(2024, 5, 6), "9:00"]
    ),
    st.sampled_from([None, "jd_买家", _Str("小美"), 42]),
    st.sampled_from([_MISSING_META, None, {}, {"k": [1]}, FrozenDict({"k": 1})]),
)
def test_message_init_equals_the_generated_one(
    role: Any, text: Any, sent_at: Any, sender: Any, meta: Any
) -> None:
    import attrs

    from kefu_standards.exceptions import ConfigError

    extra = {} if meta is _MISSING_META else {"meta": meta}
    error: str | None = None
    try:
        expected = _GENERATED_MESSAGE(role, text, sent_at, sender, **extra)
    except ConfigError as exc:
        error = str(exc)
    if error is not None:
        with pytest.raises(ConfigError) as got:
            Message(role, text, sent_at, sender, **extra)
        assert str(got.value) == error
        return
    m = Message(role, text, sent_at, sender, **extra)
    assert attrs.astuple(m, recurse=False) == attrs.astuple(expected, recurse=False)
    assert [type(v) for v in attrs.astuple(m, recurse=False)] == [
        type(v) for v in attrs.astuple(expected, recurse=False)
    ]
    assert repr(m.sent_at) == repr(expected.sent_at)


def test_message_text_check_follows_the_attrs_switch() -> None:
    import attrs

    attrs.validators.set_disabled(True)
    try:
        assert Message(Role.BUYER, 5).text == 5  # type: ignore[arg-type]
    finally:
        attrs.validators.set_disabled(False)
