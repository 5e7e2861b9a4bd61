"""A multi-phrase matcher: many literal phrases, one trie automaton, one left-to-right pass.

:class:`PhraseMatcher` is built once from ``(phrase, payload)`` entries and then
finds, in one pass over the text, either

- the **leftmost-longest, non-overlapping** matches (what a reader would
  underline: ``不用谢`` rather than ``谢``), optionally vetted by an ``accept``
  callback (context rules) that may reject a match or replace its payload, or
- **all** matches, overlapping ones included (``不用谢`` *and* ``谢``).

The phrases are stored in a character trie (nested dicts).  At each text
position the scan follows at most one trie edge per character, so the cost is
``O(len(text) * longest_phrase)`` — linear in the text, and independent of how
many thousands of phrases there are.  The root lookup of every position runs in C
(``map(root.get, text)``), so a position where no phrase starts costs one step of
the loop.  (A trie walk in plain Python measured about three times faster than one
compiled trie-shaped regular expression for chat-length messages, because ``re``
tries the alternatives of a branch one after the other; for the politeness lexicon
and jddc agent replies, session 7: the trie-shaped pattern's ``finditer`` alone
takes 2.9 µs per message with its top branch ordered by character frequency, the
walk returning tuples 3.7 µs, and a ``re`` character-class prefilter of the
first characters made the walk slower, 3.6 µs against 3.3 µs, because a third of
the positions can start a phrase.)

:meth:`PhraseMatcher.spans` returns plain ``(start, end, phrase, payload)`` tuples
for callers that build their own objects from each hit (politeness's evidence);
:meth:`PhraseMatcher.find` wraps the same spans in :class:`Match`.

The matcher knows nothing about Chinese or politeness: callers normalise the text
(and the phrases) themselves and interpret the payloads.  Offsets are offsets into
the string passed to :meth:`PhraseMatcher.find`.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable
from itertools import starmap
from typing import Any, Generic, TypeVar

import attrs

from .exceptions import ConfigError

__all__ = ["Match", "PhraseMatcher"]

P = TypeVar("P")

# A trie node is a dict: one key per next character, plus _END -> phrase when a phrase ends here.
_END = ""  # never a character of a phrase (phrases are non-empty, keys are single characters)
_Node = dict[str, Any]


@attrs.frozen(slots=True, init=False)
class Match(Generic[P]):
    """One occurrence of a phrase: ``text[start:end] == phrase``, with its payload."""

    start: int
    end: int
    phrase: str
    payload: P

    def __init__(self, start: int, end: int, phrase: str, payload: P) -> None:
        """Build the match: what attrs would generate (no validators), written out."""
        _set_start(self, start)
        _set_end(self, end)
        _set_phrase(self, phrase)
        _set_payload(self, payload)


# the slots' own setters (what attrs' generated __init__ reaches through object.__setattr__)
_slot = vars(Match)
_set_start: Any = _slot["start"].__set__
_set_end: Any = _slot["end"].__set__
_set_phrase: Any = _slot["phrase"].__set__
_set_payload: Any = _slot["payload"].__set__
del _slot

#: One match as a plain tuple ``(start, end, phrase, payload)``: what :meth:`PhraseMatcher.spans`
#: returns for callers that read the fields once and build objects of their own.
Span = tuple[int, int, str, P]


class PhraseMatcher(Generic[P]):
    """Find many literal phrases at once; each phrase carries a payload.

    Parameters
    ----------
    entries:
        ``(phrase, payload)`` pairs.  A phrase given twice keeps the **last**
        payload, so later entries override earlier ones (a user lexicon over a
        built-in one).  Empty phrases are rejected.

    Examples
    --------
    >>> m = PhraseMatcher([("谢谢", "thanks"), ("不用谢", "reply"), ("谢", "thanks")])
    >>> [(x.start, x.end, x.payload) for x in m.find("不用谢谢谢")]
    [(0, 3, 'reply'), (3, 5, 'thanks')]
    >>> [(x.start, x.phrase) for x in m.find("不用谢", overlapping=True)]
    [(0, '不用谢'), (2, '谢')]

    """

    __slots__ = ("_longest", "_payloads", "_root")

    def __init__(self, entries: Iterable[tuple[str, P]]) -> None:
        payloads: dict[str, P] = {}
        for phrase, payload in entries:
            if not isinstance(phrase, str) or not phrase:
                msg = f"PhraseMatcher phrases must be non-empty strings, got {phrase!r}"
                raise ConfigError(msg)
            payloads[phrase] = payload
        root: _Node = {}
        for phrase in payloads:
            node = root
            for ch in phrase:
                node = node.setdefault(ch, {})
            node[_END] = phrase
        self._payloads = payloads
        self._root = root
        self._longest = max((len(p) for p in payloads), default=0)

    def __len__(self) -> int:
        return len(self._payloads)

    def __contains__(self, phrase: object) -> bool:
        return phrase in self._payloads

    def __repr__(self) -> str:
        return f"<PhraseMatcher of {len(self._payloads)} phrases>"

    @property
    def max_phrase_length(self) -> int:
        """Length of the longest phrase (0 when empty)."""
        return self._longest

    def payload(self, phrase: str) -> P:
        """Return the payload of *phrase* (``KeyError`` if it is not a phrase)."""
        return self._payloads[phrase]

    def _ends_at(self, text: str, i: int) -> list[str]:
        """Every phrase that starts at *i*, shortest first."""
        node: _Node | None = self._root.get(text[i])
        found: list[str] = []
        j = i + 1
        n = len(text)
        while node is not None:
            phrase = node.get(_END)
            if phrase is not None:
                found.append(phrase)
            if j >= n:
                break
            node = node.get(text[j])
            j += 1
        return found

    def find(
        self,
        text: str,
        *,
        overlapping: bool = False,
        accept: Callable[[int, int, P], P | None] | None = None,
    ) -> list[Match[P]]:
        """Return the matches in *text*, ordered by start (then by end).

        With ``overlapping=False`` (default) the matches are leftmost-longest and
        do not overlap.  With ``overlapping=True`` every occurrence of every
        phrase is returned, including phrases inside longer ones.

        *accept* (non-overlapping mode only) vets each candidate
        ``accept(start, end, payload)``: it returns the payload to keep (possibly
        a new one) or ``None`` to reject the match.  A rejected match does not
        hide what is inside it: the next-longest phrase at the same start is
        tried, then the scan goes on from the next character.  So the result is
        the leftmost-longest matches *among the accepted ones*.
        """
        if overlapping:
            if accept is not None:
                msg = "PhraseMatcher.find: accept= works only with overlapping=False"
                raise ConfigError(msg)
            return self._find_overlapping(text)
        return list(starmap(Match, self.spans(text, accept=accept)))

    def spans(
        self,
        text: str,
        *,
        accept: Callable[[int, int, P], P | None] | None = None,
        vetted: Container[str] | None = None,
    ) -> list[Span[P]]:
        """Return what ``find(text, accept=accept)`` returns, as ``(start, end, phrase, payload)``.

        The same leftmost-longest scan without a :class:`Match` per hit, for callers
        that turn each hit into an object of their own (politeness's evidence).
        With *vetted*, *accept* is called only for the phrases in it: the caller
        states that *accept* keeps every other phrase's payload as it is, so the
        result is the same as with ``vetted=None``, without those calls.
        """
        payloads = self._payloads
        out: list[Span[P]] = []
        n = len(text)
        resume = 0  # where the scan goes on after the last match
        # the root lookup of every position runs in C (map); the loop skips the
        # positions where no phrase starts and those inside the last match
        for i, first in enumerate(map(self._root.get, text)):
            if first is None or i < resume:
                continue
            # walk as far as the trie goes, remembering the longest phrase ending on the way
            node = first
            best = first.get(_END)
            best_end = j = i + 1
            while j < n:
                node = node.get(text[j])
                if node is None:
                    break
                j += 1
                phrase = node.get(_END)
                if phrase is not None:
                    best, best_end = phrase, j
            if best is None:
                continue
            if accept is None or (vetted is not None and best not in vetted):
                out.append((i, best_end, best, payloads[best]))
                resume = best_end
                continue
            kept = accept(i, best_end, payloads[best])
            if kept is not None:  # the longest phrase is accepted (the usual case)
                out.append((i, best_end, best, kept))
                resume = best_end
                continue
            found = self._shorter_accepted(text, i, best, accept, vetted)
            if found is not None:
                out.append(found)
                resume = found[1]
        return out

    def _shorter_accepted(
        self,
        text: str,
        start: int,
        longest: str,
        accept: Callable[[int, int, P], P | None],
        vetted: Container[str] | None,
    ) -> Span[P] | None:
        """Return the longest accepted phrase starting at *start* shorter than *longest*."""
        payloads = self._payloads
        for phrase in reversed(self._ends_at(text, start)):
            if len(phrase) >= len(longest):
                continue
            end = start + len(phrase)
            if vetted is not None and phrase not in vetted:
                return (start, end, phrase, payloads[phrase])
            kept = accept(start, end, payloads[phrase])
            if kept is not None:
                return (start, end, phrase, kept)
        return None

    def _find_overlapping(self, text: str) -> list[Match[P]]:
        payloads = self._payloads
        out: list[Match[P]] = []
        for i in range(len(text)):
            for phrase in self._ends_at(text, i):
                out.append(Match(i, i + len(phrase), phrase, payloads[phrase]))
        return out
