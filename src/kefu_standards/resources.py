"""Package data (lexicons, weights, examples), read lazily through ``importlib.resources``.

Nothing here runs at import time.  Each loader is cached, thread-safe, and
returns immutable values, so every caller shares one copy.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from functools import wraps
from importlib import resources
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from .exceptions import ModelFileError

if TYPE_CHECKING:
    import sys

    if sys.version_info >= (3, 11):
        from importlib.resources.abc import Traversable
    else:
        from importlib.abc import Traversable

__all__ = ["LexiconEntry", "data_file", "lazy", "load_npz", "load_tsv", "read_text"]

T = TypeVar("T")

_PACKAGE = "kefu_standards.data"


def lazy(fn: Callable[[], T]) -> Callable[[], T]:
    """Decorate a zero-argument loader: run it once, on first call, under a lock."""
    lock = threading.Lock()
    box: list[T] = []

    @wraps(fn)
    def wrapper() -> T:
        if not box:
            with lock:
                if not box:
                    box.append(fn())
        return box[0]

    wrapper.loaded = lambda: bool(box)  # type: ignore[attr-defined]
    return wrapper


def data_file(name: str) -> Traversable:
    """Return the packaged data file *name* (e.g. ``"lexicons/polite.tsv"``)."""
    ref = resources.files(_PACKAGE)
    for part in name.split("/"):
        ref = ref.joinpath(part)
    if not ref.is_file():
        raise ModelFileError(f"package data file {name!r} is missing from kefu_standards/data")
    return ref


def read_text(name: str) -> str:
    """Return the text of packaged data file *name* (UTF-8)."""
    return str(data_file(name).read_text(encoding="utf-8"))


@attrs.frozen(slots=True)
class LexiconEntry:
    """One row of a TSV lexicon: the phrase and its remaining columns."""

    phrase: str
    fields: tuple[str, ...]
    line: int


def parse_tsv(text: str, source: str) -> tuple[LexiconEntry, ...]:
    """Parse lexicon TSV: ``#`` lines are comments (source, licence), blank lines skipped."""
    out = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        phrase, *rest = line.split("\t")
        phrase = phrase.strip()
        if not phrase:
            raise ModelFileError(f"{source}, line {n}: empty phrase in lexicon row {raw!r}")
        out.append(LexiconEntry(phrase, tuple(f.strip() for f in rest), n))
    return tuple(out)


def load_tsv(name: str) -> tuple[LexiconEntry, ...]:
    """Return the rows of the packaged TSV file *name* (cached)."""
    return _load_tsv_cached(name)


_tsv_cache: dict[str, tuple[LexiconEntry, ...]] = {}
_tsv_lock = threading.Lock()


def _load_tsv_cached(name: str) -> tuple[LexiconEntry, ...]:
    hit = _tsv_cache.get(name)
    if hit is None:
        with _tsv_lock:
            hit = _tsv_cache.get(name)
            if hit is None:
                hit = parse_tsv(read_text(name), f"kefu_standards/data/{name}")
                _tsv_cache[name] = hit
    return hit


def load_npz(name: str) -> dict[str, Any]:
    """Load a packaged ``.npz`` file without pickle; returns a dict of arrays."""
    import numpy as np

    raw = data_file(name).read_bytes()
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (ValueError, OSError) as exc:
        raise ModelFileError(f"kefu_standards/data/{name}: not a valid .npz file ({exc})") from exc
