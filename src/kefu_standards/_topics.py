"""Consultation topics (咨询内容): what a buyer message, and a conversation, is about.

The default detector is a cue lexicon (``data/topics/cues.tsv``): trade words
such as 快递, 退款, 发票, each voting for one topic with a weight.  The text is
normalised (placeholders blanked, Traditional folded to Simplified, full-width
to half-width), the cues are found leftmost-longest in one trie pass, and the
topic with the highest summed weight wins when it reaches ``min_score``.  A
message with no cue (好的, an order number) has no topic: ``label is None`` and
``reason`` says why.

:func:`topics` reads a whole conversation: each buyer message gets its own
topic; a message without one that leans on the one before (这个, 明天的呢, a
short follow-up) takes the topic of the previous buyer message, with evidence
of kind ``"context"``.  The conversation's topics are ranked by the evidence of
the buyer messages with cues of their own (each message adds its score, at most
``SCORE_CAP``); ``share`` is the fraction of the topical buyer messages.

Both functions also take a trained :class:`~kefu_standards.TopicModel`
(``model=``) instead of the lexicon.
"""

from __future__ import annotations

import importlib
import math
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property, lru_cache
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ._frozendict import FrozenDict
from .evidence import Evidence
from .exceptions import ConfigError, ReadError
from .model import Conversation, Role
from .resources import lazy, load_tsv
from .text import fold, has_content, normalize

if TYPE_CHECKING:
    from ._matcher import PhraseMatcher
    from ._topic_model import TopicModel

__all__ = [
    "ConversationTopics",
    "Topic",
    "TopicCue",
    "TopicDef",
    "TopicLexicon",
    "TopicShare",
    "is_pasted",
    "topic",
    "topics",
]

_ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

#: Default minimum summed cue weight for a message to carry a topic.
MIN_SCORE = 1.0


def _check_id(_inst: object, attr: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not _ID_RE.match(value):
        msg = (
            f"topic {attr.name} must be a lower-case identifier (a-z, 0-9, _; "
            f"starting with a letter, at most 40 characters), got {value!r}"
        )
        raise ConfigError(msg)


def _check_phrase(_inst: object, _attr: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"a topic cue phrase must be a non-empty string, got {value!r}")


def _check_weight(_inst: object, _attr: attrs.Attribute[float], value: float) -> None:
    if not math.isfinite(value) or value < 0:
        msg = (
            f"a topic cue weight must be a finite number >= 0 (0: a phrase that only hides "
            f"the cues inside it), got {value!r}"
        )
        raise ConfigError(msg)


def _fold_phrase(value: str) -> str:
    return fold(value.strip())


@attrs.frozen(slots=True)
class TopicDef:
    """One topic of a taxonomy: its ``id`` (``"logistics"``), Chinese ``name`` and what it covers.

    .. versionadded:: 0.2.0
    """

    id: str = attrs.field(validator=_check_id)
    name: str = ""
    description: str = ""


@attrs.frozen(slots=True)
class TopicCue:
    """A phrase voting for a topic.  The phrase is stored folded (Simplified, half-width).

    A cue of weight 0 votes for nothing: it only hides the shorter cues inside it
    (``下单时间`` in an order card hides ``下单``); its evidence has kind ``"topic_ignored"``.

    .. versionadded:: 0.2.0
    """

    phrase: str = attrs.field(converter=_fold_phrase, validator=_check_phrase)
    topic: str = attrs.field(validator=_check_id)
    weight: float = attrs.field(default=1.0, converter=float, validator=_check_weight)


TopicCueLike = TopicCue | tuple[str, str] | tuple[str, str, float]


def _as_cue(item: TopicCueLike) -> TopicCue:
    if isinstance(item, TopicCue):
        return item
    if isinstance(item, tuple) and len(item) in {2, 3}:
        return TopicCue(*item)
    raise ConfigError(
        f"a topic cue is a TopicCue or a (phrase, topic[, weight]) tuple, got {item!r}"
    )


def _merge_cues(base: Iterable[TopicCue], extra: Iterable[TopicCue]) -> tuple[TopicCue, ...]:
    table: dict[str, TopicCue] = {}
    for cue in (*base, *extra):
        table.pop(cue.phrase, None)  # a later cue replaces an earlier one, and moves last
        table[cue.phrase] = cue
    return tuple(table.values())


def _merge_topics(base: Iterable[TopicDef], extra: Iterable[TopicDef]) -> tuple[TopicDef, ...]:
    table: dict[str, TopicDef] = {t.id: t for t in base}
    for t in extra:
        table[t.id] = t
    return tuple(table.values())


def _check_lexicon(inst: TopicLexicon, _attr: attrs.Attribute[Any], _value: Any) -> None:
    if not inst.topics:
        raise ConfigError("a topic lexicon needs at least one topic")
    known = {t.id for t in inst.topics}
    if len(known) != len(inst.topics):
        raise ConfigError("a topic lexicon lists a topic id twice")
    for cue in inst.cues:
        if cue.topic not in known:
            valid = ", ".join(sorted(known))
            msg = f"cue {cue.phrase!r} names unknown topic {cue.topic!r}; the topics are: {valid}"
            raise ConfigError(msg)


def _topic_tuple(items: Iterable[TopicDef]) -> tuple[TopicDef, ...]:
    out = tuple(items)
    for t in out:
        if not isinstance(t, TopicDef):
            raise ConfigError(f"topics must be TopicDef objects, got {t!r}")
    return out


def _cue_tuple(items: Iterable[TopicCue]) -> tuple[TopicCue, ...]:
    out = tuple(items)
    for c in out:
        if not isinstance(c, TopicCue):
            raise ConfigError(f"cues must be TopicCue objects, got {c!r}")
    return out


@attrs.frozen(slots=False, cache_hash=True)
class TopicLexicon:
    """A taxonomy of topics and the cue phrases that vote for them; immutable.

    Make one with :meth:`default` (11 e-commerce topics), :meth:`from_tsv` or
    :meth:`from_toml` (a shop's own cues or taxonomy) or :meth:`of`, then derive
    others with :meth:`with_cues`, :meth:`without` and :meth:`merged`; the
    package data is never modified.

    >>> lex = TopicLexicon.default().with_cues([("以旧换新", "price_promo", 2.0)])
    >>> lex["以旧换新"].topic, "快递" in lex
    ('price_promo', True)

    .. versionadded:: 0.2.0
    """

    topics: tuple[TopicDef, ...] = attrs.field(converter=_topic_tuple)
    cues: tuple[TopicCue, ...] = attrs.field(converter=_cue_tuple, validator=_check_lexicon)
    name: str = attrs.field(default="custom", eq=False)

    @classmethod
    def default(cls) -> TopicLexicon:
        """Return the built-in taxonomy and cues (``data/topics/*.tsv``, version 1)."""
        return _default_lexicon()

    @classmethod
    def of(
        cls,
        cues: Iterable[TopicCueLike],
        *,
        topics: Iterable[TopicDef | str] | None = None,
        name: str = "custom",
    ) -> TopicLexicon:
        """Return a lexicon of exactly *cues*; *topics* default to the topics the cues name."""
        items = _merge_cues((), (_as_cue(c) for c in cues))
        if topics is None:
            defs = tuple(TopicDef(t) for t in dict.fromkeys(c.topic for c in items))
        else:
            defs = tuple(t if isinstance(t, TopicDef) else TopicDef(t) for t in topics)
        return cls(defs, items, name)

    @classmethod
    def from_tsv(cls, path: str | PathLike[str], *, extend_default: bool = True) -> TopicLexicon:
        """Read cues from a TSV file: ``phrase<TAB>topic[<TAB>weight]`` (weight 1 by default).

        ``#`` lines are comments.  A row ``phrase<TAB>-`` removes *phrase*.  A row
        ``@topic<TAB>id<TAB>Chinese name`` declares a topic.  With ``extend_default``
        the rows are merged over :meth:`default` (new topics may be declared);
        without it the file is the whole taxonomy.  A malformed row raises
        :class:`~kefu_standards.exceptions.ReadError` naming the file and line.
        """
        source = str(path)
        text = _read(path)
        cues: list[TopicCue] = []
        defs: list[TopicDef] = []
        removed: list[str] = []
        for n, raw in enumerate(text.splitlines(), start=1):
            if not raw.strip() or raw.lstrip().startswith("#"):
                continue
            cols = [c.strip() for c in raw.split("\t")]
            try:
                if cols[0] == "@topic":
                    if len(cols) < 2:
                        raise ConfigError("a @topic row is @topic<TAB>id<TAB>name")
                    defs.append(TopicDef(cols[1], *cols[2:4]))
                elif len(cols) == 2 and cols[1] == "-":
                    removed.append(cols[0])
                elif len(cols) in {2, 3}:
                    weight = float(cols[2]) if len(cols) == 3 and cols[2] else 1.0
                    cues.append(TopicCue(cols[0], cols[1], weight))
                else:
                    msg = "expected phrase<TAB>topic[<TAB>weight], phrase<TAB>- or @topic rows"
                    raise ConfigError(msg)
            except (ConfigError, ValueError) as exc:
                raise ReadError(source, n, f"bad topic cue row {raw!r}: {exc}") from exc
        base = cls.default() if extend_default else None
        return cls._build(base, defs, cues, removed, Path(path).name, source)

    @classmethod
    def from_toml(cls, path: str | PathLike[str], *, extend_default: bool = False) -> TopicLexicon:
        """Read a taxonomy from TOML: one table per topic under ``[topics]``.

        .. code-block:: toml

            [topics.warranty]
            name = "保修"
            cues = ["保修", "质保"]            # weight 1 each
            weighted = { "延保" = 2.0 }        # optional phrase = weight

        Without ``extend_default`` (the default) the file is the whole taxonomy; with
        it, the topics are merged over :meth:`default` (same id: cues added, name replaced).
        """
        source = str(path)
        # tomllib is in the standard library from Python 3.11; tomli is the same parser before.
        toml: Any = importlib.import_module("tomllib" if sys.version_info >= (3, 11) else "tomli")
        try:
            data = toml.loads(_read(path))
        except toml.TOMLDecodeError as exc:
            raise ReadError(source, None, f"not valid TOML: {exc}") from exc
        table = data.get("topics")
        if not isinstance(table, dict) or not table:
            raise ReadError(source, None, "expected a [topics.<id>] table per topic")
        defs: list[TopicDef] = []
        cues: list[TopicCue] = []
        for tid, spec in table.items():
            try:
                if not isinstance(spec, dict):
                    raise ConfigError("a topic is a table with name, cues and weighted")
                unknown = set(spec) - {"name", "description", "cues", "weighted"}
                if unknown:
                    msg = (
                        f"unknown keys {sorted(unknown)}; valid: name, description, cues, weighted"
                    )
                    raise ConfigError(msg)
                defs.append(
                    TopicDef(tid, str(spec.get("name", "")), str(spec.get("description", "")))
                )
                cues.extend(TopicCue(str(p), tid) for p in spec.get("cues", ()))
                cues.extend(
                    TopicCue(str(p), tid, w) for p, w in dict(spec.get("weighted", {})).items()
                )
            except (ConfigError, TypeError, ValueError) as exc:
                raise ReadError(source, None, f"topic {tid!r}: {exc}") from exc
        base = cls.default() if extend_default else None
        return cls._build(base, defs, cues, [], Path(path).name, source)

    @classmethod
    def _build(  # noqa: PLR0917 - private: the parts of a file being assembled
        cls,
        base: TopicLexicon | None,
        defs: Sequence[TopicDef],
        cues: Sequence[TopicCue],
        removed: Sequence[str],
        name: str,
        source: str,
    ) -> TopicLexicon:
        if base is not None:
            all_defs = _merge_topics(base.topics, defs)
            all_cues = _merge_cues(base.cues, cues)
        else:
            all_defs = tuple(defs) or tuple(
                TopicDef(t) for t in dict.fromkeys(c.topic for c in cues)
            )
            all_cues = _merge_cues((), cues)
        drop = {fold(p) for p in removed}
        try:
            return cls(all_defs, tuple(c for c in all_cues if c.phrase not in drop), name)
        except ConfigError as exc:
            raise ReadError(source, None, str(exc)) from exc

    def with_cues(
        self, cues: Iterable[TopicCueLike] | Mapping[str, tuple[str, float]]
    ) -> TopicLexicon:
        """Return a new lexicon with *cues* added (an existing phrase is replaced).

        Accepts :class:`TopicCue` objects, ``(phrase, topic[, weight])`` tuples or a
        mapping ``{phrase: (topic, weight)}``.
        """
        if isinstance(cues, Mapping):
            items = [TopicCue(p, tw[0], tw[1]) for p, tw in cues.items()]
        else:
            items = [_as_cue(c) for c in cues]
        return TopicLexicon(self.topics, _merge_cues(self.cues, items), self.name)

    def with_topics(self, *topics: TopicDef) -> TopicLexicon:
        """Return a new lexicon with *topics* added (an existing id gets the new name)."""
        return TopicLexicon(_merge_topics(self.topics, topics), self.cues, self.name)

    def without(self, *phrases: str) -> TopicLexicon:
        """Return a new lexicon without *phrases* (any script; unknown phrases are ignored)."""
        drop = {fold(p.strip()) for p in phrases}
        return TopicLexicon(
            self.topics, tuple(c for c in self.cues if c.phrase not in drop), self.name
        )

    def merged(self, other: TopicLexicon) -> TopicLexicon:
        """Return a new lexicon: *other*'s topics and cues over this one's."""
        return TopicLexicon(
            _merge_topics(self.topics, other.topics), _merge_cues(self.cues, other.cues), self.name
        )

    @property
    def topic_ids(self) -> tuple[str, ...]:
        """The topic ids, in taxonomy order."""
        return tuple(t.id for t in self.topics)

    def topic_name(self, topic_id: str) -> str:
        """Return the name of *topic_id* (its id when it has no name)."""
        for t in self.topics:
            if t.id == topic_id:
                return t.name or t.id
        raise ConfigError(
            f"unknown topic {topic_id!r}; the topics are: {', '.join(self.topic_ids)}"
        )

    def __contains__(self, phrase: object) -> bool:
        return isinstance(phrase, str) and fold(phrase.strip()) in self._table

    def __len__(self) -> int:
        return len(self.cues)

    def __getitem__(self, phrase: str) -> TopicCue:
        return self._table[fold(phrase.strip())]

    def __repr__(self) -> str:
        return f"<TopicLexicon {self.name!r}: {len(self.topics)} topics, {len(self.cues)} cues>"

    @cached_property
    def _table(self) -> dict[str, TopicCue]:
        return {c.phrase: c for c in self.cues}

    @cached_property
    def _zero(self) -> FrozenDict:
        """A score of 0.0 for every topic (shared by the results without a cue)."""
        return FrozenDict(dict.fromkeys(self.topic_ids, 0.0))

    @cached_property
    def _zero_scores(self) -> dict[str, float]:
        """A plain dict of 0.0 per topic: each scored text starts from a copy."""
        return dict.fromkeys(self.topic_ids, 0.0)

    @cached_property
    def _names(self) -> dict[str, str]:
        return {t.id: t.name or t.id for t in self.topics}

    @cached_property
    def matcher(self) -> PhraseMatcher[TopicCue]:
        """The compiled matcher (built on first use, then cached on this lexicon)."""
        from ._matcher import PhraseMatcher

        return PhraseMatcher((c.phrase, c) for c in self.cues)


def _read(path: str | PathLike[str]) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReadError(str(path), None, f"cannot read topic file: {exc}") from exc


@lazy
def _default_lexicon() -> TopicLexicon:
    defs = tuple(TopicDef(e.phrase, *e.fields[:2]) for e in load_tsv("topics/taxonomy.tsv"))
    cues = tuple(
        TopicCue(e.phrase, e.fields[0], float(e.fields[1])) for e in load_tsv("topics/cues.tsv")
    )
    return TopicLexicon(defs, _merge_cues((), cues), "default")


# ---------------------------------------------------------------- pasted cards

#: A ``label:`` field of a pasted card (咨询订单号:…, 订单金额:…, 商品ID:…).
_CARD_FIELD = re.compile(r"[\u3400-\u9fffA-Za-z]{2,12}\s*[:：]")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_CJK = re.compile(r"[\u3400-\u9fff]")


def is_pasted(text: str) -> bool:
    """Whether *text* is a pasted card or link rather than something the buyer wrote.

    A card has at least two ``label:`` fields (``咨询订单号:… 订单金额:… 下单时间:…``,
    an order or product card sent from the order page), or one field and no other
    words (``订单号:123456789``); a link is a message with nothing but URLs.  Such
    a message still carries a topic (an order card votes for ``order``), but it is
    not a question: the frequent-question counts leave it out.

    .. versionadded:: 0.2.0
    """
    if ":" not in text and "：" not in text and "www." not in text.lower():
        return False  # no field and no link (http:// has a colon): the common case
    norm = normalize(text)  # placeholders ([ORDERID_…], [金额x]) blanked
    fields = _CARD_FIELD.findall(norm)
    if len(fields) >= 2:
        return True
    if len(fields) == 1 and not _CJK.search(_CARD_FIELD.sub("", norm)):
        return True  # 订单号:123456789 with nothing else
    bare = _URL.sub("", text)
    return bare != text and not has_content(bare)


# ---------------------------------------------------------------- one text


@attrs.frozen(slots=True)
class Topic:
    """The topic of one text.

    ``label`` is the winning topic id, or ``None`` when the text carries no topic
    (``reason`` then says why: no content, no cue, or too weak).  ``scores`` maps
    every topic of the taxonomy to its summed cue weight (a trained model: its
    probability).  ``evidence`` holds the cue spans (kind ``"topic_cue"``, ``rule``
    the topic id; ``"context"`` when the topic came from the message before).

    .. versionadded:: 0.2.0
    """

    text: str
    label: str | None
    name: str | None
    score: float
    scores: FrozenDict
    evidence: tuple[Evidence, ...]
    reason: str | None = None

    @property
    def ranked(self) -> tuple[tuple[str, float], ...]:
        """``(topic, score)`` pairs with a score above zero, highest first."""
        pairs = [(k, float(v)) for k, v in self.scores.items() if v > 0]
        return tuple(sorted(pairs, key=lambda kv: -kv[1]))


def _score_text(text: str, lexicon: TopicLexicon, min_score: float) -> Topic:
    if not has_content(text):
        return Topic(text, None, None, 0.0, lexicon._zero, (), "no content")
    matches = lexicon.matcher.find(normalize(text))
    scores = lexicon._zero_scores.copy()
    evidence = []
    first: dict[str, int] = {}
    for m in matches:
        cue = m.payload
        span = text[m.start : m.end]
        if cue.weight == 0:
            evidence.append(Evidence(m.start, m.end, span, "topic_ignored", 0.0, cue.topic))
            continue
        scores[cue.topic] += cue.weight
        first.setdefault(cue.topic, m.start)
        evidence.append(Evidence(m.start, m.end, span, "topic_cue", cue.weight, cue.topic))
    if not first:
        return Topic(text, None, None, 0.0, lexicon._zero, tuple(evidence), "no topic cue")
    frozen = FrozenDict._of_frozen(scores)  # float values: nothing to freeze
    # highest score; ties go to the topic whose cue comes first in the text
    best = ""
    top = -1.0
    for t in first:  # in order of first appearance: a tie keeps the earlier topic
        if scores[t] > top:
            best, top = t, scores[t]
    if top < min_score:
        reason = f"strongest topic {best!r} scores {top:g}, below min_score {min_score:g}"
        return Topic(text, None, None, top, frozen, tuple(evidence), reason)
    return Topic(text, best, lexicon._names[best], top, frozen, tuple(evidence))


@lru_cache(maxsize=65536)
def _topic_cached(text: str, lexicon: TopicLexicon, min_score: float) -> Topic:
    return _score_text(text, lexicon, min_score)


def topic(
    text: str,
    *,
    lexicon: TopicLexicon | None = None,
    model: TopicModel | None = None,
    min_score: float = MIN_SCORE,
) -> Topic:
    """Return the consultation topic of *text* (a buyer message).

    With the default lexicon the 11 topics of :meth:`TopicLexicon.default` are
    scored; pass *lexicon* for a shop's own cues or taxonomy, or *model* for a
    trained :class:`~kefu_standards.TopicModel` (then *min_score* is ignored; the
    model's own ``min_confidence`` applies).  Results are cached by text.

    >>> topic("快递怎么还没到").label
    'logistics'
    >>> topic("好的").label is None
    True

    .. versionadded:: 0.2.0
    """
    if lexicon is None and model is None and min_score == MIN_SCORE and type(text) is str:
        return _topic_cached(text, _default_lexicon(), MIN_SCORE)  # the common call, checked
    if not isinstance(text, str):
        raise ConfigError(f"topic() takes a str, got {type(text).__name__}")
    if model is not None:
        if lexicon is not None:
            raise ConfigError("topic(): pass lexicon= or model=, not both")
        return model.topic(text)
    if not (math.isfinite(min_score) and min_score > 0):
        raise ConfigError(f"min_score must be a finite number > 0, got {min_score!r}")
    return _topic_cached(text, lexicon or _default_lexicon(), float(min_score))


# ---------------------------------------------------------------- one conversation


@attrs.frozen(slots=True)
class TopicShare:
    """One topic of a conversation: its share of the topical buyer messages and which they are.

    ``share`` and ``count`` include messages that took the topic from context;
    ``score`` (what the ranking uses) sums the messages' own cue scores, each at
    most ``SCORE_CAP``.

    .. versionadded:: 0.2.0
    """

    label: str
    name: str
    share: float
    count: int
    messages: tuple[int, ...]
    score: float


@attrs.frozen(slots=True)
class ConversationTopics:
    """The topics of one conversation, ranked by their evidence (``score``), then by count.

    ``per_message`` has one entry per message: the buyer message's :class:`Topic`
    (its label possibly taken from context) or ``None`` for other roles.  ``label``
    is the top topic, ``None`` when no buyer message carries one (``reason`` says why).

    .. versionadded:: 0.2.0
    """

    conversation_id: str
    topics: tuple[TopicShare, ...]
    per_message: tuple[Topic | None, ...]
    reason: str | None = None

    @property
    def label(self) -> str | None:
        """The top topic id, or ``None``."""
        return self.topics[0].label if self.topics else None

    def share(self, label: str) -> float:
        """Share of topic *label* (0.0 when it does not occur)."""
        for t in self.topics:
            if t.label == label:
                return t.share
        return 0.0


@lazy
def _context_cues() -> PhraseMatcher[str]:
    from ._matcher import PhraseMatcher

    return PhraseMatcher((e.phrase, e.fields[0]) for e in load_tsv("topics/context.tsv"))


#: What a message that takes its topic from context adds to the topic's rank (its
#: source's score times this): 0, a follow-up is no new evidence of what the chat is
#: about (it still counts in the topic's share and messages).
CONTEXT_WEIGHT = 0.0
#: The most one message adds to its topic's rank, so one long message full of cues
#: does not outweigh several short questions.
SCORE_CAP = 2.0
#: A buyer message of at most this many content characters may lean on the topic before it.
_SHORT = 20
_CONTENT_CHAR = re.compile(r"[0-9a-z\u3400-\u9fff]")


@lru_cache(maxsize=65536)
def _follows_context(
    text: str, ignored: tuple[tuple[int, int], ...]
) -> tuple[bool, Evidence | None]:
    """Whether a topic-less buyer message continues the previous topic, and the span why.

    *ignored* are the spans of weight-0 cues (order cards), blanked like fillers.
    Cached by text (and those spans).
    """
    norm = normalize(text)
    found = _context_cues().find(norm)
    fillers = [(m.start, m.end) for m in found if m.payload == "filler"]
    fillers.extend(ignored)
    anaphors = [m for m in found if m.payload == "anaphor"]
    if anaphors:
        m = anaphors[0]
        return True, Evidence(m.start, m.end, text[m.start : m.end], "context", 0.0, "anaphor")
    # strip fillers; what is left must be a short follow-up
    chars = list(norm)
    for start, end in fillers:
        chars[start:end] = " " * (end - start)
    content = _CONTENT_CHAR.findall("".join(chars))
    if 0 < len(content) <= _SHORT:
        return True, None
    return False, None


def topics(
    conversation: Conversation,
    *,
    lexicon: TopicLexicon | None = None,
    model: TopicModel | None = None,
    min_score: float = MIN_SCORE,
    context: bool = True,
) -> ConversationTopics:
    """Return the buyer's topics in *conversation*, ranked.

    Each buyer message is scored with :func:`topic`.  With ``context`` (the
    default) a buyer message without a topic that leans on the previous one (a
    demonstrative such as 这个 or 那, or a short follow-up such as 明天的呢) takes
    the previous buyer message's topic; its evidence then has kind ``"context"``.
    Fillers (好的, 谢谢, 在吗) never take a topic.  Topics are ranked by the
    summed scores of the messages with cues of their own (each at most
    ``SCORE_CAP``), then by message count, then by first appearance.

    .. versionadded:: 0.2.0
    """
    if not isinstance(conversation, Conversation):
        raise ConfigError(f"topics() takes a Conversation, got {type(conversation).__name__}")
    if model is not None:
        if lexicon is not None:
            raise ConfigError("topics(): pass lexicon= or model=, not both")
        score_text = model.topic
    else:
        if not (math.isfinite(min_score) and min_score > 0):
            raise ConfigError(f"min_score must be a finite number > 0, got {min_score!r}")
        lex, floor = lexicon or _default_lexicon(), float(min_score)

        def score_text(text: str) -> Topic:
            return _topic_cached(text, lex, floor)

    buyer = Role.BUYER
    per: list[Topic | None] = []
    counts: dict[str, list[int]] = {}
    sums: dict[str, float] = {}
    previous: Topic | None = None
    previous_index = -1
    for i, msg in enumerate(conversation.messages):
        if msg.role is not buyer:
            per.append(None)
            continue
        t = score_text(msg.text)
        if t.label is None and context and previous is not None and t.reason != "no content":
            ignored = tuple((e.start, e.end) for e in t.evidence if e.kind == "topic_ignored")
            follows, why = _follows_context(msg.text, ignored)
            if follows:
                ev = (why,) if why is not None else ()
                reason = f"no topic of its own; follows message {previous_index}"
                t = Topic(
                    t.text,
                    previous.label,
                    previous.name,
                    t.score,
                    t.scores,
                    t.evidence + ev,
                    reason,
                )
        per.append(t)
        if t.label is not None:
            counts.setdefault(t.label, []).append(i)
            # a message's own cues count up to SCORE_CAP; one that follows context counts
            # CONTEXT_WEIGHT times its source's score
            own = (
                t.score if t.reason is None or previous is None else CONTEXT_WEIGHT * previous.score
            )
            sums[t.label] = sums.get(t.label, 0.0) + min(own, SCORE_CAP)
            if t.reason is None:  # a message with its own topic; context messages keep the source
                previous, previous_index = t, i
    total = sum(len(v) for v in counts.values())
    if not total:
        reason = (
            "no buyer messages"
            if all(p is None for p in per)
            else "no buyer message carries a topic"
        )
        return ConversationTopics(conversation.id, (), tuple(per), reason)
    names = (lexicon or _default_lexicon())._names if model is None else model.names
    ranked = sorted(counts, key=lambda k: (-sums[k], -len(counts[k]), counts[k][0]))
    shares = tuple(
        TopicShare(
            k, names.get(k, k), len(counts[k]) / total, len(counts[k]), tuple(counts[k]), sums[k]
        )
        for k in ranked
    )
    return ConversationTopics(conversation.id, shares, tuple(per))
