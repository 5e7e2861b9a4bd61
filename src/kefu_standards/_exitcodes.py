"""The exit codes of the ``kefu-standards`` command and its subcommands (one definition).

They sit below :mod:`kefu_standards.cli` so that the subcommand modules
(``_sentiment_cli``, ``_politeness_cli``) can use them while ``cli`` imports
those modules: imports stay one-way.
"""

from __future__ import annotations

__all__ = ["EXIT_INPUT", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_SKIPPED", "EXIT_USAGE"]

EXIT_OK = 0
EXIT_SKIPPED = 1
EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_INTERRUPTED = 130
