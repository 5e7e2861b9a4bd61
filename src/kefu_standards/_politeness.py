"""Politeness of agent replies: lexicon markers with context rules, plus an offensive model.

:func:`politeness` scores one text; :class:`PolitenessScorer` scores the agent
messages of a :class:`~kefu_standards.model.Conversation`.  Both read
:func:`kefu_standards.text.normalize` (Traditional → Simplified, full-width →
half-width, placeholders blanked, same length), so evidence offsets always point
into the caller's original text.

How a score is made (see ``docs/explanation/politeness.md``):

1. A :class:`Lexicon` of weighted phrases is matched leftmost-longest in one pass.
   Each phrase has a *kind* (``courtesy``, ``banned_phrase``, ``harsh_tone``,
   ``offensive``, ``over_promise``; ``neutral`` phrases only hide shorter ones)
   and optionally context rules that can drop the hit or turn it around
   (``不知道`` only counts at the end of a clause; ``谢谢…真是服了`` is sarcasm).
2. The COLD-trained offensive-language model adds a negative contribution when
   its log-odds exceed :data:`OFFENSIVE_CENTER`.
3. ``score = sigmoid(BIAS + sum of contributions)``; repeated hits of the same
   phrase count with diminishing weight (``w / k`` for the *k*-th).  Labels:
   ``impolite`` below :data:`IMPOLITE_BELOW`, ``polite`` from :data:`POLITE_FROM`.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cached_property
from os import PathLike
from pathlib import Path
from typing import Any, ClassVar, Literal

import attrs

from ._matcher import PhraseMatcher
from ._offensive import OffensiveModel
from ._offensive import default_model as _default_model
from ._textcache import TextCache
from .evidence import Evidence
from .exceptions import (
    ConfigError,
    InputTypeError,
    ReadError,
    UndefinedMetricWarning,
    UnknownNameError,
)
from .model import Conversation, Role
from .resources import lazy, parse_tsv, read_text
from .text import fold, normalize, text_list

__all__ = [
    "BIAS",
    "IMPOLITE_BELOW",
    "KINDS",
    "OFFENSIVE_CENTER",
    "OFFENSIVE_SCALE",
    "POLITE_FROM",
    "RULES",
    "Lexicon",
    "Marker",
    "Politeness",
    "PolitenessResult",
    "PolitenessScorer",
    "politeness",
    "politeness_many",
]

#: Marker kinds.  ``neutral`` phrases weigh nothing and give no evidence: they exist
#: so that, as the longest match, they hide a shorter phrase (亲自 hides 亲).
KINDS: tuple[str, ...] = (
    "courtesy",
    "banned_phrase",
    "harsh_tone",
    "offensive",
    "over_promise",
    "neutral",
)

# ---- the few constants of the score (tuned on politeness_zh dev, see the explanation page) ----
#: Log-odds of a text with no marker at all (a plain factual reply).
BIAS = 0.4
#: The offensive model's log-odds above which it lowers the score ...
OFFENSIVE_CENTER = -2.5
#: ... by this many units of log-odds per unit of log-odds above the centre.
OFFENSIVE_SCALE = 0.75
#: ``score < IMPOLITE_BELOW`` → ``impolite``.
IMPOLITE_BELOW = 0.25
#: ``score >= POLITE_FROM`` → ``polite``; in between → ``neutral``.
POLITE_FROM = 0.7

_BUILTIN_FILES = (
    "courtesy.tsv",
    "banned.tsv",
    "harsh.tsv",
    "offensive.tsv",
    "overpromise.tsv",
    "neutral.tsv",
)
_REMOVE = "-"

Label = Literal["impolite", "neutral", "polite"]


# ---------------------------------------------------------------- context rules
#
# A rule sees the normalised text, the span of a hit and its marker, and returns the
# marker to count (possibly changed) or None to drop the hit.  Each rule's docstring
# gives an example where it fires and one where it must not; both are test cases.

_RuleFn = Callable[[str, int, int, "Marker"], "Marker | None"]

_CLAUSE_END = re.compile(r"[\s啊呀了哦呢吧啦嘛哈的耶诶]*(?:$|[,.!?;:~，。！？；：…、\n])")
_CHOICE_AFTER = re.compile(
    r".{0,4}?(?:选|挑|决定|喜欢|做主|定夺|确认|方便|需要|决策|拍|都可以|都行)"
)
_NEGATOR_BEFORE = re.compile(r"(?:不|没有?|别|无|毋|未)[会用必需想要再能]{0,2}$")
_SARCASM_AFTER = re.compile(
    r"^.{0,12}?(?:真是服了|服了|呵呵|真行|真棒啊|真厉害啊|无语|醉了|好一个|可真是|真是谢谢)"
)
_SENTENCE_START = re.compile(r"[.!?;。！？；\n]")
# The end of the last sentence boundary in a string (greedy: the scan backs off from the
# end); ``_sentence_cut`` is what ``max(m.end() for m in _SENTENCE_START.finditer(head))``
# gives, in one call, for the three rules that read the sentence before a hit.
_LAST_SENTENCE_START = re.compile(r"(?s:.*)[.!?;。！？；\n]")


def _sentence_cut(head: str) -> int:
    """Offset in *head* just past its last ``.!?;。！？；`` or newline (0 when there is none)."""
    last = _LAST_SENTENCE_START.match(head)
    return 0 if last is None else last.end()


_HEDGE = re.compile(
    r"请|能否|可否|是否|能不能|可不可以|可以|麻烦|方便|如果|若|想问|不知|帮|劳|烦|吗|建议"
)


def _clause_final(norm: str, start: int, end: int, marker: Marker) -> Marker | None:
    """Count only when the clause ends right after the phrase (a flat refusal).

    Fires (counts): ``这个我不知道。`` — not (dropped): ``我也不知道您是否需要发票``.
    """
    return marker if _CLAUSE_END.match(norm, end) else None


def _second_person_choice(norm: str, start: int, end: int, marker: Marker) -> Marker | None:
    """Drop 你自己/您自己 when it offers the customer a choice rather than shirking.

    Fires (counts): ``你自己看吧`` — not (dropped): ``您自己选择哪个颜色都可以``.
    """
    return None if _CHOICE_AFTER.match(norm, end) else marker


def _negated_courtesy(norm: str, start: int, end: int, marker: Marker) -> Marker | None:
    """Drop a courtesy marker that is negated (没有抱歉, 不会道歉, 不同意).

    ``不用谢`` / ``不客气`` are lexicon phrases of their own, matched as the longest
    phrase, so they are courtesy and never reach this rule as negated ``谢``.
    Fires (dropped): ``我没有抱歉的必要`` — not (counts): ``不用谢，应该的``.
    """
    return None if _NEGATOR_BEFORE.search(norm, max(0, start - 4), start) else marker


def _sarcastic_thanks(norm: str, start: int, end: int, marker: Marker) -> Marker | None:
    """Turn thanks followed closely by a sarcasm cue into harsh tone.

    Fires (harsh): ``谢谢你啊，真是服了`` — not (courtesy): ``谢谢您的耐心等待``.
    """
    if _SARCASM_AFTER.match(norm[end:]):
        return attrs.evolve(
            marker, kind="harsh_tone", weight=-abs(marker.weight), rule="sarcastic_thanks"
        )
    return marker


def _not_after_hedge(norm: str, start: int, end: int, marker: Marker) -> Marker | None:
    """Drop a challenge, imperative or question mark softened earlier in its sentence.

    The sentence is read back to the previous ``。！？；`` (at most 30 characters).
    Fires (counts): ``为什么你删了我的编辑?`` — not (dropped): ``请问您的订单号是多少?``.
    """
    lo = max(0, start - 30)
    head = norm[lo:start]
    cut = _sentence_cut(head)
    return None if _HEDGE.search(head, cut) else marker


_SENTENCE_END = re.compile(r"[.!?;。！？；\n]")
# Courtesy, address and friendly particles that make a mild marker part of a service
# script (请您提供订单号给我哦, 这个你放心呢, 感谢您的支持!) rather than a harsh one.
_SOFTENER = re.compile(
    r"您|亲|请|麻烦|辛苦|劳烦|谢|欢迎|祝|抱歉|不好意思|好的|好嘞|收到|客官|[哦噢哈呀啦哒滴~]"
)
_CJK = re.compile(r"[\u3400-\u9fff]")
_URL_QUERY = re.compile(r"[0-9a-z/._\]-]\?[0-9a-z_]")  # ] : an anonymised [链接x]?cid=


def _softened(norm: str, start: int, end: int, marker: Marker) -> Marker | None:
    """Drop a mild marker whose sentence is softened by courtesy or a friendly particle.

    The sentence is read back to the previous ``。！？；`` (at most 30 characters)
    and, for a word (not a punctuation mark), on to the next one.  Softeners:
    您, 亲, 客官, 请, 麻烦, 辛苦, 谢, 欢迎, 祝, 抱歉, 好的, 收到 and the friendly
    particles 哦 哈 呀 啦 哒 ~ (not 吗 / 呢 / 吧, which rhetorical questions use too).
    The ``?`` of a link (``.action?sort=1``) never counts.
    Fires (counts): ``你给我闭嘴`` (给我) — not (dropped): ``好评截图给我哦``,
    ``感谢您的支持!`` (``!``), ``这个你放心呢`` (你).
    """
    if _URL_QUERY.match(norm, max(0, start - 1)):  # the ? of a link: .action?sort=1
        return None
    lo = max(0, start - 30)
    head = norm[lo:start]
    cut = _sentence_cut(head)
    if _SOFTENER.search(head, cut):
        return None
    if _CJK.search(marker.phrase):
        stop = _SENTENCE_END.search(norm, end, end + 30)
        tail = norm[end : stop.start() if stop else end + 30]
        if _SOFTENER.search(tail):
            return None
    return marker


def _latin_word(norm: str, start: int, end: int, marker: Marker) -> Marker | None:
    """Count a Latin phrase only as a whole word: no ASCII letter right before or after.

    Fires (counts): ``你是sb吗`` — not (dropped): ``有两个USB接口``.
    """
    before = norm[start - 1] if start > 0 else ""
    after = norm[end] if end < len(norm) else ""
    inside = any(c.isascii() and c.isalpha() for c in (before, after))
    return None if inside else marker


# A lone ? closing a short question that neither challenges nor names 你 checks a fact.
_CHALLENGE = re.compile(r"为什么|为啥|凭什么|难道|怎么|到底|究竟|干嘛|什么意思|不是|你")
#: Longest sentence (characters before the ?) read as a short check: the smallest length
#: at which the false harsh evidence on jddc agent turns outside the labelled set stops
#: falling (6 and 8: 46 turns, 10 and more: 41) while politeness_zh ROC AUC stays >= 0.755.
_SHORT_CHECK = 10


def _challenge_only(norm: str, start: int, end: int, marker: Marker) -> Marker | None:
    """Drop a lone ``?`` that closes a short check: no challenge word, no 你, <= 10 chars.

    A question the agent asks to check a fact is not harsh; a challenge
    (为什么, 凭什么, 难道, 到底, 怎么 …), a question put to 你, or a long one still counts.
    Fires (counts): ``到底发不发货?`` — not (dropped): ``白条没有绑定银行卡?``.
    """
    lo = max(0, start - 30)
    head = norm[lo:start]
    cut = _sentence_cut(head)
    sentence = head[cut:].strip()
    if len(sentence) > _SHORT_CHECK or _CHALLENGE.search(sentence):
        return marker
    return None


_ASKED_AFTER = re.compile(r"^[了的]?(?:吗|么|吧|没|嘛|\?)")


def _not_asked(norm: str, start: int, end: int, marker: Marker) -> Marker | None:
    """Drop a verdict that is asked, not stated: ``这个错了吗?`` checks a fact.

    Fires (counts): ``你填错了`` — not (dropped): ``发票抬头这个错了吗?``.
    """
    return None if _ASKED_AFTER.match(norm[end:]) else marker


_CLAUSE_HEAD = re.compile(r"[,.!?;:。，！？；：~\s]")
_ADDRESSEE = re.compile(r"你|您")


def _addressed(norm: str, start: int, end: int, marker: Marker) -> Marker | None:
    """Keep an imperative (必须) only when it orders the buyer.

    It counts when it opens its clause (``必须今天付款``) or the buyer (你 / 您) is
    named earlier in the clause; a rule about a thing is not an order.
    Fires (counts): ``您必须先付款`` — not (dropped): ``SIM卡必须开通来电显示``.
    """
    head = norm[max(0, start - 12) : start]
    cut = max((m.end() for m in _CLAUSE_HEAD.finditer(head)), default=0)
    clause = head[cut:]
    return marker if not clause or _ADDRESSEE.search(clause) else None


# 您自己 shirks when it sends the buyer off to look, ask or sort it out alone (您自己看吧,
# 您自己去查); as the subject of a procedure it explains one (您自己可以下载, 需要您自己上传).
_SHIRKING_AFTER = re.compile(r"(?:去|再)?(?:看|查|找|问|想办法|弄|搞|解决|处理|联系)")


def _sends_off(norm: str, start: int, end: int, marker: Marker) -> Marker | None:
    """Keep 您自己 only when it sends the buyer off: a look / ask / sort-it-out verb follows.

    Fires (counts): ``这个您自己看吧`` — not (dropped): ``电子发票您自己可以下载的``.
    """
    return marker if _SHIRKING_AFTER.match(norm, end) else None


# 没办法 said with an apology or a reason is a polite refusal that explains a limit
# (抱歉，这个真的没办法; 为了保障隐私，这边没办法修改); bare, it brushes the buyer off.
# 我也没办法 is a banned phrase of its own (no rule), matched as the longer phrase.
_EXPLAINED = re.compile(r"抱歉|不好意思|对不起|见谅|谅解|为了|因为|由于|是这样的")


def _explained(norm: str, start: int, end: int, marker: Marker) -> Marker | None:
    """Drop a refusal phrase when the reply apologises or gives the reason.

    Fires (counts): ``这个没办法。`` — not (dropped): ``非常抱歉，这个真的没办法``.
    """
    return None if _EXPLAINED.search(norm) else marker


# 你可以… tells the buyer what they can do (你可以通过订单详情查看): not second-person pressure.
_CAN_AFTER = re.compile(r"可以")


def _you_can(norm: str, start: int, end: int, marker: Marker) -> Marker | None:
    """Drop 你 when it opens ``你可以…``: the buyer is told what they can do.

    Fires (counts): ``你怎么还不发货`` — not (dropped): ``你可以在订单详情查看``.
    """
    return None if _CAN_AFTER.match(norm, end) else marker


_RULES: dict[str, _RuleFn] = {
    "clause_final": _clause_final,
    "not_choice": _second_person_choice,
    "negated_courtesy": _negated_courtesy,
    "sarcastic_thanks": _sarcastic_thanks,
    "not_after_hedge": _not_after_hedge,
    "latin_word": _latin_word,
    "softened": _softened,
    "challenge_only": _challenge_only,
    "not_asked": _not_asked,
    "addressed": _addressed,
    "sends_off": _sends_off,
    "explained": _explained,
    "you_can": _you_can,
}
#: Names of the context rules a lexicon row may use (comma-separated in the rule column).
RULES: tuple[str, ...] = tuple(_RULES)


# ---------------------------------------------------------------- lexicon


def _fold_phrase(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        msg = f"a politeness marker needs a non-empty phrase, got {value!r}"
        raise ConfigError(msg)
    return fold(value.strip())


def _check_kind(_inst: object, _attr: object, value: str) -> None:
    if value not in KINDS:
        raise UnknownNameError("marker kind", value, KINDS)


def _check_weight(_inst: object, _attr: object, value: float) -> None:
    if not math.isfinite(value):
        msg = f"a marker weight must be a finite number, got {value!r}"
        raise ConfigError(msg)


def _rules_tuple(value: object) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    names = value.split(",") if isinstance(value, str) else list(value)  # type: ignore[call-overload]
    out = tuple(str(n).strip() for n in names if str(n).strip())
    for name in out:
        if name not in _RULES:
            raise UnknownNameError("context rule", name, RULES)
    return out


@attrs.frozen(slots=True)
class Marker:
    """One lexicon phrase: its kind, weight (log-odds units) and context rules.

    ``phrase`` is stored folded (Traditional → Simplified, full-width → half-width,
    lower case), the form it is matched against.  ``rules`` names context rules
    from :data:`RULES`, applied in order; ``category`` is a free label
    (``gratitude``, ``refusing`` ...) shown in evidence as ``kind/category``.
    """

    phrase: str = attrs.field(converter=_fold_phrase)
    kind: str = attrs.field(validator=_check_kind)
    weight: float = attrs.field(converter=float, validator=_check_weight)
    rules: tuple[str, ...] = attrs.field(default=(), converter=_rules_tuple)
    category: str = ""
    rule: str = ""  # set when a context rule rewrote the marker (e.g. sarcastic_thanks)
    #: What evidence shows as its ``rule``: ``rule`` if set, else ``kind/category`` (or ``kind``).
    label: str = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        label = self.rule or (f"{self.kind}/{self.category}" if self.category else self.kind)
        object.__setattr__(self, "label", label)


MarkerLike = Marker | tuple[str, str, float] | tuple[str, str, float, str]


def _as_marker(item: MarkerLike) -> Marker:
    if isinstance(item, Marker):
        return item
    if isinstance(item, tuple) and len(item) in (3, 4):
        return Marker(*item)
    msg = f"expected a Marker or a (phrase, kind, weight[, rules]) tuple, got {item!r}"
    raise ConfigError(msg)


def _merge(base: Iterable[Marker], extra: Iterable[Marker]) -> tuple[Marker, ...]:
    table = {m.phrase: m for m in base}
    for m in extra:
        table[m.phrase] = m
    return tuple(table.values())


def _markers_from_tsv(text: str, source: str) -> tuple[tuple[Marker, ...], tuple[str, ...]]:
    """Markers and removed phrases of a lexicon TSV; errors name *source* and the line."""
    markers: list[Marker] = []
    removed: list[str] = []
    try:
        rows = parse_tsv(text, source)
    except Exception as exc:
        raise ReadError(source, None, str(exc)) from exc
    for row in rows:
        fields = row.fields
        try:
            if fields[:1] == (_REMOVE,):
                removed.append(fold(row.phrase))
                continue
            if len(fields) < 2:
                reason = (
                    f"row {row.phrase!r} needs at least phrase, kind and weight separated by tabs"
                    f" (or phrase<TAB>{_REMOVE} to remove a phrase)"
                )
                raise ReadError(source, row.line, reason)
            try:
                weight = float(fields[1])
            except ValueError:
                reason = f"weight {fields[1]!r} of {row.phrase!r} is not a number"
                raise ReadError(source, row.line, reason) from None
            rules = fields[2] if len(fields) > 2 else ""
            category = fields[3] if len(fields) > 3 else ""
            markers.append(Marker(row.phrase, fields[0], weight, rules, category))
        except (ConfigError, UnknownNameError) as exc:
            raise ReadError(source, row.line, str(exc)) from exc
    return tuple(markers), tuple(removed)


def _merge_one(markers: Iterable[Marker]) -> tuple[Marker, ...]:
    """De-duplicate *markers* by phrase, the last one winning."""
    return _merge((), markers)


@lazy
def _default_markers() -> tuple[Marker, ...]:
    markers: list[Marker] = []
    for name in _BUILTIN_FILES:
        found, _removed = _markers_from_tsv(
            read_text(f"politeness/{name}"), f"kefu_standards/data/politeness/{name}"
        )
        markers.extend(found)
    return _merge((), markers)


@attrs.frozen(slots=False, eq=False, repr=False)
class Lexicon:
    """An immutable set of politeness markers, matched with one automaton built on first use.

    Make one with :meth:`default` (the built-in, versioned lexicons), :meth:`from_tsv`
    (a shop's file merged over the built-ins) or :meth:`of` (markers from Python),
    then derive others with :meth:`with_phrases`, :meth:`without` and :meth:`merged`;
    the package data is never modified.

    >>> lex = Lexicon.default().with_phrases([("小可爱", "courtesy", 0.5)]).without("亲")
    >>> "小可爱" in lex, "亲" in lex
    (True, False)
    """

    #: Context-rule names a marker (or the rules column of a TSV row) may use.
    RULES: ClassVar[tuple[str, ...]] = RULES

    markers: tuple[Marker, ...] = attrs.field(converter=_merge_one)
    name: str = "custom"

    @classmethod
    def default(cls) -> Lexicon:
        """Return the built-in lexicon (``data/politeness/*.tsv``, version 1)."""
        return _default_lexicon()

    @classmethod
    def of(cls, markers: Iterable[MarkerLike], *, name: str = "custom") -> Lexicon:
        """Return a lexicon of exactly *markers* (no built-ins)."""
        return cls(tuple(_as_marker(m) for m in markers), name)

    @classmethod
    def from_tsv(cls, path: str | PathLike[str], *, extend_default: bool = True) -> Lexicon:
        """Read a lexicon TSV: ``phrase<TAB>kind<TAB>weight[<TAB>rules[<TAB>category]]``.

        ``#`` lines are comments.  A row ``phrase<TAB>-`` removes *phrase*.  With
        ``extend_default`` (the default) the rows are merged over
        :meth:`default`: a phrase already there gets the new kind and weight.
        A malformed row raises :class:`~kefu_standards.exceptions.ReadError`
        naming the file and line.
        """
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ReadError(source, None, f"cannot read lexicon file: {exc}") from exc
        markers, removed = _markers_from_tsv(text, source)
        base = cls.default().markers if extend_default else ()
        merged = cls(_merge(base, markers), Path(path).name)
        return merged.without(*removed) if removed else merged

    def with_phrases(
        self, markers: Iterable[MarkerLike] | Mapping[str, tuple[str, float]]
    ) -> Lexicon:
        """Return a new lexicon with *markers* added (an existing phrase is replaced).

        Accepts :class:`Marker` objects, ``(phrase, kind, weight[, rules])`` tuples,
        or a mapping ``{phrase: (kind, weight)}``.
        """
        if isinstance(markers, Mapping):
            items: list[Marker] = [Marker(p, kw[0], kw[1]) for p, kw in markers.items()]
        else:
            items = [_as_marker(m) for m in markers]
        return Lexicon(_merge(self.markers, items), self.name)

    def without(self, *phrases: str) -> Lexicon:
        """Return a new lexicon without *phrases* (any script; unknown phrases are ignored)."""
        drop = {fold(p.strip()) for p in phrases}
        return Lexicon(tuple(m for m in self.markers if m.phrase not in drop), self.name)

    def merged(self, other: Lexicon) -> Lexicon:
        """Return a new lexicon: *other*'s markers over this one's."""
        return Lexicon(_merge(self.markers, other.markers), self.name)

    def __contains__(self, phrase: object) -> bool:
        return isinstance(phrase, str) and fold(phrase) in self._table

    def __len__(self) -> int:
        return len(self.markers)

    def __getitem__(self, phrase: str) -> Marker:
        return self._table[fold(phrase)]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Lexicon):
            return NotImplemented
        return self._table == other._table

    def __hash__(self) -> int:
        return hash(frozenset(self._table.items()))

    def __repr__(self) -> str:
        return f"<Lexicon {self.name!r}: {len(self.markers)} markers>"

    @cached_property
    def _table(self) -> dict[str, Marker]:
        return {m.phrase: m for m in self.markers}

    @cached_property
    def matcher(self) -> PhraseMatcher[Marker]:
        """The compiled matcher (built on first use, then kept with this lexicon)."""
        return PhraseMatcher((m.phrase, m) for m in self.markers)

    @cached_property
    def _vetted(self) -> frozenset[str]:
        """The phrases whose markers have context rules (the only ones a rule can drop)."""
        return frozenset(m.phrase for m in self.markers if m.rules)


@lazy
def _default_lexicon() -> Lexicon:
    return Lexicon(_default_markers(), "default")


# ---------------------------------------------------------------- scoring


@attrs.frozen(slots=True, init=False)
class Politeness:
    """Politeness of one text.

    ``score`` is in [0, 1] (higher = more polite) and ``label`` one of
    ``impolite``, ``neutral``, ``polite``; both are ``None`` when the text has no
    content (empty, punctuation or placeholders only).  ``evidence`` lists every
    hit that moved the score, in text order, with offsets into the original
    text; ``offensive`` is the offensive-language model's probability.
    """

    score: float | None
    label: Label | None
    evidence: tuple[Evidence, ...] = ()
    offensive: float | None = None

    def __init__(
        self,
        score: float | None,
        label: Label | None,
        evidence: tuple[Evidence, ...] = (),
        offensive: float | None = None,
    ) -> None:
        """Build the result: what attrs would generate (no validators), written out.

        It runs once for every text scored, so it sets the slots directly.
        """
        _set_score(self, score)
        _set_label(self, label)
        _set_evidence(self, evidence)
        _set_offensive(self, offensive)

    def of_kind(self, kind: str) -> tuple[Evidence, ...]:
        """Return the evidence of one kind (``"courtesy"``, ``"banned_phrase"`` ...)."""
        if kind not in KINDS:
            raise UnknownNameError("marker kind", kind, KINDS)
        return tuple(e for e in self.evidence if e.kind == kind)


# the slots' own setters (what attrs' generated __init__ reaches through object.__setattr__)
_slot = vars(Politeness)
_set_score: Any = _slot["score"].__set__
_set_label: Any = _slot["label"].__set__
_set_evidence: Any = _slot["evidence"].__set__
_set_offensive: Any = _slot["offensive"].__set__
del _slot


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _label(score: float) -> Label:
    if score < IMPOLITE_BELOW:
        return "impolite"
    if score >= POLITE_FROM:
        return "polite"
    return "neutral"


def _marker_hits(text: str, norm: str, lexicon: Lexicon) -> tuple[list[Evidence], float]:
    """Leftmost-longest hits *that survive their context rules*, non-overlapping.

    When a rule drops a phrase, a shorter phrase at the same place may still count
    (``您自己选择`` drops ``您自己`` but keeps ``您``).
    """

    def accept(start: int, end: int, marker: Marker) -> Marker | None:
        kept: Marker | None = marker
        for rule in marker.rules:
            kept = _RULES[rule](norm, start, end, marker)
            if kept is None:
                return None
            marker = kept
        return kept

    evidence: list[Evidence] = []
    total = 0.0
    seen: dict[str, int] = {}
    for start, end, _phrase, marker in lexicon.matcher.spans(
        norm, accept=accept, vetted=lexicon._vetted
    ):
        if marker.kind == "neutral":
            continue
        k = seen.get(marker.phrase, 0) + 1
        seen[marker.phrase] = k
        weight = marker.weight / k
        total += weight
        evidence.append(Evidence(start, end, text[start:end], marker.kind, weight, marker.label))
    return evidence, total


_CONTENT = re.compile(r"[0-9a-z\u3400-\u9fff\uf900-\ufaff]")


#: Results of the built-in lexicon kept by text (chat repeats itself: canned replies,
#: 好的, 稍等).  The one cache of politeness; a custom lexicon is scored afresh.
_CACHE_SIZE = 1 << 16
_CACHE: TextCache[Politeness] = TextCache(_CACHE_SIZE)


def _cache_for(lexicon: Lexicon) -> TextCache[Politeness] | None:
    """Return the result cache when *lexicon* is the built-in one, else ``None``."""
    return _CACHE if lexicon is _default_lexicon() else None


def _score_text(text: str, lexicon: Lexicon) -> Politeness:
    """Score one text: the cache, else plain Python (no numpy call), as ``_score_many`` would."""
    cache = _cache_for(lexicon)
    hit = cache.get(text) if cache is not None else None
    if hit is not None:
        return hit
    norm = normalize(text)
    if _CONTENT.search(norm) is None:  # what _score_normalized tests first
        result = Politeness(None, None)
    else:
        result = _score_content(text, norm, lexicon, _default_model().logit(norm))
    if cache is not None:
        cache.put(text, result)
    return result


def _score_many(texts: Sequence[str], lexicon: Lexicon) -> list[Politeness]:
    """Score *texts*: cached results, the rest in one vectorised pass (each text once)."""
    cache = _cache_for(lexicon)
    if cache is None:
        return _score_fresh(texts, lexicon, _default_model())
    out = cache.get_many(texts)
    missing = list(dict.fromkeys(t for t, r in zip(texts, out, strict=True) if r is None))
    if missing:
        fresh = dict(zip(missing, _score_fresh(missing, lexicon, _default_model()), strict=True))
        cache.put_many(fresh.items())
        out = [fresh[t] if r is None else r for t, r in zip(texts, out, strict=True)]
    return out  # type: ignore[return-value]  # every None was filled above


def _score_fresh(
    texts: Sequence[str], lexicon: Lexicon, model: OffensiveModel | None
) -> list[Politeness]:
    norms = [normalize(t) for t in texts]
    logits: list[float | None] = [None] * len(texts)
    if model is not None:
        has = [i for i, n in enumerate(norms) if _CONTENT.search(n)]
        if has:
            for i, x in zip(has, model.logits([norms[i] for i in has]), strict=True):
                logits[i] = float(x)
    return [
        _score_normalized(t, n, lexicon, x) for t, n, x in zip(texts, norms, logits, strict=True)
    ]


def _score_normalized(text: str, norm: str, lexicon: Lexicon, logit: float | None) -> Politeness:
    """Score *text* given its normalised form and the model's log-odds (``None``: no model)."""
    if _CONTENT.search(norm) is None:  # the same test as text.has_content
        return Politeness(None, None)
    return _score_content(text, norm, lexicon, logit)


def _score_content(text: str, norm: str, lexicon: Lexicon, logit: float | None) -> Politeness:
    """Score a text that has content (``_CONTENT`` finds a character in *norm*)."""
    evidence, total = _marker_hits(text, norm, lexicon)
    offensive: float | None = None
    if logit is not None:
        offensive = _sigmoid(logit)
        contribution = -OFFENSIVE_SCALE * max(0.0, logit - OFFENSIVE_CENTER)
        total += contribution
        if logit >= 0.0:  # listed as evidence once the model itself says "offensive"
            lead = len(text) - len(text.lstrip())
            tail = len(text.rstrip())
            evidence.append(
                Evidence(lead, tail, text[lead:tail], "offensive", contribution, "model:cold")
            )
            evidence.sort(key=lambda e: (e.start, e.end))
    score = _sigmoid(BIAS + total)
    return Politeness(score, _label(score), tuple(evidence), offensive)


def _resolve(lexicon: Lexicon | None) -> Lexicon:
    if lexicon is None:
        return Lexicon.default()
    if not isinstance(lexicon, Lexicon):
        kind = type(lexicon).__name__
        msg = f"lexicon must be a kefu_standards._politeness.Lexicon or None, got {kind}"
        raise ConfigError(msg)
    return lexicon


def politeness(text: str, *, lexicon: Lexicon | None = None) -> Politeness:
    """Score the politeness of one agent reply.

    Parameters
    ----------
    text:
        The message, Simplified or Traditional, half- or full-width.
    lexicon:
        Markers to use; ``None`` means :meth:`Lexicon.default`.

    Returns
    -------
    Politeness
        ``score`` in [0, 1], ``label``, and ``evidence`` whose offsets index
        *text*.  For a text without content the score and label are ``None``
        and an :class:`~kefu_standards.exceptions.UndefinedMetricWarning` is issued.

    Examples
    --------
    >>> p = politeness("亲，您好，请问有什么可以帮您？")
    >>> p.label
    'polite'
    >>> [e.text for e in p.of_kind("courtesy")][:3]
    ['亲', '您好', '请问']

    """
    if not isinstance(text, str):
        msg = f"politeness() needs a str, got {type(text).__name__}"
        raise InputTypeError(msg)
    result = _score_text(text, _default_lexicon() if lexicon is None else _resolve(lexicon))
    if result.score is None:
        warnings.warn(
            "politeness is undefined for a text without content; score is None",
            UndefinedMetricWarning,
            stacklevel=2,
        )
    return result


def politeness_many(
    texts: Iterable[str], *, lexicon: Lexicon | None = None
) -> tuple[Politeness, ...]:
    """Score many texts at once: the same results as :func:`politeness`, faster.

    The offensive-language model runs once, vectorised, over all texts.  Texts
    without content get ``score=None`` without a warning each.
    """
    items = text_list(texts, "politeness_many", "politeness(text)")
    for t in items:
        if not isinstance(t, str):
            msg = f"politeness_many() needs str items, got {type(t).__name__}"
            raise InputTypeError(msg)
    return tuple(_score_many(items, _resolve(lexicon)))


# ---------------------------------------------------------------- conversations


@attrs.frozen(slots=True)
class PolitenessResult:
    """Politeness of a conversation's agent messages.

    ``score`` is the aggregate chosen by the scorer (``mean`` or ``min`` of the
    message scores), ``None`` (N/A) when no agent message has content.
    ``evidence`` holds the worst hits first (most negative weight), each with
    the ``message_index`` of its message in the conversation; ``messages`` maps
    each scored message index to its :class:`Politeness`.  ``reason`` says
    why the score is N/A (empty when it is not), so the result keeps the
    scorer contract of :func:`kefu_standards.testing.check_scorer`.
    """

    score: float | None
    label: Label | None
    mean: float | None
    minimum: float | None
    n_messages: int
    evidence: tuple[Evidence, ...] = ()
    messages: tuple[tuple[int, Politeness], ...] = ()
    reason: str = ""


def _check_aggregate(_inst: object, _attr: object, value: str) -> None:
    if value not in ("mean", "min"):
        raise UnknownNameError("aggregate", value, ("mean", "min"))


def _check_lexicon(_inst: object, _attr: object, value: Lexicon | None) -> None:
    if value is not None and not isinstance(value, Lexicon):
        msg = f"PolitenessScorer.lexicon must be a Lexicon or None, got {type(value).__name__}"
        raise ConfigError(msg)


def _check_max(_inst: object, _attr: object, value: int) -> None:
    if value < 0:
        msg = f"PolitenessScorer.max_evidence must be >= 0, got {value}"
        raise ConfigError(msg)


@attrs.frozen(slots=True)
class PolitenessScorer:
    """Score a conversation's agent messages (buyer, bot and system messages are ignored).

    ``aggregate`` is ``"mean"`` (default) or ``"min"`` (the worst message decides);
    ``max_evidence`` caps the hits returned (worst first).

    >>> from kefu_standards import Conversation
    >>> records = [{"role": "buyer", "text": "在吗"}, {"role": "agent", "text": "亲，您好，请稍等"}]
    >>> conv = Conversation.from_records(records, id="c1")
    >>> PolitenessScorer().score(conv).label
    'polite'
    """

    lexicon: Lexicon | None = attrs.field(default=None, validator=_check_lexicon)
    aggregate: str = attrs.field(default="mean", validator=_check_aggregate)
    max_evidence: int = attrs.field(default=20, validator=_check_max)
    name: str = "politeness"

    def score_text(self, text: str) -> Politeness:
        """Score one text with this scorer's lexicon (no warning for empty text)."""
        return _score_text(text, _resolve(self.lexicon))

    def score(self, conversation: Conversation) -> PolitenessResult:
        """Score the agent messages of *conversation*; ``score`` is ``None`` when there are none."""
        lexicon = _resolve(self.lexicon)
        agent = [i for i, m in enumerate(conversation.messages) if m.role is Role.AGENT]
        results = _score_many([conversation.messages[i].text for i in agent], lexicon)
        scored = [(i, p) for i, p in zip(agent, results, strict=True) if p.score is not None]
        if not scored:
            why = (
                "no agent message with content: politeness does not apply"
                if not agent
                else "no agent message has content (only placeholders, emoticons or blanks)"
            )
            return PolitenessResult(None, None, None, None, 0, reason=why)
        scores = [p.score for _, p in scored if p.score is not None]
        mean = sum(scores) / len(scores)
        minimum = min(scores)
        value = mean if self.aggregate == "mean" else minimum
        hits = [e.at(i) for i, p in scored for e in p.evidence]
        hits.sort(key=lambda e: (e.weight, e.message_index, e.start))
        return PolitenessResult(
            value,
            _label(value),
            mean,
            minimum,
            len(scored),
            tuple(hits[: self.max_evidence]),
            tuple(scored),
        )
