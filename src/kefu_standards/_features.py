"""Hashed text features, vectorised with numpy (private; shared by the text scorers).

A batch of **already normalised** texts (see :func:`kefu_standards.text.normalize`)
is joined into one array of code points, and every feature is computed over
that array at once.  Each feature *occurrence* keeps the document it came from
and its span ``[start, end)`` in that document, so a score can always be
explained by spans of the original text (normalisation never moves offsets).

The hash is our own and stable across processes, platforms and Python
versions (FNV-1a over code points, then the splitmix64 finaliser, in uint64
numpy arithmetic); Python's salted :func:`hash` is never used.  A feature's
bucket is the top ``bits`` bits of its hash and its sign the lowest bit
(signed feature hashing, Weinberger et al. 2009).

Public-in-the-package helpers (other scorers may import them):

- :func:`char_codes` — join texts into a code-point array with boundaries.
- :func:`raw_ngrams` / :func:`salted` — FNV chains of every n-gram (n = 1..k)
  computed once, finished into the hash of any feature space.
- :func:`ngram_hashes` — hash of every character n-gram, with validity mask.
- :func:`string_hashes` — the same hash for whole strings (lexicon entries).
- :func:`bucket_and_sign` — bucket index and ±1 sign of hashes.
- :func:`cue_spans` — regex matches over the joined text, mapped to documents.
- :func:`scope_mask` — positions governed by a cue (negation, intensifier).
- :func:`hashed_char_ngrams` — plain hashed character n-grams as a
  :class:`FeatureBatch`, the general-purpose entry point.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from itertools import repeat
from operator import add

import attrs
import numpy as np
import numpy.typing as npt

from .exceptions import ConfigError
from .resources import lazy

__all__ = [
    "KIND_NAMES",
    "FeatureBatch",
    "FeatureBuilder",
    "bucket_and_sign",
    "char_codes",
    "cue_spans",
    "hashed_char_ngrams",
    "ngram_hashes",
    "raw_ngrams",
    "salted",
    "scope_mask",
    "string_hashes",
]

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)

#: Separator code point between documents; whitespace is also mapped to it.
BOUNDARY = 0

# Feature kinds.  The number is part of the hash salt, so it must never change.
KIND_NGRAM = 1
KIND_NEGATION = 2
KIND_INTENSIFIER = 3
KIND_PUNCTUATION = 4
KIND_SARCASM = 5
KIND_LEXICON = 6
KIND_EMOTICON = 7
KIND_EDGE = 8
KIND_CUE = 9

#: Kind number -> the name used in :class:`~kefu_standards.evidence.Evidence`.
KIND_NAMES: dict[int, str] = {
    KIND_NGRAM: "ngram",
    KIND_NEGATION: "negation",
    KIND_INTENSIFIER: "intensifier",
    KIND_PUNCTUATION: "punctuation",
    KIND_SARCASM: "sarcasm",
    KIND_LEXICON: "lexicon",
    KIND_EMOTICON: "emoticon",
    KIND_EDGE: "ngram",
    KIND_CUE: "cue",
}

_WHITESPACE = np.array([ord(c) for c in " \t\n\r\x0b\x0c\u3000\xa0"], dtype=np.uint64)
# Characters that close a negation or intensifier scope (after fold: half-width).
_STOP_CHARS = np.array(
    [ord(c) for c in ",.!?;:~、。…()[]\"'，！？；：～"] + [BOUNDARY], dtype=np.uint64
)


@lazy
def _char_table() -> tuple[BoolArray, BoolArray]:
    """Boolean lookup tables over all code points: (is whitespace, closes a scope)."""
    space = np.zeros(0x110000, dtype=bool)
    space[_WHITESPACE.astype(np.int64)] = True
    stop = np.zeros(0x110000, dtype=bool)
    stop[_STOP_CHARS.astype(np.int64)] = True
    return space, stop


def _mix(h: U64) -> U64:
    """Splitmix64 finaliser (in place on a fresh array)."""
    h ^= h >> _S30
    h *= _MIX1
    h ^= h >> _S27
    h *= _MIX2
    h ^= h >> _S31
    return h


def _utf32(text: str) -> bytes:
    """UTF-32-LE bytes of *text*, one 4-byte unit per character.

    ``surrogatepass`` keeps a lone surrogate (a truncated emoji in a JSON export,
    undecodable stdin bytes) as its own code point instead of raising, so every
    ``str`` can be scored and offsets stay one unit per character.
    """
    return text.encode("utf-32-le", "surrogatepass")


def char_codes(texts: Sequence[str]) -> tuple[U64, I64]:
    """Join *texts* into one uint64 array of code points.

    The layout is ``B t0 B t1 B … B`` where ``B`` is :data:`BOUNDARY`;
    whitespace inside texts is mapped to ``B`` too, so no n-gram crosses a
    space or a document.  Returns ``(codes, starts)``: ``starts[d]`` is the
    index in ``codes`` of the first character of document ``d``.
    """
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    starts = np.cumsum(lengths + 1) - lengths
    joined = "\x00" + "\x00".join(texts) + "\x00"
    codes = np.frombuffer(_utf32(joined), dtype=np.uint32).astype(np.uint64)
    codes[_char_table()[0][np.minimum(codes, 0x10FFFF)]] = BOUNDARY
    return codes, starts


def raw_ngrams(codes: U64, max_n: int) -> list[tuple[U64, BoolArray]]:
    """Unsalted, unmixed FNV-1a chains of all n-grams, ``n = 1 .. max_n``.

    Element ``n - 1`` is ``(raw, valid)``; ``raw[i]`` covers ``codes[i:i+n]``
    and ``valid[i]`` is False when that n-gram has a boundary or runs off the
    end.  Finish a raw value into a hash with :func:`salted`.
    """
    size = len(codes)
    nonzero = codes != BOUNDARY
    raw = np.full(size, _FNV_OFFSET, dtype=np.uint64)
    valid = np.ones(size, dtype=bool)
    out: list[tuple[U64, BoolArray]] = []
    for n in range(1, max_n + 1):
        m = max(size - n + 1, 0)
        raw = raw.copy()
        valid = valid.copy()
        raw[:m] ^= codes[n - 1 : n - 1 + m]
        raw[:m] *= _FNV_PRIME
        valid[:m] &= nonzero[n - 1 : n - 1 + m]
        valid[m:] = False
        out.append((raw, valid))
    return out


def _salt_code(salt: int) -> np.uint64:
    return np.uint64((salt * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF)  # type: ignore[no-any-return]


# Marks "already hashed" in _Parts; not the code of any salt used here (salt 0 -> 0).
_NO_SALT = np.uint64(0xFFFFFFFFFFFFFFFF)


def salted(raw: U64, salt: int) -> U64:
    """Finish raw n-gram chains into hashes of feature space *salt* (a new array)."""
    return _mix(raw ^ _salt_code(salt))


def ngram_hashes(codes: U64, n: int, salt: int = 0) -> tuple[U64, BoolArray]:
    """Hash every character n-gram of *codes*; return ``(hashes, valid)``.

    ``hashes[i]`` is the hash of ``codes[i:i+n]`` (arrays have ``len(codes)``
    entries; the last ``n - 1`` are invalid); ``valid[i]`` is False when the
    n-gram contains a boundary.  *salt* separates feature spaces.
    """
    raw, valid = raw_ngrams(codes, n)[n - 1]
    return salted(raw, salt), valid


def string_hashes(strings: Iterable[str], salt: int = 0) -> U64:
    """Hash whole strings exactly as :func:`ngram_hashes` hashes an n-gram."""
    out = []
    for s in strings:
        if not s:
            out.append(np.uint64(0))
            continue
        codes = np.frombuffer(_utf32(s), dtype=np.uint32).astype(np.uint64)
        h, _ = ngram_hashes(codes, len(s), salt)
        out.append(h[0])
    return np.array(out, dtype=np.uint64)


def bucket_and_sign(
    hashes: U64, bits: int
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]:
    """Map hashes to a bucket in ``[0, 2**bits)`` (top bits) and a sign ±1 (lowest bit)."""
    bucket = (hashes >> np.uint64(64 - bits)).astype(np.int32)
    sign = 1.0 - 2.0 * (hashes & np.uint64(1)).astype(np.float32)
    return bucket, sign.astype(np.float32)


def cue_spans(pattern: re.Pattern[str], joined: str, group: int = 0) -> tuple[I64, I64]:
    """Spans ``(starts, ends)`` (indices into the joined array) of *pattern*'s matches.

    Only matches where *group* participated are returned; use a first
    alternative group to consume exceptions (``别人`` is not a negator).
    """
    spans = [m.span(group) for m in pattern.finditer(joined) if m.start(group) >= 0]
    if not spans:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    arr = np.array(spans, dtype=np.int64)
    return arr[:, 0], arr[:, 1]


def _next_stop(codes: U64) -> I64:
    """``out[i]`` = smallest ``j >= i`` whose character closes a scope."""
    size = len(codes)
    idx = np.where(_char_table()[1][np.minimum(codes, 0x10FFFF)], np.arange(size), size)
    return np.minimum.accumulate(idx[::-1])[::-1]


def scope_mask(
    size: int, cue_starts: I64, cue_ends: I64, window: int, next_stop: I64
) -> tuple[BoolArray, I64]:
    """Positions governed by a cue and the start of the governing cue.

    A cue ending at ``e`` governs ``[e, min(e + window, next stop))``.  When
    scopes overlap the latest cue wins.  Returns ``(in_scope, cue_start)``
    where ``cue_start[i]`` is meaningful only where ``in_scope[i]``.
    """
    owner = np.full(size, -1, dtype=np.int64)
    until = np.full(size, -1, dtype=np.int64)
    if len(cue_ends):
        ends = np.minimum(cue_ends + window, next_stop[np.minimum(cue_ends, size - 1)])
        ok = cue_ends < size
        owner[cue_ends[ok]] = cue_starts[ok]
        until[cue_ends[ok]] = ends[ok]
    owner = np.maximum.accumulate(owner)
    until = np.maximum.accumulate(until)
    in_scope = np.arange(size) < until
    return in_scope, owner


@attrs.frozen(eq=False)
class FeatureBatch:
    """Feature occurrences of a batch of documents (parallel arrays).

    ``doc[k]`` is the document of occurrence ``k``; ``bucket``/``sign`` its
    hashed feature; ``value`` its value (already length-normalised);
    ``start``/``end`` its span in the document; ``kind`` a ``KIND_*`` number.
    """

    n_docs: int
    doc: npt.NDArray[np.int32]
    bucket: npt.NDArray[np.int32]
    value: npt.NDArray[np.float32]
    start: npt.NDArray[np.int32]
    end: npt.NDArray[np.int32]
    kind: npt.NDArray[np.int8]

    def margins(self, weights: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        """Per-document dot product with *weights* (no bias)."""
        contrib = weights[self.bucket].astype(np.float64) * self.value
        return np.bincount(self.doc, weights=contrib, minlength=self.n_docs).astype(np.float64)

    def order_by_doc(self) -> FeatureBatch:
        """Return a copy whose occurrences are sorted by document (stable)."""
        o = np.argsort(self.doc, kind="stable")
        return FeatureBatch(
            self.n_docs,
            self.doc[o],
            self.bucket[o],
            self.value[o],
            self.start[o],
            self.end[o],
            self.kind[o],
        )


class _Parts:
    """Accumulates occurrence arrays (joined-array positions) before mapping to documents."""

    def __init__(self, bits: int) -> None:
        self.bits = bits
        self.pos: list[I64] = []
        self.end: list[I64] = []
        self.hash: list[U64] = []
        self.salt: list[U64] = []
        self.kind: list[npt.NDArray[np.int8]] = []

    def add(self, start: I64, end: I64, hashes: U64, kind: int) -> None:
        """Add occurrences whose hashes are final."""
        self.add_raw(start, end, hashes, kind, None)

    def add_raw(self, start: I64, end: I64, raw: U64, kind: int, salt: int | None) -> None:
        """Add occurrences as raw n-gram chains to be :func:`salted` with *salt* at build time.

        ``salt=None`` means *raw* already holds final hashes.
        """
        self.pos.append(start)
        self.end.append(end)
        self.hash.append(raw)
        code = _NO_SALT if salt is None else _salt_code(salt)
        self.salt.append(np.full(len(start), code, dtype=np.uint64))
        self.kind.append(np.full(len(start), kind, dtype=np.int8))

    def build(self, starts: I64, n_docs: int, normalise: bool) -> FeatureBatch:
        if self.pos:
            pos = np.concatenate(self.pos)
            end = np.concatenate(self.end)
            hashes = np.concatenate(self.hash)
            salt = np.concatenate(self.salt)
            kind = np.concatenate(self.kind)
            todo = salt != _NO_SALT
            if todo.any():
                hashes[todo] = _mix(hashes[todo] ^ salt[todo])
        else:
            pos = end = np.zeros(0, dtype=np.int64)
            hashes = np.zeros(0, dtype=np.uint64)
            kind = np.zeros(0, dtype=np.int8)
        doc = (np.searchsorted(starts, pos, side="right") - 1).astype(np.int32)
        base = starts[doc] if len(doc) else np.zeros(0, dtype=np.int64)
        bucket, sign = bucket_and_sign(hashes, self.bits)
        if normalise:
            counts = np.bincount(doc, minlength=n_docs).astype(np.float32)
            scale = 1.0 / np.sqrt(np.maximum(counts, 1.0))
            value = (sign * scale[doc]).astype(np.float32)
        else:
            value = sign
        return FeatureBatch(
            n_docs,
            doc,
            bucket,
            value,
            (pos - base).astype(np.int32),
            (end - base).astype(np.int32),
            kind,
        )


def hashed_char_ngrams(
    texts: Sequence[str], ns: Sequence[int] = (1, 2, 3), bits: int = 18, salt: int = 0
) -> FeatureBatch:
    """Hashed character n-grams of *texts* (general purpose).

    Texts should already be normalised; n-grams never cross whitespace.
    Values are ±1 scaled by ``1/sqrt(occurrences in the document)``.
    """
    codes, starts = char_codes(texts)
    parts = _Parts(bits)
    for n in ns:
        h, valid = ngram_hashes(codes, n, salt * 1000 + KIND_NGRAM * 100 + n)
        pos = np.flatnonzero(valid)
        parts.add(pos, pos + n, h[pos], KIND_NGRAM)
    return parts.build(starts, len(texts), normalise=True)


def _hashed_ngrams(chains: list[tuple[U64, BoolArray]]) -> Callable[[int], tuple[I64, U64]]:
    """Return ``get(n)`` -> (positions, salt-0 hashes) of the valid n-grams, computed once per n.

    Salt 0 is the hash of :func:`string_hashes`, so lexicon and cue words match it.
    """
    cache: dict[int, tuple[I64, U64]] = {}

    def get(n: int) -> tuple[I64, U64]:
        hit = cache.get(n)
        if hit is None:
            raw, valid = chains[n - 1]
            pos = np.flatnonzero(valid)
            hit = (pos, salted(raw[pos], 0))
            cache[n] = hit
        return hit

    return get


# ---- plain-Python integer versions of the hash, for one short text (no numpy per call)

_M64 = 0xFFFFFFFFFFFFFFFF
_FNV_OFFSET_INT = 0xCBF29CE484222325
_FNV_PRIME_INT = 0x100000001B3
#: Characters that are :data:`BOUNDARY` in :func:`char_codes` (whitespace, and NUL itself).
_BOUNDARY_CHARS = frozenset(" \t\n\r\x0b\x0c\u3000\xa0\x00")
_STOP_CODES = frozenset(int(c) for c in _STOP_CHARS.tolist())
_INV1 = np.uint64(pow(0xBF58476D1CE4E5B9, -1, 1 << 64))
_INV2 = np.uint64(pow(0x94D049BB133111EB, -1, 1 << 64))
_S54, _S60, _S62 = np.uint64(54), np.uint64(60), np.uint64(62)


def _unmix(h: U64) -> U64:
    """Inverse of :func:`_mix` (the splitmix64 finaliser is a bijection of uint64)."""
    x = h.astype(np.uint64)
    x ^= (x >> _S31) ^ (x >> _S62)
    x *= _INV2
    x ^= (x >> _S27) ^ (x >> _S54)
    x *= _INV1
    x ^= (x >> _S30) ^ (x >> _S60)
    return x


def _salt_int(salt: int) -> int:
    return (salt * 0x9E3779B97F4A7C15) & _M64


def _mix_all(values: list[int]) -> list[int]:
    """:func:`_mix` of Python ints in ``[0, 2**64)`` (one loop; numpy is slower for a few)."""
    out: list[int] = []
    add = out.append
    for value in values:
        h = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        add(h ^ (h >> 31))
    return out


def _string_hash_int(s: str, salt: int) -> int:
    """:func:`string_hashes` of one string, as a Python int."""
    if not s:
        return 0
    h = _FNV_OFFSET_INT
    for ch in s:
        h = ((h ^ ord(ch)) * _FNV_PRIME_INT) & _M64
    return _mix_all([h ^ _salt_int(salt)])[0]


#: One feature occurrence of :meth:`FeatureBuilder.transform_one`:
#: ``(start, end, kind, bucket, sign)`` with sign ``1.0`` or ``-1.0``.
Occurrence = tuple[int, int, int, int, float]


@attrs.frozen(slots=True)
class _OneText:
    """What :meth:`FeatureBuilder.transform_one` looks up, as Python ints."""

    #: raw FNV chain -> (cue word and group hashes or None, lexicon bits: 1 positive, 2 negative)
    lookup: dict[int, tuple[tuple[int, int] | None, int]]
    cue_lengths: tuple[int, ...]
    salts: dict[tuple[int, int], int]
    sarcasm: dict[str, int]
    const: dict[str, int]


def _scope_one(
    text: str, codes: list[int], pattern: re.Pattern[str], group: int, window: int
) -> list[int] | None:
    """:func:`scope_mask` of one text: the governing cue's start per position, ``-1`` outside.

    ``None`` when *pattern* has no cue in *text*.
    """
    return _scope_walk(text, codes, _STOP_CODES, pattern=pattern, group=group, window=window)


def _scope_walk(
    text: str,
    units: Sequence[object],
    stops: frozenset[object],
    *,
    pattern: re.Pattern[str],
    group: int,
    window: int,
) -> list[int] | None:
    """Walk the scopes of *pattern*'s cues over *units* (the codes or the characters of *text*).

    A scope runs from the cue to the first unit in *stops*, at most *window*
    units on; each position belongs to the latest cue whose scope covers it.
    """
    spans = [m.span(group) for m in pattern.finditer(text) if m.start(group) >= 0]
    if not spans:
        return None
    size = len(units)
    owner = [-1] * size
    cur_owner = cur_until = -1
    k, n_spans = 0, len(spans)
    for i in range(spans[0][1], size):
        while k < n_spans and spans[k][1] <= i:
            s, e = spans[k]
            k += 1
            stop, limit = e, min(e + window, size)
            while stop < limit and units[stop] not in stops:
                stop += 1
            cur_owner = max(cur_owner, s)
            cur_until = max(cur_until, stop)
        if i < cur_until:
            owner[i] = cur_owner
    return owner


def _alternation(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=lambda w: (-len(w), w)))


@attrs.frozen(eq=False)
class FeatureBuilder:
    """The sentiment feature set, configured once and applied to batches.

    Parameters
    ----------
    bits:
        Hash space size is ``2**bits``.
    negators, negator_exceptions:
        Cue words opening a negation scope; words that merely start with a
        negator character (``别人``, ``不过``) and open none.
    negation_window:
        Characters after a negator that it governs (stops at punctuation).
    intensifiers, intensifier_window:
        Degree adverbs and the characters they govern.
    sarcasm:
        Sarcasm / exasperation cues.
    lexicon_pos, lexicon_neg:
        Hashes (:func:`string_hashes`, salt 0) of polar words.
    lexicon_max_len:
        Longest lexicon word looked up.
    cue_groups:
        Chat cue groups as ``(group, words)`` pairs (urging, complaint, …):
        each hit adds a feature of its word and one of its group, so a group
        weight generalises across its words.  A word belongs to one group and
        has at most ``max(3, lexicon_max_len)`` characters; hits are found by
        hash look-up of the n-grams, so overlapping hits all count.

    """

    bits: int
    negators: tuple[str, ...]
    negator_exceptions: tuple[str, ...]
    negation_window: int
    intensifiers: tuple[str, ...]
    intensifier_window: int
    sarcasm: tuple[str, ...]
    lexicon_pos: U64
    lexicon_neg: U64
    lexicon_max_len: int = 6
    cue_groups: tuple[tuple[str, tuple[str, ...]], ...] = ()
    _negator_re: re.Pattern[str] = attrs.field(init=False)
    _intens_re: re.Pattern[str] = attrs.field(init=False)
    _sarcasm_re: re.Pattern[str] = attrs.field(init=False)
    _cue_tables: tuple[U64, U64, U64, tuple[int, ...]] = attrs.field(init=False)
    _const: dict[str, np.uint64] = attrs.field(init=False)
    _filters: tuple[BoolArray, BoolArray] = attrs.field(init=False)
    _one: _OneText = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        exc = _alternation(self.negator_exceptions) or "(?!x)x"
        neg = _alternation(self.negators) or "(?!x)x"
        object.__setattr__(self, "_negator_re", re.compile(f"({exc})|({neg})"))
        intens = _alternation(self.intensifiers) or "(?!x)x"
        object.__setattr__(self, "_intens_re", re.compile(intens))
        sarc = _alternation(self.sarcasm) or "(?!x)x"
        object.__setattr__(self, "_sarcasm_re", re.compile(sarc))
        group_of: dict[str, str] = {}
        longest = max(3, self.lexicon_max_len)
        for group, words in self.cue_groups:
            for word in words:
                if not 1 <= len(word) <= longest:
                    raise ConfigError(
                        f"cue word {word!r} of group {group!r} must have 1 to {longest} characters"
                    )
                if group_of.setdefault(word, group) != group:
                    raise ConfigError(
                        f"cue word {word!r} is in groups {group_of[word]!r} and {group!r}; "
                        "a word belongs to one group"
                    )
        cue_words = sorted(group_of)
        match = string_hashes(cue_words)
        order = np.argsort(match, kind="stable")
        object.__setattr__(
            self,
            "_cue_tables",
            (
                match[order],
                string_hashes(cue_words, KIND_CUE)[order],
                string_hashes([f"<{group_of[w]}>" for w in cue_words], KIND_CUE)[order],
                tuple(sorted({len(w) for w in cue_words})),
            ),
        )
        names = [name for _, name in _PUNCTUATION_RULES]
        const = dict(zip(names, string_hashes(names, KIND_PUNCTUATION), strict=True))
        lex = ("pos", "neg", "pos-negated", "neg-negated")
        const.update(zip(lex, string_hashes(lex, KIND_LEXICON), strict=True))
        const["<sarcasm>"] = string_hashes(["<any>"], KIND_SARCASM)[0]
        object.__setattr__(self, "_const", const)
        object.__setattr__(
            self, "_filters", (_prefilter(self.lexicon_pos), _prefilter(self.lexicon_neg))
        )
        object.__setattr__(self, "_one", self._single_text_tables(cue_words, group_of))

    def _single_text_tables(self, cue_words: list[str], group_of: dict[str, str]) -> _OneText:
        """Build the look-up tables of :meth:`transform_one` (once, with the builder).

        Lexicon and cue tables hold salt-0 hashes, and the finaliser :func:`_mix` is
        a bijection of uint64, so a table of raw FNV chains (:func:`_unmix`) gives
        the same membership without finishing the hash of every n-gram.
        """
        table, word_hash, group_hash, _lengths = self._cue_tables
        lookup: dict[int, tuple[tuple[int, int] | None, int]] = {
            raw: (pair, 0)
            for raw, pair in zip(
                _unmix(table).tolist(),
                zip(word_hash.tolist(), group_hash.tolist(), strict=True),
                strict=True,
            )
        }
        for bit, hashes in ((1, self.lexicon_pos), (2, self.lexicon_neg)):
            for raw in _unmix(hashes).tolist():
                pair, bits = lookup.get(raw, (None, 0))
                lookup[raw] = (pair, bits | bit)
        salts = {
            (kind, n): _salt_int(kind * 100 + n)
            for kind in (KIND_NGRAM, KIND_NEGATION, KIND_INTENSIFIER, KIND_EDGE)
            for n in (1, 2, 3, 11, 12)
        }
        sarcasm = string_hashes(self.sarcasm, KIND_SARCASM).tolist()
        return _OneText(
            lookup=lookup,
            cue_lengths=tuple(sorted({len(w) for w in cue_words})),
            salts=salts,
            sarcasm=dict(zip(self.sarcasm, sarcasm, strict=True)),
            const={k: int(v) for k, v in self._const.items()},
        )

    def transform(
        self, texts: Sequence[str], emoticons: Sequence[Sequence[tuple[int, int, str]]] = ()
    ) -> FeatureBatch:
        """Return the feature occurrences of normalised *texts*.

        *emoticons*, when given, holds for each text the emoticon codes found
        in its **original** form as ``(start, end, code)``.
        """
        codes, starts = char_codes(texts)
        joined = "\x00" + "\x00".join(texts) + "\x00"
        size = len(codes)
        parts = _Parts(self.bits)
        next_stop = _next_stop(codes)
        chains = raw_ngrams(codes, max(3, self.lexicon_max_len))

        neg_s, neg_e = cue_spans(self._negator_re, joined, group=2)
        in_neg, neg_owner = scope_mask(size, neg_s, neg_e, self.negation_window, next_stop)
        int_s, int_e = cue_spans(self._intens_re, joined)
        in_int, int_owner = scope_mask(size, int_s, int_e, self.intensifier_window, next_stop)

        for n in (1, 2, 3):
            raw, valid = chains[n - 1]
            pos = np.flatnonzero(valid)
            negated = in_neg[pos]
            plain = pos[~negated]
            parts.add_raw(plain, plain + n, raw[plain], KIND_NGRAM, KIND_NGRAM * 100 + n)
            npos = pos[negated]
            parts.add_raw(
                neg_owner[npos], npos + n, raw[npos], KIND_NEGATION, KIND_NEGATION * 100 + n
            )
            if n <= 2:
                ipos = pos[in_int[pos]]
                parts.add_raw(
                    int_owner[ipos],
                    ipos + n,
                    raw[ipos],
                    KIND_INTENSIFIER,
                    KIND_INTENSIFIER * 100 + n,
                )
                self._edges(codes, raw, pos, n, parts)

        self._punctuation(joined, parts)
        self._sarcasm(joined, parts)
        hashed = _hashed_ngrams(chains)
        self._cues(hashed, parts)
        self._lexicon(hashed, in_neg, neg_owner, parts)
        self._emoticons(starts, emoticons, parts)
        return parts.build(starts, len(texts), normalise=True)

    def transform_one(
        self, text: str, emoticons: Sequence[tuple[int, int, str]] = ()
    ) -> list[Occurrence]:
        """Return the feature occurrences of one normalised *text*, in plain Python (no numpy).

        The same occurrences in the same order as :meth:`transform` gives for
        ``([text], [emoticons])``, as ``(start, end, kind, bucket, sign)``; the
        value of each is ``sign / sqrt(number of occurrences)`` in float32, as in
        :class:`FeatureBatch`.  For one short text this is several times faster
        than :meth:`transform`, whose cost for a single text is mostly numpy's
        fixed overhead per call (about 150 calls).
        """
        spans, hashes = self.hashes_one(text, emoticons)
        shift = 64 - self.bits
        return [
            (s, e, k, h >> shift, -1.0 if h & 1 else 1.0)
            for (s, e, k), h in zip(spans, hashes, strict=True)
        ]

    def hashes_one(
        self, text: str, emoticons: Sequence[tuple[int, int, str]] = ()
    ) -> tuple[list[tuple[int, int, int]], list[int]]:
        """Return :meth:`transform_one` as ``(start, end, kind)`` spans and their full hashes."""
        one = self._one
        size = len(text)
        codes = [0 if ch in _BOUNDARY_CHARS else ord(ch) for ch in text]
        # chains[n - 1][p]: raw FNV chain of text[p:p+n], or -1 where it has a boundary
        first = [((_FNV_OFFSET_INT ^ c) * _FNV_PRIME_INT) & _M64 if c else -1 for c in codes]
        chains = [first]
        for n in range(2, max(3, self.lexicon_max_len) + 1):
            chains.append(
                [
                    ((h ^ c) * _FNV_PRIME_INT) & _M64 if c and h >= 0 else -1
                    for h, c in zip(chains[-1], codes[n - 1 :], strict=False)
                ]
            )
        neg = _scope_one(text, codes, self._negator_re, 2, self.negation_window)
        intens = _scope_one(text, codes, self._intens_re, 0, self.intensifier_window)
        salts = one.salts
        # spans in the order of transform()'s parts; the n-grams' hashes finished in one go
        spans: list[tuple[int, int, int]] = []
        unmixed: list[int] = []

        def grams(kind: int, salt: int, n: int, where: list[int], start: list[int]) -> None:
            chain = chains[n - 1]
            unmixed.extend([chain[p] ^ salt for p in where])
            spans.extend(zip(start, [p + n for p in where], repeat(kind)))

        for n in (1, 2, 3):
            valid = [p for p, h in enumerate(chains[n - 1]) if h >= 0]
            plain = valid if neg is None else [p for p in valid if neg[p] < 0]
            grams(KIND_NGRAM, salts[KIND_NGRAM, n], n, plain, plain)
            if neg is not None:
                negated = [p for p in valid if neg[p] >= 0]
                grams(KIND_NEGATION, salts[KIND_NEGATION, n], n, negated, [neg[p] for p in negated])
            if n > 2:
                continue
            if intens is not None:
                inside = [p for p in valid if intens[p] >= 0]
                starts = [intens[p] for p in inside]
                grams(KIND_INTENSIFIER, salts[KIND_INTENSIFIER, n], n, inside, starts)
            at_end = [p for p in valid if p + n == size or not codes[p + n]]
            grams(KIND_EDGE, salts[KIND_EDGE, n], n, at_end, at_end)
            at_start = [p for p in valid if p == 0 or not codes[p - 1]]
            grams(KIND_EDGE, salts[KIND_EDGE, 10 + n], n, at_start, at_start)
        hashes = _mix_all(unmixed)

        out: list[tuple[int, int, int, int]] = []  # (start, end, kind, hash) of the rest
        const = one.const
        if any(c in text for c in "!?.…。"):
            for pattern, name in _PUNCTUATION_RULES:
                out.extend(
                    (m.start(), m.end(), KIND_PUNCTUATION, const[name])
                    for m in pattern.finditer(text)
                )
        sarcastic = [(m.start(), m.end(), m.group()) for m in self._sarcasm_re.finditer(text)]
        for s, e, word in sarcastic:
            h = one.sarcasm.get(word)
            out.append(
                (s, e, KIND_SARCASM, _string_hash_int(word, KIND_SARCASM) if h is None else h)
            )
        out.extend((s, e, KIND_SARCASM, const["<sarcasm>"]) for s, e, _ in sarcastic)
        self._lookups_one(chains, neg, out)
        out.extend(
            (s, e, KIND_EMOTICON, _string_hash_int(code, KIND_EMOTICON)) for s, e, code in emoticons
        )
        spans.extend((s, e, k) for s, e, k, _ in out)
        hashes.extend(h for *_, h in out)
        return spans, hashes

    def _lookups_one(
        self, chains: list[list[int]], neg: list[int] | None, out: list[tuple[int, int, int, int]]
    ) -> None:
        """Cue-group and lexicon hits of one text (:meth:`_cues`, then :meth:`_lexicon`)."""
        one = self._one
        get = one.lookup.get
        # hits[n]: (position, cue hashes or None, lexicon polarity bits) of the n-grams found
        hits = {
            n: [(p, *found) for p, raw in enumerate(chain) if (found := get(raw)) is not None]
            for n, chain in enumerate(chains, start=1)
        }
        for n in one.cue_lengths:
            cue = [(p, pair) for p, pair, _ in hits[n] if pair is not None]
            out.extend((p, p + n, KIND_CUE, pair[0]) for p, pair in cue)
            out.extend((p, p + n, KIND_CUE, pair[1]) for p, pair in cue)
        const = one.const
        tags = ((1, const["pos"], const["pos-negated"]), (2, const["neg"], const["neg-negated"]))
        for bit, tag, negated_tag in tags:
            for n in range(2, self.lexicon_max_len + 1):
                for p, _, bits in hits[n]:
                    if bits & bit:
                        if neg is not None and neg[p] >= 0:
                            out.append((neg[p], p + n, KIND_LEXICON, negated_tag))
                        else:
                            out.append((p, p + n, KIND_LEXICON, tag))

    @staticmethod
    def _edges(codes: U64, raw: U64, pos: I64, n: int, parts: _Parts) -> None:
        """First and last *n* characters of each whitespace-separated segment."""
        size = len(codes)
        boundary = codes == BOUNDARY
        at_end = pos[boundary[np.minimum(pos + n, size - 1)]]
        parts.add_raw(at_end, at_end + n, raw[at_end], KIND_EDGE, KIND_EDGE * 100 + n)
        at_start = pos[boundary[np.maximum(pos - 1, 0)]]
        parts.add_raw(at_start, at_start + n, raw[at_start], KIND_EDGE, KIND_EDGE * 100 + 10 + n)

    def _punctuation(self, joined: str, parts: _Parts) -> None:
        if not any(c in joined for c in "!?.…。"):
            return
        for pattern, name in _PUNCTUATION_RULES:
            s, e = cue_spans(pattern, joined)
            if len(s):
                parts.add(s, e, np.full(len(s), self._const[name], np.uint64), KIND_PUNCTUATION)

    def _sarcasm(self, joined: str, parts: _Parts) -> None:
        spans = [(m.start(), m.end(), m.group()) for m in self._sarcasm_re.finditer(joined)]
        if not spans:
            return
        s = np.array([x[0] for x in spans], dtype=np.int64)
        e = np.array([x[1] for x in spans], dtype=np.int64)
        words = [x[2] for x in spans]
        parts.add(s, e, string_hashes(words, KIND_SARCASM), KIND_SARCASM)
        any_cue = np.full(len(words), self._const["<sarcasm>"], dtype=np.uint64)
        parts.add(s, e, any_cue, KIND_SARCASM)

    def _cues(self, hashed: Callable[[int], tuple[I64, U64]], parts: _Parts) -> None:
        """Cue-group hits (all, overlapping allowed): a word feature and a group feature each."""
        table, word_hash, group_hash, lengths = self._cue_tables
        for n in lengths:
            pos, h = hashed(n)
            found = _member(h, table)
            if not found.any():
                continue
            hit = pos[found]
            k = np.searchsorted(table, h[found])
            parts.add(hit, hit + n, word_hash[k], KIND_CUE)
            parts.add(hit, hit + n, group_hash[k], KIND_CUE)

    def _lexicon(
        self,
        hashed: Callable[[int], tuple[I64, U64]],
        in_neg: BoolArray,
        neg_owner: I64,
        parts: _Parts,
    ) -> None:
        if not len(self.lexicon_pos) and not len(self.lexicon_neg):
            return
        c = self._const
        tags = (c["pos"], c["neg"], c["pos-negated"], c["neg-negated"])
        got = [(n, *hashed(n)) for n in range(2, self.lexicon_max_len + 1)]
        pos = np.concatenate([p for _, p, _ in got])
        length = np.concatenate([np.full(len(p), n, dtype=np.int64) for n, p, _ in got])
        hp = np.concatenate([h for _, _, h in got])
        for polarity, table in enumerate((self.lexicon_pos, self.lexicon_neg)):
            if not len(table):
                continue
            found = _member(hp, table, self._filters[polarity])
            hit = pos[found]
            if not len(hit):
                continue
            negated = in_neg[hit]
            start = np.where(negated, neg_owner[hit], hit)
            tag = np.where(negated, tags[polarity + 2], tags[polarity]).astype(np.uint64)
            parts.add(start, hit + length[found], tag, KIND_LEXICON)

    def _emoticons(
        self, starts: I64, emoticons: Sequence[Sequence[tuple[int, int, str]]], parts: _Parts
    ) -> None:
        rows = [(d, s, e, code) for d, emos in enumerate(emoticons) for s, e, code in emos]
        if not rows:
            return
        base = starts[np.array([r[0] for r in rows], dtype=np.int64)]
        s = base + np.array([r[1] for r in rows], dtype=np.int64)
        e = base + np.array([r[2] for r in rows], dtype=np.int64)
        parts.add(s, e, string_hashes([r[3] for r in rows], KIND_EMOTICON), KIND_EMOTICON)


_PUNCTUATION_RULES = tuple(
    (re.compile(pattern), name)
    for pattern, name in (
        (r"!{2}(?!!)", "!!"),
        (r"!{3,}", "!!!"),
        (r"\?{2}(?!\?)", "??"),
        (r"\?{3,}", "???"),
        (r"[?!]*(?:\?!|!\?)[?!]*", "?!"),
        (r"(?:\.{3,}|…+|。{2,})", "..."),
    )
)


_FILTER_BITS = 20


def _prefilter(table: U64) -> BoolArray:
    """Build a one-hash Bloom filter of *table* over the top bits of each hash."""
    out = np.zeros(1 << _FILTER_BITS, dtype=bool)
    out[(table >> np.uint64(64 - _FILTER_BITS)).astype(np.int64)] = True
    return out


def _member(values: U64, sorted_table: U64, prefilter: BoolArray | None = None) -> BoolArray:
    """``values[i] in sorted_table`` for each i (table sorted ascending).

    With a :func:`_prefilter` of the table, only the values that pass it are
    looked up exactly.
    """
    if prefilter is not None:
        maybe = np.flatnonzero(prefilter[(values >> np.uint64(64 - _FILTER_BITS)).astype(np.int64)])
        out = np.zeros(len(values), dtype=bool)
        out[maybe] = _member(values[maybe], sorted_table)
        return out
    idx = np.searchsorted(sorted_table, values)
    idx[idx == len(sorted_table)] = 0
    hit: BoolArray = sorted_table[idx] == values
    return hit


# ---- one text scored against one weight vector, with the n-gram weights compiled


#: Characters that close a negation or intensifier scope in a text (the codes of
#: :data:`_STOP_CHARS`, and the characters :func:`char_codes` makes :data:`BOUNDARY`).
_STOP_TEXT = frozenset(chr(c) for c in _STOP_CODES if c) | _BOUNDARY_CHARS


def _scope_text(text: str, pattern: re.Pattern[str], group: int, window: int) -> list[int] | None:
    """:func:`_scope_one` read from the characters of *text* (no code list)."""
    return _scope_walk(text, text, _STOP_TEXT, pattern=pattern, group=group, window=window)


class WeighedText:
    """:meth:`FeatureBuilder.hashes_one` joined with one weight vector, for one text at a time.

    Built once per model (it is model state, like the weights).  Each feature of
    a text becomes its *signed weight* (the weight of its bucket times its sign):
    the character n-grams of a fixed *vocabulary* are looked up by string in a
    table computed when this is built, any other n-gram is hashed as
    :meth:`~FeatureBuilder.hashes_one` hashes it, and the lexicon, cue and
    sarcasm words are tables by string too.  :meth:`weigh` returns the same
    features in the same order as :meth:`~FeatureBuilder.hashes_one`, so the
    score and the evidence are the batch path's to the last bit.
    """

    __slots__ = (
        "_builder",
        "_consts",
        "_cue_lengths",
        "_edge_end",
        "_edge_start",
        "_gram",
        "_intens_first",
        "_lex_lengths",
        "_lexicon",
        "_neg_first",
        "_negated_tags",
        "_negation",
        "_plain_keys",
        "_prefix",
        "_salts",
        "_sarcasm",
        "_sarcasm_first",
        "_shift",
        "_single",
        "_tags",
        "_weight_of",
        "_weights",
    )

    def __init__(
        self,
        builder: FeatureBuilder,
        weights: npt.NDArray[np.float32],
        vocabulary: Iterable[str] = (),
    ) -> None:
        self._builder = builder
        self._shift = 64 - builder.bits
        self._weights = weights
        self._weight_of = weights.data.cast("B").cast("f").__getitem__
        one = builder._one
        self._salts = one.salts
        by_length: dict[int, list[str]] = {1: [], 2: [], 3: []}
        for gram in dict.fromkeys(vocabulary):
            if 1 <= len(gram) <= 3 and _BOUNDARY_CHARS.isdisjoint(gram):
                by_length[len(gram)].append(gram)
        self._gram: dict[str, float] = {}
        self._negation: dict[str, float] = {}
        self._edge_end: dict[str, float] = {}
        self._edge_start: dict[str, float] = {}
        for n, grams in by_length.items():
            self._gram.update(self._table(grams, KIND_NGRAM * 100 + n))
            if n <= 2:
                self._negation.update(self._table(grams, KIND_NEGATION * 100 + n))
                self._edge_end.update(self._table(grams, KIND_EDGE * 100 + n))
                self._edge_start.update(self._table(grams, KIND_EDGE * 100 + 10 + n))
        # cue words (a word feature and a group feature each) and, by add_lexicon, lexicon words
        table, word_hash, group_hash, _ = builder._cue_tables
        raw_cue = dict(
            zip(
                _unmix(table).tolist(),
                zip(word_hash.tolist(), group_hash.tolist(), strict=True),
                strict=True,
            )
        )
        self._lexicon: dict[str, tuple[tuple[float, float] | None, int]] = {}
        for _group, words in builder.cue_groups:
            for word in words:
                if _BOUNDARY_CHARS.isdisjoint(word):  # else never a valid n-gram
                    w_hash, g_hash = raw_cue[_string_raw(word)]
                    self._lexicon[word] = ((self._final(w_hash), self._final(g_hash)), 0)
        self._cue_lengths = one.cue_lengths
        self._lex_lengths = tuple(range(2, builder.lexicon_max_len + 1))
        self._index_words()
        self._sarcasm = {w: self._final(h) for w, h in one.sarcasm.items()}
        c = one.const
        self._consts = {k: self._final(v) for k, v in c.items()}
        self._tags = (self._final(c["pos"]), self._final(c["neg"]))
        self._negated_tags = (self._final(c["pos-negated"]), self._final(c["neg-negated"]))
        self._plain_keys = tuple(_plain_keys(size) for size in range(_PLAIN_MAX + 1))
        self._neg_first = frozenset(w[0] for w in builder.negators if w)
        self._intens_first = frozenset(w[0] for w in builder.intensifiers if w)
        self._sarcasm_first = frozenset(w[0] for w in builder.sarcasm if w)

    def _index_words(self) -> None:
        """Index the word table: one-character words, and the first two characters of the rest."""
        self._single = frozenset(w for w in self._lexicon if len(w) == 1)
        lengths: dict[str, set[int]] = {}
        for w in self._lexicon:
            if len(w) >= 2:
                lengths.setdefault(w[:2], set()).add(len(w))
        self._prefix = {pair: tuple(sorted(ns)) for pair, ns in lengths.items()}

    def add_lexicon(self, words: Iterable[str]) -> bool:
        """Enter the lexicon *words* found in the builder's tables; True when every entry is known.

        The builder keeps its lexicon as hashes; words whose hash is in a table are
        entered by string.  When the words account for every hash of both tables,
        a look-up by string finds what the hashed look-up finds.
        """
        raw_bits: dict[int, int] = {}
        for bit, hashes in ((1, self._builder.lexicon_pos), (2, self._builder.lexicon_neg)):
            for raw in _unmix(hashes).tolist():
                raw_bits[raw] = raw_bits.get(raw, 0) | bit
        longest = self._builder.lexicon_max_len
        candidates = [w for w in dict.fromkeys(words) if 2 <= len(w) <= longest]
        known: set[int] = set()
        for word, raw in zip(candidates, _raw_chains(candidates), strict=True):
            bits = raw_bits.get(raw, 0)
            if bits and _BOUNDARY_CHARS.isdisjoint(word):
                pair, _ = self._lexicon.get(word, (None, 0))
                self._lexicon[word] = (pair, bits)
                known.add(raw)
        self._index_words()
        return len(known) == len(raw_bits)

    def _table(self, grams: list[str], salt: int) -> dict[str, float]:
        """Signed weights of *grams* (all of one length) in feature space *salt*, vectorised."""
        if not grams:
            return {}
        hashes = salted(np.array(_raw_chains(grams), dtype=np.uint64), salt)
        bucket, sign = bucket_and_sign(hashes, self._builder.bits)
        w = self._weights[bucket].astype(np.float64)
        signed = np.where(sign < 0, -w, w)
        return dict(zip(grams, signed.tolist(), strict=True))

    def _final(self, h: int) -> float:
        """Signed weight of a finished hash."""
        w = self._weight_of(h >> self._shift)
        return -w if h & 1 else w

    def _signed(self, unmixed: int) -> float:
        """Signed weight of a salted FNV chain (finished here, as :func:`_mix_all` does)."""
        h = ((unmixed ^ (unmixed >> 30)) * 0xBF58476D1CE4E5B9) & _M64
        h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & _M64
        h ^= h >> 31
        w = self._weight_of(h >> self._shift)
        return -w if h & 1 else w

    def _look_up(
        self, get: Callable[[str], float | None], grams: list[str], salt: int
    ) -> list[float]:
        """Signed weights of *grams* in feature space *salt*: from a table, else hashed."""
        found = list(map(get, grams))
        if None not in found:
            return found  # type: ignore[return-value]  # no None
        hashed = iter(
            self._hashed([g for g, w in zip(grams, found, strict=True) if w is None], salt)
        )
        return [next(hashed) if w is None else w for w in found]

    def _hashed(self, grams: Iterable[str], salt: int) -> list[float]:
        """Signed weights of *grams* in feature space *salt*, hashed one by one.

        :func:`_string_raw`, the salt and :func:`_mix_all` written out in two loops
        (this runs for every n-gram outside the tables).
        """
        raws = []
        for gram in grams:
            h = _FNV_OFFSET_INT
            for ch in gram:
                h = ((h ^ ord(ch)) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
            raws.append(h ^ salt)
        weight_of, shift = self._weight_of, self._shift
        out = []
        for raw in raws:
            h = ((raw ^ (raw >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
            h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
            h ^= h >> 31
            w = weight_of(h >> shift)
            out.append(-w if h & 1 else w)
        return out

    def weigh(
        self, text: str, emoticons: Sequence[tuple[int, int, str]] = ()
    ) -> tuple[list[tuple[int, int, str]], list[float]]:
        """Return the features of one normalised *text* as evidence keys and signed weights.

        A key is ``(start, end, kind name)``; the features and their order are
        :meth:`FeatureBuilder.hashes_one`'s.
        """
        b = self._builder
        size = len(text)
        whole = _BOUNDARY_CHARS.isdisjoint(text)
        if whole:
            segments = [(0, text)]
        else:
            segments = [(m.start(), m.group()) for m in _SEGMENT_RE.finditer(text)]
        neg = intens = None
        if not self._neg_first.isdisjoint(text):
            neg = _scope_text(text, b._negator_re, 2, b.negation_window)
        if not self._intens_first.isdisjoint(text):
            intens = _scope_text(text, b._intens_re, 0, b.intensifier_window)
        if whole and neg is None and intens is None and 0 < size < len(self._plain_keys):
            keys, weights = self._plain(text)
        else:
            keys, weights = self._grams(text, segments, neg, intens)
        if "!" in text or "?" in text or "." in text or "…" in text or "。" in text:
            consts = self._consts
            for pattern, name in _PUNCTUATION_RULES:
                for m in pattern.finditer(text):
                    keys.append((m.start(), m.end(), "punctuation"))
                    weights.append(consts[name])
        if not self._sarcasm_first.isdisjoint(text):
            self._sarcastic(text, keys, weights)
        self._words(text, neg, keys, weights)
        for s, e, code in emoticons:
            keys.append((s, e, "emoticon"))
            weights.append(self._final(_string_hash_int(code, KIND_EMOTICON)))
        return keys, weights

    def _plain(self, text: str) -> tuple[list[tuple[int, int, str]], list[float]]:
        """Return the n-gram features of a one-segment text outside any negation or intensifier."""
        salts, look_up, one = self._salts, self._look_up, self._one_gram
        gram, end, start = self._gram.get, self._edge_end.get, self._edge_start.get
        weights = look_up(gram, list(text), salts[KIND_NGRAM, 1])
        weights.append(one(end, text[-1], salts[KIND_EDGE, 1]))
        weights.append(one(start, text[0], salts[KIND_EDGE, 11]))
        if len(text) >= 2:
            pairs = list(map(add, text, text[1:]))
            weights += look_up(gram, pairs, salts[KIND_NGRAM, 2])
            weights.append(one(end, text[-2:], salts[KIND_EDGE, 2]))
            weights.append(one(start, text[:2], salts[KIND_EDGE, 12]))
            if len(text) >= 3:
                weights += look_up(gram, list(map(add, pairs, text[2:])), salts[KIND_NGRAM, 3])
        return list(self._plain_keys[len(text)]), weights

    def _one_gram(self, get: Callable[[str], float | None], gram: str, salt: int) -> float:
        """Signed weight of one n-gram in feature space *salt*: from a table, else hashed."""
        w = get(gram)
        return self._signed(_string_raw(gram) ^ salt) if w is None else w

    def _grams(
        self,
        text: str,
        segments: list[tuple[int, str]],
        neg: list[int] | None,
        intens: list[int] | None,
    ) -> tuple[list[tuple[int, int, str]], list[float]]:
        """Return the n-gram features (plain, negated, intensified, edges) of any text."""
        salts = self._salts
        keys: list[tuple[int, int, str]] = []
        weights: list[float] = []
        gram_get = self._gram.get
        grams: list[str] = []
        for n in (1, 2, 3):
            # the valid n-grams (within a segment) and where they start
            pos: list[int] = []
            if n == 1:
                if len(segments) == 1 and len(segments[0][1]) == len(text):
                    grams, pos = list(text), list(range(len(text)))
                else:
                    grams = []
                    for o, seg in segments:
                        grams += seg
                        pos += range(o, o + len(seg))
            else:
                grams = []
                for o, seg in segments:
                    if len(seg) >= n:
                        part = list(map(add, seg, seg[1:]))
                        if n == 3:
                            part = list(map(add, part, seg[2:]))
                        grams += part
                        pos += range(o, o + len(seg) - n + 1)
            if not pos:
                continue
            if neg is None:
                plain, plain_grams = pos, grams
            else:
                plain = [p for p in pos if neg[p] < 0]
                plain_grams = [g for p, g in zip(pos, grams, strict=True) if neg[p] < 0]
            weights += self._look_up(gram_get, plain_grams, salts[KIND_NGRAM, n])
            keys += zip(plain, map(add, plain, repeat(n)), repeat("ngram"))
            if neg is not None:
                negated = [(p, g) for p, g in zip(pos, grams, strict=True) if neg[p] >= 0]
                if negated:
                    weights += self._look_up(
                        self._negation.get, [g for _, g in negated], salts[KIND_NEGATION, n]
                    )
                    keys += [(neg[p], p + n, "negation") for p, _ in negated]
            if n > 2:
                continue
            if intens is not None:
                inside = [(p, g) for p, g in zip(pos, grams, strict=True) if intens[p] >= 0]
                if inside:
                    weights += self._hashed([g for _, g in inside], salts[KIND_INTENSIFIER, n])
                    keys += [(intens[p], p + n, "intensifier") for p, _ in inside]
            fit = [(o, seg) for o, seg in segments if len(seg) >= n]
            ends = [(o + len(seg) - n, seg[-n:]) for o, seg in fit]
            starts = [(o, seg[:n]) for o, seg in fit]
            weights += self._look_up(self._edge_end.get, [g for _, g in ends], salts[KIND_EDGE, n])
            keys += [(p, p + n, "ngram") for p, _ in ends]
            weights += self._look_up(
                self._edge_start.get, [g for _, g in starts], salts[KIND_EDGE, 10 + n]
            )
            keys += [(p, p + n, "ngram") for p, _ in starts]
        return keys, weights

    def _sarcastic(self, text: str, keys: list[tuple[int, int, str]], weights: list[float]) -> None:
        """Sarcasm cues: a feature of the word, then one of any cue, per hit."""
        hits = [(m.start(), m.end(), m.group()) for m in self._builder._sarcasm_re.finditer(text)]
        for s, e, word in hits:
            w = self._sarcasm.get(word)
            keys.append((s, e, "sarcasm"))
            weights.append(self._final(_string_hash_int(word, KIND_SARCASM)) if w is None else w)
        any_cue = self._consts["<sarcasm>"]
        for s, e, _ in hits:
            keys.append((s, e, "sarcasm"))
            weights.append(any_cue)

    def _words(
        self,
        text: str,
        neg: list[int] | None,
        keys: list[tuple[int, int, str]],
        weights: list[float],
    ) -> None:
        """Cue-group and lexicon hits, as :meth:`FeatureBuilder._lookups_one` orders them."""
        get = self._lexicon.get
        hits: dict[int, list[tuple[int, tuple[tuple[float, float] | None, int]]]] = {}
        single = self._single
        if single and not single.isdisjoint(text):
            hits[1] = [(p, get(ch)) for p, ch in enumerate(text) if ch in single]  # type: ignore[misc]
        found = list(map(self._prefix.get, map(add, text, text[1:])))
        if found.count(None) < len(found):
            size = len(text)
            for p, lengths in enumerate(found):
                if lengths is not None:
                    for n in lengths:
                        if p + n > size:
                            break
                        entry = get(text[p : p + n])
                        if entry is not None:
                            hits.setdefault(n, []).append((p, entry))
        if not hits:
            return
        for n in self._cue_lengths:
            cue = [(p, pair) for p, (pair, _) in hits.get(n, ()) if pair is not None]
            for p, pair in cue:
                keys.append((p, p + n, "cue"))
                weights.append(pair[0])
            for p, pair in cue:
                keys.append((p, p + n, "cue"))
                weights.append(pair[1])
        for k in (0, 1):
            bit, tag, negated_tag = k + 1, self._tags[k], self._negated_tags[k]
            for n in self._lex_lengths:
                for p, (_, bits) in hits.get(n, ()):
                    if bits & bit:
                        if neg is not None and neg[p] >= 0:
                            keys.append((neg[p], p + n, "lexicon"))
                            weights.append(negated_tag)
                        else:
                            keys.append((p, p + n, "lexicon"))
                            weights.append(tag)


#: Longest text whose n-gram keys :class:`WeighedText` keeps ready (:func:`_plain_keys`).
_PLAIN_MAX = 64


def _plain_keys(size: int) -> tuple[tuple[int, int, str], ...]:
    """Evidence keys of the n-gram features of a text of *size* characters in one segment."""
    keys: list[tuple[int, int, str]] = []
    for n in (1, 2, 3):
        if size < n:
            break
        keys += [(p, p + n, "ngram") for p in range(size - n + 1)]
        if n <= 2:
            keys += [(size - n, size, "ngram"), (0, n, "ngram")]
    return tuple(keys)


#: Runs of characters between :data:`BOUNDARY` characters: the segments n-grams stay in.
_SEGMENT_RE = re.compile("[^" + re.escape("".join(sorted(_BOUNDARY_CHARS))) + "]+")


def _raw_chains(strings: Sequence[str]) -> list[int]:
    """:func:`_string_raw` of each string (vectorised by length)."""
    out = [0] * len(strings)
    by_length: dict[int, list[int]] = {}
    for i, s in enumerate(strings):
        by_length.setdefault(len(s), []).append(i)
    for n, idx in by_length.items():
        joined = "".join(strings[i] for i in idx)
        codes = np.frombuffer(_utf32(joined), dtype=np.uint32).astype(np.uint64)
        codes = codes.reshape(len(idx), n)
        raw = np.full(len(idx), _FNV_OFFSET, dtype=np.uint64)
        for k in range(n):
            raw ^= codes[:, k]
            raw *= _FNV_PRIME
        for i, h in zip(idx, raw.tolist(), strict=True):
            out[i] = h
    return out


def _string_raw(s: str) -> int:
    """Return the raw FNV-1a chain of *s* (unsalted, unmixed) as a Python int."""
    h = _FNV_OFFSET_INT
    for ch in s:
        h = ((h ^ ord(ch)) * _FNV_PRIME_INT) & _M64
    return h
