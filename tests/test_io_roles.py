"""Each role-detection rule fires on its example and not on its look-alike."""

from __future__ import annotations

import pytest

from kefu_standards.io import ROLE_RULES, RoleRule
from kefu_standards.io._roles import classify_sender, classify_text
from kefu_standards.model import Role


def _id(rule: RoleRule) -> str:
    return rule.name


@pytest.mark.parametrize("rule", ROLE_RULES, ids=_id)
def test_rule_fires_on_its_example(rule: RoleRule) -> None:
    assert rule.pattern.search(rule.fires)
    role = next(iter(rule.applies_to - {Role.BOT, Role.SYSTEM}))
    assert classify_text(rule.fires, role) == (rule.role, rule.name)


@pytest.mark.parametrize("rule", ROLE_RULES, ids=_id)
def test_rule_does_not_fire_on_its_look_alike(rule: RoleRule) -> None:
    assert not rule.pattern.search(rule.does_not_fire)
    for role in (Role.BUYER, Role.AGENT):
        assert classify_text(rule.does_not_fire, role) == (role, None)


def test_rule_names_are_unique() -> None:
    names = [r.name for r in ROLE_RULES]
    assert len(names) == len(set(names))


@pytest.mark.parametrize(
    ("text", "role", "expected"),
    [
        ("【自动回复】您好", Role.BUYER, (Role.BUYER, None)),  # a buyer cannot auto-reply
        ("【自动回复】您好", Role.AGENT, (Role.BOT, "auto_reply_marker")),
        ("tb1 撤回了一条消息", Role.BUYER, (Role.SYSTEM, "recall")),
        ("亲，在的", Role.AGENT, (Role.AGENT, None)),
    ],
)
def test_classify_text_respects_applies_to(
    text: str, role: Role, expected: tuple[Role, str | None]
) -> None:
    assert classify_text(text, role) == expected


@pytest.mark.parametrize(
    ("sender", "expected"),
    [
        ("某某旗舰店:服务助手", (Role.BOT, "sender_service_assistant")),
        ("jimi_vender_10086", (Role.BOT, "sender_jimi")),
        ("小王的店@im.jd.com", (Role.BOT, "sender_jd_auto_reply")),
        ("某某旗舰店:小美", None),
        ("jimi_vender_fan", None),
        ("服务助手小王", None),
    ],
)
def test_classify_sender(sender: str, expected: tuple[Role, str] | None) -> None:
    assert classify_sender(sender) == expected
