"""What the ``kefu-standards`` command and its subcommands share: exit codes, redaction.

It sits below :mod:`kefu_standards.cli` so that the subcommand modules
(``_sentiment_cli``, ``_politeness_cli``) can use it while ``cli`` imports
those modules: imports stay one-way.
"""

from __future__ import annotations

import hashlib
import os

from .redact import RedactionPolicy

__all__ = [
    "EXIT_INPUT",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_SKIPPED",
    "EXIT_USAGE",
    "PSEUDONYM_KEY_ENV",
    "redaction_policy",
]

EXIT_OK = 0
EXIT_SKIPPED = 1
EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_INTERRUPTED = 130


#: Environment variable holding the secret behind buyer pseudonyms (any text).
PSEUDONYM_KEY_ENV = "KEFU_STANDARDS_PSEUDONYM_KEY"


def redaction_policy(enabled: bool) -> RedactionPolicy:
    """Return the CLI's redaction policy; the pseudonym key comes from the environment."""
    secret = os.environ.get(PSEUDONYM_KEY_ENV, "")
    key = hashlib.blake2b(secret.encode("utf-8")).digest() if secret else b""
    return RedactionPolicy(enabled=enabled, key=key)
