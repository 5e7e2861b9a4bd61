"""A dependency-free progress line on stderr for long CLI runs."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TextIO, TypeVar

__all__ = ["Progress"]

T = TypeVar("T")


class Progress:
    """Count items passing through :meth:`wrap` and redraw one status line.

    Draws only when *enabled* (the CLI enables it when stderr is a terminal, or
    with ``--progress``), at most every *interval* seconds, and finishes the line
    on :meth:`close`.  It never writes to stdout, so piped output stays clean.
    """

    def __init__(
        self,
        label: str = "conversations",
        *,
        enabled: bool = True,
        stream: TextIO | None = None,
        interval: float = 0.2,
    ) -> None:
        self.label = label
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval
        self.count = 0
        self.messages = 0
        self._start = time.perf_counter()
        self._last = 0.0

    def wrap(self, items: Iterable[T], *, size: object = None) -> Iterator[T]:
        """Yield *items* unchanged, counting them (and their ``len()`` as messages)."""
        for item in items:
            self.count += 1
            if size is None:
                with contextlib.suppress(TypeError):
                    self.messages += len(item)  # type: ignore[arg-type]
            self._maybe_draw()
            yield item

    def _maybe_draw(self, *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        elapsed = max(now - self._start, 1e-9)
        rate = self.messages / elapsed
        line = f"\r{self.count:,} {self.label}, {self.messages:,} messages, {rate:,.0f} msg/s"
        self.stream.write(line)
        self.stream.flush()

    def close(self) -> None:
        """Draw the final counts and end the line."""
        if self.enabled and self.count:
            self._maybe_draw(force=True)
            self.stream.write("\n")
            self.stream.flush()
