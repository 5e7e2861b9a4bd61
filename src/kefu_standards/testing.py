"""The contract every scorer must pass, for scorer authors' test suites.

:func:`check_scorer` runs a scorer over a small set of awkward conversations
(empty, buyer-only, agent-only, untimed, timed, Traditional and full-width text,
bot and system messages, plus any you pass) and raises
:class:`~kefu_standards.exceptions.ScorerContractError` naming the scorer, the
check and what went wrong.  When everything passes it returns a
:class:`ScorerReport`.  Use it in your tests::

    from kefu_standards.testing import check_scorer

    def test_my_scorer_keeps_the_contract():
        check_scorer(MyScorer())

The checks (:data:`CHECKS`):

- ``name`` — ``scorer.name`` is a non-empty ``str``;
- ``callable`` — ``scorer.score`` exists and is callable;
- ``survives`` — no exception on any probe conversation;
- ``result`` — the result has a ``score`` (a :class:`~kefu_standards.scoring.ScoreResult`
  or an object with ``score``/``reason``/``evidence``);
- ``in_range`` — ``score`` is a real number in ``[0, 1]`` or ``None``;
- ``na_reason`` — ``score is None`` comes with a non-empty ``reason``;
- ``evidence`` — evidence with a ``message_index`` points into that message's text;
- ``deterministic`` — the same conversation (and an equal copy) scores the same twice;
- ``no_mutation`` — the conversation is unchanged after scoring;
- ``picklable`` — the scorer survives ``pickle`` and scores the same afterwards.

:func:`reference_rounds` is the readable definition of a response-time *round*
(the oracle the library's fast round-finding is tested against; see
``docs/explanation/response-times.md``).
"""

from __future__ import annotations

import copy
import math
import pickle
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs

from ._frozendict import FrozenDict
from ._time import elapsed
from ._timing_agg import is_transfer_line
from ._timing_policy import TimingPolicy, as_policy
from .exceptions import InputTypeError, ScorerContractError
from .model import Conversation, Message, Role

__all__ = [
    "CHECKS",
    "ReferenceRound",
    "ScorerReport",
    "check_scorer",
    "probe_conversations",
    "reference_rounds",
]

#: The names of the checks :func:`check_scorer` runs, in order.
CHECKS: tuple[str, ...] = (
    "name",
    "callable",
    "survives",
    "result",
    "in_range",
    "na_reason",
    "evidence",
    "deterministic",
    "no_mutation",
    "picklable",
)

_T0 = datetime(2024, 5, 1, 10, 0, 0, tzinfo=timezone(timedelta(hours=8)))


def _at(seconds: float) -> datetime:
    return _T0 + timedelta(seconds=seconds)


def probe_conversations() -> dict[str, Conversation]:
    """Return the awkward conversations every scorer must survive, by probe name."""
    b, a, bot, sys_ = Role.BUYER, Role.AGENT, Role.BOT, Role.SYSTEM
    return {
        "empty": Conversation("probe-empty", ()),
        "buyer_only": Conversation(
            "probe-buyer-only",
            (Message(b, "在吗?"), Message(b, "快递怎么还没到，我要投诉"), Message(b, "??")),
        ),
        "agent_only": Conversation(
            "probe-agent-only", (Message(a, "亲，您好，请问有什么可以帮您？", sender="小美"),)
        ),
        "untimed": Conversation(
            "probe-untimed",
            (
                Message(b, "这件衣服什么材质?尺码偏大吗"),
                Message(a, "您好，面料是纯棉的，尺码偏大，建议拍小一码"),
                Message(b, "好的谢谢"),
                Message(a, "感谢您的支持，祝您生活愉快"),
            ),
        ),
        "timed": Conversation(
            "probe-timed",
            (
                Message(b, "收到的杯子是破的", _at(0), sender="tb_buyer"),
                Message(a, "非常抱歉，请稍等，我帮您查一下订单", _at(20), sender="小美"),
                Message(a, "已为您申请补发，明天发出，订单号核对无误", _at(300), sender="小美"),
                Message(b, "好的", _at(320), sender="tb_buyer"),
            ),
        ),
        "placeholders": Conversation(
            "probe-placeholders",
            (
                Message(b, "#E-s[数字x][ORDERID_10337264]"),
                Message(a, "   "),
                Message(b, "。。。"),
                Message(a, ""),
            ),
        ),
        "traditional_fullwidth": Conversation(
            "probe-traditional",
            (
                Message(b, "請問這款有貨嗎？ＸＬ碼多大"),
                Message(a, "親，您好！有現貨，ＸＬ碼胸圍１１０釐米"),
            ),
        ),
        "bots_and_transfers": Conversation(
            "probe-bots",
            (
                Message(bot, "欢迎光临，有什么可以帮您？"),
                Message(b, "我要退货，你们的东西太差了，垃圾"),
                Message(sys_, "由 服务助手 转交给 小李"),
                Message(a, "您好，我是售后专员小李，非常抱歉，马上为您处理退货", sender="小李"),
                Message(a, "请稍等", sender="小王"),
            ),
        ),
    }


@attrs.frozen(slots=True)
class ScorerReport:
    """What :func:`check_scorer` found when every check passed.

    ``scores`` maps each probe name to the score it got (``None`` = N/A), and
    ``reasons`` the N/A reasons.
    """

    scorer_name: str
    checks: tuple[str, ...]
    scores: FrozenDict
    reasons: FrozenDict

    @property
    def n_probes(self) -> int:
        """How many conversations were scored."""
        return len(self.scores)


def _fail(name: str, check: str, detail: str) -> ScorerContractError:
    return ScorerContractError(name, check, detail)


def _snapshot(conversation: Conversation) -> Any:
    return (conversation.id, conversation.shop, conversation.meta.thaw(), conversation.to_record())


def _score_of(name: str, probe: str, result: object) -> tuple[float | None, str]:
    if not hasattr(result, "score"):
        raise _fail(
            name,
            "result",
            f"on the {probe!r} conversation score() returned {type(result).__name__}, not a "
            "ScoreResult (an object with 'score', 'reason' and 'evidence')",
        )
    value = result.score
    reason = getattr(result, "reason", "")
    if value is None:
        if not isinstance(reason, str) or not reason.strip():
            raise _fail(
                name,
                "na_reason",
                f"on the {probe!r} conversation the score is None (N/A) but the reason is "
                f"{reason!r}; say why it does not apply: ScoreResult.na('...')",
            )
        return None, reason
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(
            name,
            "in_range",
            f"on the {probe!r} conversation the score is {value!r} ({type(value).__name__}); "
            "it must be a float in [0, 1] or None",
        )
    if math.isnan(value) or not 0.0 <= float(value) <= 1.0:
        raise _fail(
            name,
            "in_range",
            f"on the {probe!r} conversation the score is {value!r}; it must be in [0, 1] "
            "(1 = best) or None for N/A",
        )
    return float(value), reason if isinstance(reason, str) else ""


def _check_evidence(name: str, probe: str, conversation: Conversation, result: object) -> None:
    for e in getattr(result, "evidence", ()) or ():
        i = getattr(e, "message_index", None)
        if i is None:
            continue
        if not 0 <= i < len(conversation.messages):
            raise _fail(
                name,
                "evidence",
                f"on the {probe!r} conversation evidence {e!r} points to message {i}, but "
                f"there are {len(conversation.messages)} messages",
            )
        text = conversation.messages[i].text
        if text[e.start : e.end] != e.text:
            raise _fail(
                name,
                "evidence",
                f"on the {probe!r} conversation evidence text {e.text!r} is not "
                f"messages[{i}].text[{e.start}:{e.end}] == {text[e.start : e.end]!r}",
            )


def _same(a: object, b: object) -> bool:
    sa, sb = getattr(a, "score", None), getattr(b, "score", None)
    if sa != sb and not (isinstance(sa, float) and isinstance(sb, float) and sa == sb):
        return False
    return tuple(getattr(a, "evidence", ()) or ()) == tuple(getattr(b, "evidence", ()) or ())


def check_scorer(
    scorer: object,
    conversations: Iterable[Conversation] | Mapping[str, Conversation] = (),
) -> ScorerReport:
    """Check that *scorer* keeps the scorer contract; raise on the first broken rule.

    Parameters
    ----------
    scorer:
        The object to check (anything with ``name`` and ``score``).
    conversations:
        Extra conversations to probe with, besides
        :func:`probe_conversations` (a mapping names them).

    Returns
    -------
    ScorerReport
        The checks passed and the score of each probe.

    Raises
    ------
    ScorerContractError
        With ``scorer_name``, ``check`` (one of :data:`CHECKS`) and ``detail``.

    """
    name = getattr(scorer, "name", None)
    if not isinstance(name, str) or not name.strip():
        raise _fail(repr(scorer), "name", f"scorer.name must be a non-empty str, got {name!r}")
    fn = getattr(scorer, "score", None)
    if not callable(fn):
        raise _fail(name, "callable", "the scorer has no callable score(conversation) method")
    probes = probe_conversations()
    extra = (
        dict(conversations)
        if isinstance(conversations, Mapping)
        else {f"extra[{i}]": c for i, c in enumerate(conversations)}
    )
    probes.update(extra)
    scores: dict[str, float | None] = {}
    reasons: dict[str, str] = {}
    for probe, conv in probes.items():
        before = _snapshot(conv)
        twin = copy.deepcopy(conv)
        try:
            first = fn(conv)
        except Exception as exc:
            raise _fail(
                name,
                "survives",
                f"score() raised {type(exc).__name__} on the {probe!r} conversation: {exc}",
            ) from exc
        scores[probe], reason = _score_of(name, probe, first)
        if scores[probe] is None:
            reasons[probe] = reason
        _check_evidence(name, probe, conv, first)
        if _snapshot(conv) != before or conv != twin:
            raise _fail(
                name,
                "no_mutation",
                f"the {probe!r} conversation changed while it was scored; scorers must treat "
                "their input as read-only",
            )
        try:
            again, on_copy = fn(conv), fn(twin)
        except Exception as exc:
            raise _fail(
                name,
                "deterministic",
                f"a second call on {probe!r} raised {type(exc).__name__}: {exc}",
            ) from exc
        if not (_same(first, again) and _same(first, on_copy)):
            raise _fail(
                name,
                "deterministic",
                f"the {probe!r} conversation scored {getattr(first, 'score', None)!r}, then "
                f"{getattr(again, 'score', None)!r}, and {getattr(on_copy, 'score', None)!r} on "
                "an equal copy; a scorer must give the same result for the same input",
            )
    try:
        clone = pickle.loads(pickle.dumps(scorer))
    except Exception as exc:
        raise _fail(
            name,
            "picklable",
            f"pickling failed with {type(exc).__name__}: {exc} (use module-level functions "
            "and classes, not lambdas or closures)",
        ) from exc
    probe = "timed"
    if getattr(clone, "name", None) != name or not _same(
        clone.score(probes[probe]), fn(probes[probe])
    ):
        raise _fail(
            name, "picklable", "the unpickled scorer has another name or scores differently"
        )
    return ScorerReport(name, CHECKS, FrozenDict(scores), FrozenDict(reasons))


# -- the reference definition of rounds -----------------------------------------------
@attrs.frozen(slots=True)
class ReferenceRound:
    """One round as :func:`reference_rounds` finds it (message indexes, not times).

    ``opened_index``: the round's first buyer message; ``start_index``: where its
    clock starts (``opened_index``, or the transfer line for the agent who took
    over under ``credit="holder"``); ``answered_index``: the answer, ``None`` when
    unanswered; ``agent``: the sender credited; ``buyer_messages``: buyer
    messages in the round; ``session``: 0, 1, ... (a new one after an idle gap).

    .. versionadded:: 0.2.0
    """

    opened_index: int
    start_index: int
    answered_index: int | None
    agent: str | None
    buyer_messages: int
    session: int

    def wait_us(self, conversation: Conversation) -> int | None:
        """Return the real elapsed wait in whole microseconds (``None``: unanswered/untimed)."""
        if self.answered_index is None:
            return None
        start = conversation.messages[self.start_index].sent_at
        answer = conversation.messages[self.answered_index].sent_at
        if start is None or answer is None:
            return None
        return elapsed(answer, start) // timedelta(microseconds=1)


def reference_rounds(
    conversation: Conversation, policy: TimingPolicy | str | None = None
) -> tuple[ReferenceRound, ...]:
    """Find the rounds of *conversation*: the readable definition, for tests.

    The library finds rounds with faster code (one conversation, and arrays for
    the per-agent/day/shop tables); all of it must give these rounds.  Only the
    policy's ``bot_answers``, ``credit`` and ``idle_gap_s`` change which rounds
    there are; windows, caps, business hours and SLAs act on the rounds found.

    The rules, in the order the messages are read:

    1. A buyer message opens a round when none is open; later buyer messages
       join it.  A new *session* starts with the first round and with a round
       opened more than ``idle_gap_s`` after the previous buyer or answering
       message.
    2. The first later agent message (or bot message, with ``bot_answers``)
       answers the open round; with no round open it answers nothing.  System
       messages never open or answer rounds.
    3. ``credit="answerer"``: the answer's sender gets the round.
       ``credit="holder"``: the *holder* is the sender of the last agent
       message before the round opened; when another agent answers, the holder
       gets an unanswered round, and the answering agent a round whose clock
       starts at the last transfer line inside the round (or at its opening).
    4. A round still open at the end is unanswered, credited to its holder under
       ``credit="holder"``, to nobody under ``credit="answerer"``.

    .. versionadded:: 0.2.0
    """
    if not isinstance(conversation, Conversation):
        msg = f"reference_rounds() takes a Conversation, not {type(conversation).__name__}"
        raise InputTypeError(msg)
    p = as_policy(policy)
    answers = {Role.AGENT, Role.BOT} if p.bot_answers else {Role.AGENT}
    by_holder = p.credit == "holder"
    rounds: list[ReferenceRound] = []

    holder: str | None = None  # sender of the latest agent message
    last_transfer: int | None = None  # index of the latest transfer line
    last_active: datetime | None = None  # time of the latest buyer or answering message
    session = -1
    # the open round, if any
    opened: int | None = None
    opened_holder: str | None = None
    buyers = 0

    for i, m in enumerate(conversation.messages):
        if m.role is Role.SYSTEM and is_transfer_line(m):
            last_transfer = i
        if m.role is Role.BUYER:
            if opened is None:
                idle = (
                    p.idle_gap_s is not None
                    and m.sent_at is not None
                    and last_active is not None
                    and elapsed(m.sent_at, last_active) > timedelta(seconds=p.idle_gap_s)
                )
                if session < 0 or idle:
                    session += 1
                opened, opened_holder, buyers = i, holder, 0
            buyers += 1
            last_active = m.sent_at
            continue
        if m.role not in answers:
            continue
        if opened is not None:
            start = opened
            taken_over = (
                by_holder
                and m.role is Role.AGENT
                and opened_holder is not None
                and m.sender is not None
                and m.sender != opened_holder
            )
            if taken_over:
                rounds.append(ReferenceRound(opened, opened, None, opened_holder, buyers, session))
                if last_transfer is not None and last_transfer > opened:
                    start = last_transfer
            rounds.append(ReferenceRound(opened, start, i, m.sender, buyers, session))
            opened = None
        if m.role is Role.AGENT:
            holder = m.sender
        last_active = m.sent_at
    if opened is not None:
        who = opened_holder if by_holder else None
        rounds.append(ReferenceRound(opened, opened, None, who, buyers, session))
    return tuple(rounds)
