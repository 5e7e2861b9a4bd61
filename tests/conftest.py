"""Shared fixtures and Hypothesis settings."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from kefu_standards.model import Conversation

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=30, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

FIXTURES = Path(__file__).parent / "fixtures"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def fixtures() -> Path:
    """The folder of hand-written input files used by the tests."""
    return FIXTURES


def escalation_chats() -> list[Conversation]:
    """The hand-written escalation chats (``fixtures/escalation/chats.jsonl``), Asia/Shanghai."""
    out = []
    with (FIXTURES / "escalation" / "chats.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            out.append(Conversation.from_records(rec["messages"], id=rec["id"], tz="Asia/Shanghai"))
    return out


#: When :func:`gap_chat` starts its clock (a Monday morning, UTC+8).
CHAT_START = datetime(2024, 5, 6, 9, 0, tzinfo=timezone(timedelta(hours=8)))


def gap_chat(turns: list[tuple[Any, ...]], id: str) -> Conversation:  # noqa: A002
    """Conversation from ``(role, text, seconds after the previous timed message or None)``.

    A fourth item, when given, is the sender (default: the role).
    """
    records: list[dict[str, Any]] = []
    t = CHAT_START
    for role, text, gap, *rest in turns:
        at = None
        if gap is not None:
            t += timedelta(seconds=gap)
            at = t
        sender = rest[0] if rest else role
        records.append({"role": role, "text": text, "sent_at": at, "sender": sender})
    return Conversation.from_records(records, id=id)
