"""Escalation cues in one message: buyer threats, emotion, repetition; agent apology and remedies.

Private helper of :mod:`kefu_standards._escalation`.  The phrase lists live in
``data/escalation/buyer_cues.tsv`` and ``data/escalation/agent_cues.tsv``
(``phrase<TAB>kind<TAB>strength``), are loaded on first use and matched with one
compiled :class:`~kefu_standards._matcher.PhraseMatcher` per side on
:func:`kefu_standards.text.normalize` (so Traditional script and full-width
punctuation match too).  Offsets are offsets into the original text.

Results are cached by text: chat is repetitive (好的, 在吗, canned replies).
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache

import attrs

from ._matcher import PhraseMatcher
from .exceptions import ModelFileError
from .resources import lazy, load_tsv
from .text import normalize

__all__ = [
    "AGENT_KINDS",
    "BUYER_KINDS",
    "BuyerView",
    "Cue",
    "agent_cues",
    "asking_for_human",
    "bigram_set",
    "buyer_cues",
    "buyer_view",
    "carries_identifier",
    "content_length",
    "echo_challenge",
    "is_acceptance",
    "is_acknowledgement",
    "is_bare_okay",
    "is_card",
    "is_exasperated",
    "is_repeat_of",
    "material_refusals",
    "says_what_happens",
]

BUYER_KINDS = frozenset(
    {
        "threat",
        "complaint",
        "human",
        "anger",
        "disappointment",
        "urgency",
        "repeat",
        "nudge",
        "gratitude",
        "resolved",
        "impatience",
        "question",
        "issue",
        "correction",
        "unresolved",
        "exasperation",
    }
)
AGENT_KINDS = frozenset({"apology", "remedy", "deadline", "holding", "refusal"})

# Kinds a preceding negation (不会给差评, 没有投诉) switches off.
_NEGATABLE = frozenset(
    {"threat", "complaint", "human", "anger", "disappointment", "resolved", "gratitude"}
)
_NEGATORS = frozenset("不没别无未")
_NEGATION_WINDOW = 3
_CLAUSE_BREAK = re.compile(r"[,.!?;:。，、！？；：~\s]")

# A message made only of question marks / ellipses / exclamation marks (? ?? 。。。 !!!),
# or one that contains a run of two or more of them.
_PUNCT_ONLY = re.compile(r"^[\s?!.。…]+$")
_PUNCT_RUN = re.compile(r"[?!]{2,}|[.。]{3,}|…+")
_CJK_OR_WORD = re.compile(r"[0-9a-z\u3400-\u9fff]")
_QUESTION_MARK = re.compile(r"(?<![?])[?](?![?])")

# A message that only acknowledges (好的 / 嗯嗯 / 是的 / ok), possibly with particles.
_ACK = re.compile(
    r"^(?:好的?|好滴|好哒|嗯+|恩+|哦+|噢+|喔+|是的?|是啊|对的?|对啊|对呀|可以|行|"
    r"ok|okay|收到|明白了?|知道了?|懂了|了解)(?:[啊呀哈啦呢嘛哦~]*)$"
)
_ACK_STRIP = re.compile(r"[\s,.!?;:。、~…]+")
# Cards and system lines that buyer-side exports attribute to the buyer.
_CARD = re.compile(r"^\s*(?:顾客通过|咨询订单号|订单号\s*:|商品id|商品链接|https?://|订单编号)")


@attrs.frozen(slots=True)
class Cue:
    """One cue in a message: ``text[start:end]`` matched *phrase* of *kind* with *strength*."""

    start: int
    end: int
    phrase: str
    kind: str
    strength: float


def _matcher(name: str, kinds: frozenset[str]) -> PhraseMatcher[tuple[str, float]]:
    entries: list[tuple[str, tuple[str, float]]] = []
    for e in load_tsv(name):
        if len(e.fields) < 2 or e.fields[0] not in kinds:
            msg = (
                f"kefu_standards/data/{name}, line {e.line}: expected phrase<TAB>kind<TAB>strength "
                f"with kind one of {sorted(kinds)}, got {e.phrase!r} {e.fields!r}"
            )
            raise ModelFileError(msg)
        try:
            strength = float(e.fields[1])
        except ValueError:
            msg = (
                f"kefu_standards/data/{name}, line {e.line}: "
                f"strength {e.fields[1]!r} is not a number"
            )
            raise ModelFileError(msg) from None
        entries.append((normalize(e.phrase), (e.fields[0], strength)))
    return PhraseMatcher(entries)


@lazy
def _buyer_matcher() -> PhraseMatcher[tuple[str, float]]:
    return _matcher("escalation/buyer_cues.tsv", BUYER_KINDS)


@lazy
def _agent_matcher() -> PhraseMatcher[tuple[str, float]]:
    return _matcher("escalation/agent_cues.tsv", AGENT_KINDS)


def _negated(norm: str, start: int) -> bool:
    """Tell whether a negator stands within a few characters before *start* in the same clause."""
    lo = max(0, start - _NEGATION_WINDOW)
    window = norm[lo:start]
    cut = max((m.end() for m in _CLAUSE_BREAK.finditer(window)), default=0)
    return any(ch in _NEGATORS for ch in window[cut:])


def _find(text: str, matcher: PhraseMatcher[tuple[str, float]], norm: str) -> list[Cue]:
    out: list[Cue] = []
    for m in matcher.find(norm):
        kind, strength = m.payload
        if (
            kind in _NEGATABLE
            and not m.phrase.startswith(tuple(_NEGATORS))
            and _negated(norm, m.start)
        ):
            continue
        out.append(Cue(m.start, m.end, text[m.start : m.end], kind, strength))
    return out


@lru_cache(maxsize=65536)
def buyer_cues(text: str) -> tuple[Cue, ...]:
    """Cues in a buyer message, ordered by position (cached by text).

    Besides the phrase list this finds *impatience*: a message made only of
    ``?``/``。。。``/``!`` (strength 2 when it is a run, else 1), or a ``??``/``!!``
    run inside a longer message (strength 1); a ``。。。``/``……`` run inside a longer
    message is *exasperation* (strength 1; impatience right after thanks or an
    acknowledgement: ``谢谢。。。``).
    """
    return _buyer_cues(text, normalize(text))


def _buyer_cues(text: str, norm: str) -> tuple[Cue, ...]:
    out = _find(text, _buyer_matcher(), norm)
    if norm.strip() and _PUNCT_ONLY.match(norm):
        first = len(norm) - len(norm.lstrip())
        last = len(norm.rstrip())
        strength = 2.0 if last - first > 1 else 1.0
        out.append(Cue(first, last, text[first:last], "impatience", strength))
    elif _CJK_OR_WORD.search(norm):
        m = _PUNCT_RUN.search(norm)
        if m is not None:
            out.append(Cue(m.start(), m.end(), text[m.start() : m.end()], _run_kind(norm, m), 1.0))
    mark = _QUESTION_MARK.search(norm)
    if mark is not None and not any(c.kind == "question" for c in out):
        m = mark
        out.append(Cue(m.start(), m.end(), text[m.start() : m.end()], "question", 1.0))
    out.sort(key=lambda c: (c.start, c.end))
    return tuple(out)


def _run_kind(norm: str, m: re.Match[str]) -> str:
    """Kind of the first punctuation run inside words of a buyer message.

    ?? / !! in words chase (*impatience*); a trailing-off 。。。 / …… is
    *exasperation* (无语), except right after thanks or an acknowledgement
    (谢谢。。。, 好的…).
    """
    if m.group()[0] in ".。…" and not _THANKS_BEFORE.search(
        norm[max(0, m.start() - 3) : m.start()]
    ):
        return "exasperation"
    return "impatience"


def is_exasperated(text: str) -> bool:
    """Say whether a buyer message trails off in exasperation.

    The same judgement as the *exasperation* cue of :func:`buyer_cues`, without
    running the phrase list (the only source of that cue is the punctuation run).
    """
    norm = normalize(text)
    if not norm.strip() or _PUNCT_ONLY.match(norm) or not _CJK_OR_WORD.search(norm):
        return False
    m = _PUNCT_RUN.search(norm)
    return m is not None and _run_kind(norm, m) == "exasperation"


# Context rules of the buyer cues (each has a firing and a non-firing case in the tests).
# 。。。 right after thanks or an acknowledgement trails off politely (谢谢。。。).
_THANKS_BEFORE = re.compile(r"(?:谢|好的|好滴|好哒|嗯|哦|收到|明白|知道了)$")
# 好吧 / 行吧 as the whole message (particles and punctuation aside) accepts; …好吧 and
# 那好吧 are resignation (the labelling brief's judgement call).
_BARE_RESIGNED = re.compile(r"^[\s,.!~。，！]*(?:好吧|行吧)[\s,.!~。，！啊呀哦]*$")


def is_bare_okay(text: str) -> bool:
    """Tell whether *text* is only 好吧 / 行吧 (an acceptance, not resignation).

    ``好吧`` alone accepts an answer; ``…好吧`` or ``那好吧`` resign.  The cue still
    weighs on the emotion feature (the risk is unchanged); the reason is not listed.
    """
    return _BARE_RESIGNED.match(normalize(text)) is not None


def is_acknowledgement(text: str) -> bool:
    """Tell whether *text* only acknowledges (好的, 嗯嗯, 是的, ok, 好的好的), punctuation aside."""
    return _is_ack(normalize(text))


def _is_ack(norm: str) -> bool:
    core = _ACK_STRIP.sub(" ", norm).split()
    return bool(core) and all(_ack_part(part) for part in core)


def _ack_part(part: str) -> bool:
    half = part[: len(part) // 2]
    return _ACK.match(part) is not None or (part == half * 2 and _ACK.match(half) is not None)


# The buyer accepts the answer or the outcome: thanks, 好的 / 嗯嗯 (see _ACK), going ahead with
# the purchase (那我拍了, 我去下单), nothing more to ask (没有了, 没事了), understanding (明白了).
_ACCEPT = re.compile(
    r"谢谢|感谢|多谢|谢啦|(?:那我|我就|我去|那就|马上)(?:去)?(?:拍|下单|买|付款|购买|申请|提交)|"
    r"拍了|已经拍|已下单|没有了|没有其他|没其他|没别的|没事了|没问题了?$|明白了|知道了|清楚了|"
    r"懂了|了解了|好的?[,.!~]*$"
)


def is_acceptance(text: str) -> bool:
    """Tell whether the buyer accepts in *text*: thanks, 好的, 那我拍了, 没有了, 明白了.

    An acknowledgement (:func:`is_acknowledgement`) accepts too.
    """
    norm = normalize(text)
    return _is_ack(norm) or _ACCEPT.search(norm) is not None


# A refusal cue inside a condition is advice, not a refusal (不能吃辣的话推荐五香味,
# 如果不能使用可以退换); 能不能 / 可不可以 ask.
_CONDITION_WORDS = ("如果", "假如", "要是", "若", "万一", "的话")
_CONDITION_AFTER = re.compile(r"^[^,.!?;:。，！？；：]{0,8}?的话")
# A bare 不能 (strength 0.5) is a refusal when it declines an action: 不能退 / 不能为您 / 这边不能.
_DECLINED_ACTION = re.compile(r"(?:给|为|帮|退|换|补|办|处理|修改|取消|申请|保证|开|发|改|查)")
_DECLINING_BEFORE = re.compile(r"(?:这边|我们|我这边|是|暂时|目前|确实)$")
# The reply offers a way forward, so it is not a bare refusal (无法开普票，可以开电子发票).
# 仅支持移动卡，不支持电信卡 names what is supported; 这边是留言的 / 已备注 passes it on.
_ALTERNATIVE = re.compile(
    r"可以|帮您|为您|给您|您可|建议|提供|申请|告知|通知|安排|流程|会[有在给帮为]|或者|或是|只有|"
    r"[仅只]支持|留言|备注|登记"
)
_QUESTION_AFTER = re.compile(r"^[^,.!;:。，！；：]{0,12}?(?:\?|吗|么)")
_CLAUSE_START = re.compile(r"[,.!?;:。，！？；：~\s]")
# Not knowing / not seeing (0.5) is a refusal when the agent says it of itself, with no
# way forward: 这边也看不到哟, 妹子不清楚呢 (not: 您那边看不到的话…, a condition).
_NOT_KNOWING = frozenset({"看不到", "不清楚", "不太清楚", "不是很清楚", "不了解", "不知道"})
_AGENT_SIDE = re.compile(r"这边|我们|我这边|小妹|妹子|客服|我")


def _clause_before(norm: str, start: int) -> str:
    """Return *norm* from the start of the clause holding *start* up to it (<= 12 chars)."""
    head = norm[max(0, start - 12) : start]
    cut = max((m.end() for m in _CLAUSE_START.finditer(head)), default=0)
    return head[cut:]


def material_refusals(text: str, cues: tuple[Cue, ...]) -> tuple[Cue, ...]:
    """Return the refusal cues of *cues* that a QC inspector would call a refusal (推诿).

    A cue counts when its strength is 1 (not the 0.5 of 建议您, 以…为准, 只能,
    不清楚; a 不能 counts when it declines an action: 不能退, 不能为您, 这边不能;
    看不到 / 不清楚 / 不知道 count when the agent says them of itself: 这边看不到),
    it is not inside a condition (no 如果 / 要是 / 若 earlier in its clause, no
    …的话 right after it) or a question (能不能, …吗?), and the reply offers no way
    forward (可以, 帮您, 为您, 建议, 申请, 或者 …: then it explains a limit).
    Fires: ``这个无法退款``, ``建议您联系商家`` — not: ``不能吃辣的话推荐五香味``,
    ``如果无法使用可以换货``, ``能不能开发票``, ``以网点为准``.
    """
    norm = normalize(text)
    masked = norm
    for c in cues:  # the refusal itself (处理不了, 无法申请) is not a way forward
        masked = masked[: c.start] + " " * (c.end - c.start) + masked[c.end :]
    if _ALTERNATIVE.search(masked):
        return ()
    out = []
    for c in cues:
        if c.kind != "refusal":
            continue
        if c.strength < 1.0 and not (
            (
                c.phrase == "不能"
                and (
                    _DECLINED_ACTION.match(norm, c.end) is not None
                    or _DECLINING_BEFORE.search(norm[max(0, c.start - 3) : c.start]) is not None
                )
            )
            or (c.phrase in _NOT_KNOWING and _AGENT_SIDE.search(_clause_before(norm, c.start)))
        ):
            continue
        head = norm[max(0, c.start - 12) : c.start]
        cut = max((m.end() for m in _CLAUSE_START.finditer(head)), default=0)
        clause = head[cut:]
        if any(w in clause for w in _CONDITION_WORDS) or _CONDITION_AFTER.match(norm[c.end :]):
            continue
        if c.phrase.startswith("不") and head.endswith(c.phrase[1:2]):  # 能不能, a question
            continue
        if _QUESTION_AFTER.match(norm[c.end :]):  # 您前台不支持下单么? asks, does not refuse
            continue
        out.append(c)
    return tuple(out)


# 你是人工吗 / 是机器人吗 / 人工客服还是智能的: asks whether, does not ask for a human.
_WHETHER_BEFORE = re.compile(r"(?:是|是不是|是否)$")
_WHETHER_AFTER = re.compile(r"^[^,.!?;:。，！？；：]{0,6}?(?:吗|还是|么|嘛)")


def asking_for_human(text: str, cues: tuple[Cue, ...]) -> tuple[Cue, ...]:
    """Return the human-agent cues of *cues* that ask for a human or a manager (转人工).

    Not those that ask *whether* the agent is human: ``你是人工客服还是智能的``,
    ``是机器人吗``.
    """
    norm = normalize(text)
    return tuple(
        c
        for c in cues
        if not c.phrase.startswith(("是机器人", "是不是机器人"))
        and not _WHETHER_BEFORE.search(norm[max(0, c.start - 3) : c.start])
        and not _WHETHER_AFTER.match(norm[c.end :])
    )


# 什么好的 / 啥好的 right after the agent's 好的哦: the buyer throws the agent's words back.
_ECHO = re.compile(r"^\s*(?:什么|啥)\s*([\u3400-\u9fff]{1,4})")


def echo_challenge(text: str, reply: str) -> tuple[Cue, ...]:
    """Return an ``unresolved`` cue when *text* throws the agent's *reply* back (什么好的).

    A buyer message that opens with 什么 / 啥 followed by words of the agent's last
    reply dismisses that reply: it did not help.  Fires: ``什么好的`` after ``好的哦``
    — not: ``什么时候到`` after ``好的哦`` (a question), ``什么好的`` with no reply.
    """
    if not reply or ("什" not in text and "啥" not in text):  # cheap: most messages
        return ()
    m = _ECHO.match(normalize(text))
    if m is None:
        return ()
    said = normalize(reply)
    words = m.group(1)
    if len(words) < 2 or words[:2] not in said:
        return ()
    return (Cue(m.start(), m.end(), text[m.start() : m.end()], "unresolved", 1.0),)


# An order / user number, anonymised ([ORDERID_123]) or not (8+ digits): a pasted record.
_IDENTIFIER = re.compile(r"\[[A-Z]+_\d+\]|\d{8,}")


def carries_identifier(text: str) -> bool:
    """Tell whether *text* carries an order or user number (a pasted record or notice).

    Two such messages that differ only in the number are two records, not the
    buyer saying the same thing again.
    """
    return _IDENTIFIER.search(text) is not None


# The reply says what will happen next (审核通过后就会给您地址): not a bare holding reply.
_SAYS_NEXT = re.compile(r"(?:后|之后|以后)[就便]?会|就会")


def says_what_happens(text: str) -> bool:
    """Tell whether an agent reply says what happens next (``审核通过后就会给您地址``).

    Such a reply has content even when it starts with 请稍等: it is not a bare
    holding reply that must be followed up.
    """
    return _SAYS_NEXT.search(normalize(text)) is not None


def is_card(text: str) -> bool:
    """Tell whether *text* is a card or system line (顾客通过点击..., 咨询订单号:..., a link)."""
    return _CARD.match(normalize(text)) is not None


@lru_cache(maxsize=65536)
def agent_cues(text: str) -> tuple[Cue, ...]:
    """Cues in an agent message (apology, remedy, deadline, holding), ordered by position."""
    return tuple(_find(text, _agent_matcher(), normalize(text)))


_DIGITISH = re.compile(r"[0-9a-z]+")


@lru_cache(maxsize=65536)
def bigram_set(text: str) -> frozenset[str]:
    """Character bigrams of the content of *text* (normalised; punctuation and spaces dropped).

    Runs of digits/latin letters count as one symbol, so order numbers do not
    dominate the comparison.  Cached by text (the result is frozen).
    """
    return _bigrams(normalize(text))


def _bigrams(norm: str) -> frozenset[str]:
    chars = [c for c in _DIGITISH.sub("0", norm) if _CJK_OR_WORD.match(c)]
    return frozenset(a + b for a, b in itertools.pairwise(chars))


def is_repeat_of(
    current: frozenset[str], earlier: frozenset[str], *, threshold: float, min_bigrams: int
) -> bool:
    """Tell whether two messages' bigram sets overlap by Jaccard >= *threshold*.

    Messages with fewer than *min_bigrams* bigrams (好的, 在吗) never count: a
    repeated acknowledgement is not a repeated question.
    """
    if len(current) < min_bigrams or len(earlier) < min_bigrams:
        return False
    inter = len(current & earlier)
    return inter / (len(current) + len(earlier) - inter) >= threshold  # |a ∪ b|, not built


def content_length(text: str) -> int:
    """Count the letters, digits and CJK characters of *text* outside placeholders."""
    return len(_CJK_OR_WORD.findall(normalize(text)))


@attrs.frozen(slots=True)
class BuyerView:
    """What the escalation analysis reads from one buyer text, from a single normalisation.

    ``cues`` is :func:`buyer_cues`, ``card`` :func:`is_card`, ``ack``
    :func:`is_acknowledgement`, ``grams`` :func:`bigram_set` and ``length``
    :func:`content_length` of the same text.
    """

    cues: tuple[Cue, ...]
    card: bool
    ack: bool
    grams: frozenset[str]
    length: int


def buyer_view(text: str) -> BuyerView:
    """Return the :class:`BuyerView` of *text* (normalised once; not cached, callers cache)."""
    norm = normalize(text)
    return BuyerView(
        cues=_buyer_cues(text, norm),
        card=_CARD.match(norm) is not None,
        ack=_is_ack(norm),
        grams=_bigrams(norm),
        length=len(_CJK_OR_WORD.findall(norm)),
    )
