"""Role detection for bot and system lines of chat exports.

Export formats mark who *sent* a line (the buyer nick, a ``店铺:名字`` account),
not whether a human wrote it.  Auto-replies, transfer notices and cards are
written by the platform under the shop's or even the buyer's name.  The rules
below reclassify such lines; the text is never changed and the rule's name is
recorded in ``Message.meta["role_rule"]``.

Each rule carries one example that must fire and one look-alike that must not;
``tests/test_io_roles.py`` checks both for every rule.  The patterns are our own
wording of common platform phrases.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

import attrs

from kefu_standards.model import Role

__all__ = ["ROLE_RULES", "RoleRule", "classify_sender", "classify_text"]

_ANY = frozenset(Role)
_SERVICE = frozenset((Role.AGENT, Role.BOT))


def _compile(pattern: str | re.Pattern[str]) -> re.Pattern[str]:
    return re.compile(pattern)


@attrs.frozen(slots=True)
class RoleRule:
    """A text pattern that reclassifies a message to *role*.

    ``applies_to`` lists the roles (as given by the sender) the rule may change;
    ``fires`` and ``does_not_fire`` are the tested examples.
    """

    name: str
    pattern: re.Pattern[str] = attrs.field(converter=_compile)
    role: Role
    applies_to: frozenset[Role]
    fires: str
    does_not_fire: str


ROLE_RULES: tuple[RoleRule, ...] = (
    # Platform transfer notice: "由 服务助手 转交给 小李" (+ optional "，原因：【...】").
    # A human saying "我帮您转交给售后" has no leading 由 ... 转交给.
    RoleRule(
        "transfer_notice",
        r"^\s*由\s*\S{1,40}?\s*转交给\s*\S",
        Role.SYSTEM,
        _ANY,
        "由 服务助手 转交给 某某旗舰店:小李，原因：【离线留言自动分配】",
        "我帮您转交给售后同事处理哦",
    ),
    # The reason line of a transfer when exported on its own line.
    RoleRule(
        "transfer_reason",
        r"^\s*原因[:：]\s*【[^】]*】\s*$",
        Role.SYSTEM,
        _ANY,
        "原因：【离线留言自动分配】",
        "原因是快递太慢了【生气】",
    ),
    # Explicit auto-reply marker at the start: "[自动回复]", "【自动回复】", "(自动回复)".
    RoleRule(
        "auto_reply_marker",
        r"^\s*[\[【(（]\s*自动回复\s*[\]】)）]",
        Role.BOT,
        _SERVICE,
        "【自动回复】亲，欢迎光临本店，客服小美马上为您服务～",
        "请问你们的自动回复可以关掉吗",
    ),
    # Welcome card pushed when a buyer opens the chat window.
    RoleRule(
        "welcome_card",
        r"^\s*【此消息为欢迎卡片",
        Role.BOT,
        _SERVICE,
        "【此消息为欢迎卡片，点击下方问题可快速咨询】",
        "此消息为准，以后不再更改",
    ),
    # Bot menus that ask the buyer to type 人工 to reach a person.
    RoleRule(
        "bot_menu",
        r"(?:请先?|可)?(?:输入|回复)\s*[【\[「]?人工[】\]」]?.{0,12}(?:联系|转接|咨询)",
        Role.BOT,
        _SERVICE,
        "您可能关心以下内容，如未解决请先输入【人工】联系在线客服",
        "我要人工客服，别让机器人回复",
    ),
    # Product-recommendation and shop-message pushes written by the assistant.
    RoleRule(
        "bot_push",
        r"^\s*(?:这些非常适合您的商品|您有一条店铺消息|您可能关心以下内容)",
        Role.BOT,
        _SERVICE,
        "这些非常适合您的商品可以一起看看～～",
        "您可能不关心这些，但我很关心发货时间",
    ),
    # Recall notice: "tb12345678 撤回了一条消息", "对方撤回了一条消息".
    # A buyer writing "我刚才撤回了一条消息" is a message, not a notice.
    RoleRule(
        "recall",
        r"^\s*(?:对方|你|您|\S{1,40}\s)撤回了一条消息\s*$",
        Role.SYSTEM,
        _ANY,
        "tb12345678 撤回了一条消息",
        "我刚才撤回了一条消息，你看到了吗",
    ),
    # Order / entry cards the platform inserts on the buyer's side.
    RoleRule(
        "order_card",
        r"^\s*您选择了一个订单进行咨询",
        Role.SYSTEM,
        _ANY,
        "您选择了一个订单进行咨询 订单号：1234567890",
        "我选择了一个订单进行咨询，可以吗",
    ),
    RoleRule(
        "entry_card",
        r"^\s*当前用户来自[:：\s]",
        Role.SYSTEM,
        _ANY,
        "当前用户来自 商品详情页",
        "当前用户来自哪个城市你们能看到吗",
    ),
    # Bracketed or colon-marked platform tips: "【系统提示】…", "系统消息：…".
    RoleRule(
        "system_tip",
        r"^\s*(?:[\[【]\s*系统(?:提示|提醒|消息|通知)\s*[\]】]|系统(?:提示|提醒|消息|通知)\s*[:：])",
        Role.SYSTEM,
        _ANY,
        "【系统提示】买家已确认收货",
        "系统提示我付款失败怎么办",
    ),
    # Section markers inside exports: "以下为离线消息", "----以下为历史记录----".
    RoleRule(
        "section_marker",
        r"^[\s\-=*]*以下为.{0,12}(?:消息|记录)[\s\-=*]*$",
        Role.SYSTEM,
        _ANY,
        "------以下为历史消息------",
        "以下为我们的退换货政策，请查看",
    ),
)


# One alternation of every rule: most messages match none, so one search settles them.
_ANY_RULE = re.compile("|".join(f"(?:{rule.pattern.pattern})" for rule in ROLE_RULES))


# What a pattern's text holds besides literal characters: counts, group openers, \s-style escapes.
_SYNTAX = re.compile(r"\{\d*,?\d*\}|\(\?(?:<?[=!]|:)|\\[A-Za-z]")


@functools.cache
def _folding() -> tuple[re.Pattern[str], Callable[[str], str]]:
    r"""``(hint, fold)``: *hint* matches a character that *fold* turns into one of a rule.

    Those are the Traditional (服務, 轉交, 係統), full-width (：, －) and
    upper-case forms of the rules' characters.  A text with none of them
    matches the rules as it is, so only texts with one of them are folded.
    The fold table is loaded on first use, not when the readers are imported.
    Regex syntax is not read as characters: counts (``{1,40}``, whose comma
    would make every ``，`` a hint), group openers (``(?:``) and escapes such
    as ``\s``; nor are ASCII letters and digits.
    """
    from kefu_standards.text import _fold_table, fold

    literal = (_SYNTAX.sub("", rule.pattern.pattern) for rule in ROLE_RULES)
    used = {c for pattern in literal for c in pattern if not c.isascii() or not c.isalnum()}
    hints = sorted(chr(k) for k, v in _fold_table().items() if k != v and chr(v) in used)
    return re.compile("[" + "".join(re.escape(c) for c in hints) + "]"), fold


def classify_text(text: str, role: Role) -> tuple[Role, str | None]:
    """Return ``(role, rule_name)`` for *text* said by *role*; ``None`` when no rule fires.

    The rules are matched on :func:`~kefu_standards.text.fold` of *text*, so a notice
    in Traditional script or full-width forms (``由 服務助手 轉交給``) is recognised
    like its Simplified form.
    """
    hint, fold = _folding()
    if hint.search(text) is not None:  # only these texts can read differently once folded
        text = fold(text)
    if _ANY_RULE.search(text) is None:
        return role, None
    for rule in ROLE_RULES:
        if role in rule.applies_to and rule.pattern.search(text):
            return rule.role, rule.name
    return role, None


_JIMI = re.compile(r"^jimi_vender_\d+$")


def classify_sender(sender: str) -> tuple[Role, str] | None:
    """Role implied by the sender name alone (bots, auto-reply accounts), or ``None``.

    ``店铺:服务助手`` and ``店铺:店小蜜`` (Tmall assistant and 店小蜜 robot
    sub-accounts) and ``jimi_vender_<n>`` (JD JIMI) are bots; a JD pin ending in
    ``@im.jd.com`` is the auto-reply account.
    """
    name = sender.strip()
    if name.endswith(":服务助手") or name == "服务助手":
        return Role.BOT, "sender_service_assistant"
    if name.endswith(":店小蜜") or name == "店小蜜":
        return Role.BOT, "sender_dianxiaomi"
    if _JIMI.match(name):
        return Role.BOT, "sender_jimi"
    if name.endswith("@im.jd.com"):
        return Role.BOT, "sender_jd_auto_reply"
    return None
