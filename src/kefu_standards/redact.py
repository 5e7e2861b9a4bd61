"""Personal data kept out of every text the library shows to people.

Reports are forwarded to managers, trainers and outside QC vendors, and chats
carry buyers' phone numbers, addresses and names.  :func:`redact` masks them
**character for character** (same length), so an evidence span found in the
raw text still points at the right characters of the masked text:
``redact(t).text[e.start:e.end]`` is the evidence as shown.

Redaction is an **output** step: analysers read the raw text (scores do not
depend on it), and the report, ``results.jsonl``'s evidence and reasons, the
CLI printouts and agent profiles pass their text through :func:`redact` with a
:class:`RedactionPolicy` (masking on by default; :meth:`RedactionPolicy.off`
for a shop's own internal use, which the report then states at its top).

What is detected (the *kinds* of :data:`KINDS`):

``mobile``
    mainland mobile numbers, optionally ``+86``/``0086``, with spaces or
    dashes (``138 1234 5678``), full-width digits included.
``landline``
    ``0571-88886666``, ``(0571)88886666`` (an extension such as ``转123`` stays), and
    a bare 7-8 digit local number after 电话/座机/固话/tel.
``id_card``
    18-digit resident ID numbers whose check digit (GB 11643) is right.
``bank_card``
    16-19 digit card numbers, grouped by spaces or dashes or not, that pass the
    Luhn check.
``email``
    ``name@example.com``.
``wechat``
    an id after 微信/VX/wx/weixin (``微信: wang_xm88``), and ``wxid_...``.
``qq``
    a 5-12 digit number after QQ/扣扣/企鹅号.
``address``
    a run of at least two address parts (省 市 区/县 镇/乡/街道 路/街/巷 小区
    号 栋 单元 楼 室) going down in level, at least one below the city:
    ``浙江省杭州市西湖区文三路100号3单元502``.
``name``
    a Chinese name (a common surname and one or two more characters) or a
    Latin one after 收件人/收货人/联系人/寄件人/签收人/姓名.
``order_number``
    digit runs of 10 or more, carrier numbers (``SF1234567890123``) and an
    id after 订单号/运单号/快递单号; not one digit repeated (``666666666666``)
    nor a 400/800 service hotline (``4008208820``).
``nick``
    identifiers the caller knows (the buyer's nick) wherever they occur.

What stays readable: prices (``¥199``), sizes (``尺码175/92A``, ``2.0m床单``),
models (``型号A2403``), counts (``40支全棉``, ``3件``), dates and times
(``2024-05-01 10:00:00``, ``5月1日``), ``7天无理由``, and the corpus
placeholders (``[数字x]``, ``[ORDERID_123]``).

Buyers are shown as :func:`pseudonym` — a short keyed BLAKE2b hash of the nick,
the same for the same buyer everywhere on a page (and across reports made with
the same key).

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator

import attrs

from .exceptions import ConfigError
from .model import Conversation, Role
from .text import placeholder_spans

__all__ = [
    "KINDS",
    "Redaction",
    "RedactionPolicy",
    "RedactionSpan",
    "buyer_ids",
    "pseudonym",
    "redact",
]

#: Every kind of personal data :func:`redact` can mask, in priority order: when
#: two detections overlap, the longer wins, then the earlier kind here.
KINDS: tuple[str, ...] = (
    "id_card",
    "bank_card",
    "mobile",
    "landline",
    "email",
    "wechat",
    "qq",
    "name",
    "address",
    "order_number",
    "nick",
)


def _check_kinds(_inst: object, _attr: object, value: frozenset[str]) -> None:
    unknown = sorted(value - set(KINDS))
    if unknown:
        msg = f"unknown redaction kind(s) {unknown}; valid kinds: {', '.join(KINDS)}"
        raise ConfigError(msg)


def _check_mask_char(_inst: object, _attr: object, value: str) -> None:
    if not isinstance(value, str) or len(value) != 1 or value.isalnum() or value.isspace():
        msg = f"mask_char must be one character that is not a letter, digit or space, got {value!r}"
        raise ConfigError(msg)


_MAX_KEY = 64  # hashlib.blake2b.MAX_KEY_SIZE (hashlib is imported on first pseudonym())


def _check_key(_inst: object, _attr: object, value: bytes) -> None:
    if not isinstance(value, bytes) or len(value) > _MAX_KEY:
        msg = f"key must be bytes of at most {_MAX_KEY} bytes"
        raise ConfigError(msg)


def _to_kinds(value: Iterable[str]) -> frozenset[str]:
    """Return *value* as a frozenset of kinds (one kind may be given as a plain str)."""
    return frozenset((value,) if isinstance(value, str) else value)


def _kinds_repr(value: frozenset[str]) -> str:
    inside = ", ".join(repr(k) for k in KINDS if k in value)
    return f"frozenset({{{inside}}})" if inside else "frozenset()"


@attrs.frozen
class RedactionPolicy:
    """What :func:`redact` masks, and how.

    **Fields**

    enabled:
        ``True`` (default): mask.  ``False`` (:meth:`off`): texts pass through
        unchanged and the report says at its top that masking was off.
    kinds:
        The kinds of :data:`KINDS` to mask (default: all of them).
    partial:
        ``True`` (default) keeps the parts people use to tell values apart,
        as Chinese platforms display them: a mobile's first 3 and last 4
        digits (``138****5678``), a landline's area code and last 4 digits,
        the last 4 characters of bank cards and order numbers, an e-mail's
        domain, an address's province and city, a name's surname.  ID-card
        numbers, WeChat ids, QQ numbers and nicks are always masked whole.
        ``False`` masks every letter and digit of every value.
    mask_char:
        The character that replaces each masked letter, digit or CJK character
        (punctuation and spaces inside a value are kept, so the length and
        shape stay).
    key:
        Key of the :func:`pseudonym` hash (at most 64 bytes).  The default empty
        key makes pseudonyms stable across every installation; set a secret
        key when nicks must not be guessable by hashing candidates.

    .. versionadded:: 0.2.0
    """

    enabled: bool = True
    kinds: frozenset[str] = attrs.field(
        default=frozenset(KINDS), converter=_to_kinds, validator=_check_kinds, repr=_kinds_repr
    )
    partial: bool = True
    mask_char: str = attrs.field(default="*", validator=_check_mask_char)
    key: bytes = attrs.field(default=b"", validator=_check_key, repr=False)

    @classmethod
    def off(cls) -> RedactionPolicy:
        """Return the policy that masks nothing (a shop's own internal use)."""
        return cls(enabled=False)

    def describe(self) -> str:
        """One line for a report: what was masked (or that nothing was)."""
        if not self.enabled:
            return (
                "未打码: 个人信息未遮盖, 仅供店铺内部使用 (masking was off: personal data shown)."
            )
        shown = [_KIND_NAMES[k] for k in KINDS if k in self.kinds]
        how = "部分遮盖" if self.partial else "完全遮盖"
        if "nick" not in self.kinds:
            return f"个人信息已打码 ({how}): {', '.join(shown)} (personal data masked)."
        return (
            f"个人信息已打码 ({how}): {', '.join(shown)}; 买家昵称以哈希代号显示 "
            "(personal data masked; buyers shown as short hashes)."
        )


_KIND_NAMES = {
    "id_card": "身份证号",
    "bank_card": "银行卡号",
    "mobile": "手机号",
    "landline": "固定电话",
    "email": "邮箱",
    "wechat": "微信号",
    "qq": "QQ号",
    "name": "收件人姓名",
    "address": "地址",
    "order_number": "订单号/运单号",
    "nick": "买家昵称",
}


@attrs.frozen
class RedactionSpan:
    """One masked value: ``text[start:end]`` of the input, and its kind."""

    start: int
    end: int
    kind: str


@attrs.frozen
class Redaction:
    """The masked text (same length as the input) and what was masked where."""

    text: str
    spans: tuple[RedactionSpan, ...] = ()

    @property
    def changed(self) -> bool:
        """True when anything was masked."""
        return bool(self.spans)


# -- detectors ---------------------------------------------------------------------------
# Each detector reads the width-folded text and yields hits
# ``(start, end, kind, keep_head, keep_tail)``: the value is text[start:end]; with a
# partial policy, the first keep_head and last keep_tail letters/digits stay visible.

_Hit = tuple[int, int, str, int, int]
_Detector = Callable[[str], Iterator[_Hit]]

#: Full-width ASCII and the ideographic space folded to ASCII (same length).
_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

#: The last characters of address parts: a text without one has no address.
_ADDRESS_SUFFIXES = "省市区县旗盟州镇乡街道路巷弄同号栋幢座元楼层室苑园村心场厦寓"
#: A text without any of these characters has nothing to mask (the quick pre-check):
#: digits, @, the cues of names (收件人, 姓名), WeChat, QQ, and address suffixes.
_TRIGGER_CHARS = f"[0-9０-９@＠{_ADDRESS_SUFFIXES}人名信xXｘＸwWｗＷqQｑＱ扣鹅]"

_SEP = r"\s*[:：]?\s*(?:是|为|叫)?\s*[:：]?\s*"

# Common surnames (compound first), written for this module.
_COMPOUND_SURNAMES = (
    "欧阳|司马|诸葛|上官|东方|慕容|令狐|皇甫|尉迟|公孙|"  # split: one line is too long
    "夏侯|长孙|宇文|司徒|端木|独孤|南宫|西门|澹台|呼延"
)
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺"
    "顾毛郝龚邵万钱严覃武戴莫孔汤常温康施牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰"
    "焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕季裴霍涂苗谷盛曲翁冉骆蓝游辛靳柴蒙鲍华喻祁蒲房"
    "滕屈饶牟艾尤阳穆农司卓古吉缪简车连芦麦褚娄窦戚岑景党宫卜冷晏席卫米柏宗瞿桂佟臧"
    "闵苟邬边卞姬仇栾隋刁沙荣巫寇桑郎甄丛仲虞敖巩佘池麻苑迟邝封谈匡鞠惠荆乐冀郁胥班储"
    "栗燕楚鄢劳谌奚皮粟冼蔺楼闻厉伊仝郜阚权帅屠豆朴盖练廉禹井祖漆巴丰卿狄索宣晋芮扈晁"
)
# Characters that end a name (what follows a name in a sentence, or 先生/女士 titles).
_NOT_GIVEN = (
    "电手地收寄的了吗呢啊吧是在说和跟与及号码先姐士师老家住址改填写错不没有也都就目询找查问"
)


def _han_except(excluded: str) -> str:
    """Return a character class of the CJK unified ideographs minus *excluded*."""
    ranges: list[str] = []
    lo = 0x4E00
    for code in sorted({ord(c) for c in excluded if 0x4E00 <= ord(c) <= 0x9FFF}):
        if code > lo:
            ranges.append(f"{chr(lo)}-{chr(code - 1)}")
        lo = code + 1
    ranges.append(f"{chr(lo)}-\u9fff")
    return "[" + "".join(ranges) + "]"


_GIVEN = _han_except(_NOT_GIVEN)
# Characters that cannot belong to a place name (verbs, pronouns, particles around one).
_NOT_PLACE = (
    "的了在是到住从于往寄送发回我你他她它们这那哪个和跟与及或就都也还要想会能可请把被给让去来过"
    "买卖地址收货件填写改成为号码电话手机吗呢吧啊哦呀嘛不没很太说看帮已再先后省市，"
    "离近旁附位置处却"
)


_PLACE_CHAR = _han_except(_NOT_PLACE)


def _place(lo: int, hi: int) -> str:
    return f"{_PLACE_CHAR}{{{lo},{hi}}}"


_PROVINCES = (
    "北京|天津|上海|重庆|河北|山西|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南|"
    "广东|海南|四川|贵州|云南|陕西|甘肃|青海|台湾|内蒙古|广西|西藏|宁夏|新疆|香港|澳门"
)
_NUM = "[0-9一二三四五六七八九十]"
#: Address parts in the order they come (level = position); a part is a token.
_ADDRESS_PARTS: tuple[tuple[str, str], ...] = (
    (
        "province",
        rf"(?:{_PROVINCES})(?:省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)?",
    ),
    ("city", rf"{_place(2, 4)}市|{_place(2, 6)}自治州|{_place(2, 4)}盟"),
    ("district", rf"{_place(1, 5)}(?:区|县|旗)"),
    ("town", rf"{_place(2, 5)}(?:街道|镇|乡)"),
    ("street", rf"{_place(2, 8)}(?:大道|大街|路|街|巷|胡同|弄)"),
    (
        "estate",
        rf"{_place(2, 10)}(?:小区|花园|公寓|大厦|广场|家园|新村|苑|园|村|中心)",
    ),
    ("number", r"[0-9]{1,5}(?:号院|号|弄)(?!楼)"),
    ("building", rf"{_NUM}{{1,3}}(?:号楼|栋|幢|座)"),
    ("unit", rf"{_NUM}{{1,2}}单元"),
    ("floor", r"[0-9]{1,3}(?:楼|层)"),
    ("room", r"[0-9]{1,5}室"),
    ("bare_room", r"[0-9]{2,5}(?![0-9.元块件个天年月日号次分秒点%])"),
)
_HOTLINES = frozenset({"400", "800"})  # 10-digit business numbers, left readable
_CITY_LEVEL = 1  # parts up to here (province, city) stay visible with a partial policy
_ROOM_AFTER = frozenset({"building", "unit", "floor"})  # a bare number is a room only here


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _id_checksum(number: str) -> bool:
    total = sum(int(c) * w for c, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == number[17].upper()


@functools.cache
def _trigger() -> re.Pattern[str]:
    """Compile the pre-check once, on first use."""
    return re.compile(_TRIGGER_CHARS)


@functools.cache
def _detectors() -> dict[str, _Detector]:
    """Compile every detector's expressions once, on first use."""
    mobile = re.compile(r"(?<![0-9])(?:(?:\+|00)86[- ]?)?1[3-9][0-9](?:[- ]?[0-9]{4}){2}(?![0-9])")
    landline = re.compile(
        r"(?<![0-9])(\(0[0-9]{2,3}\)|0[0-9]{2,3})[- ]?[2-9][0-9]{6,7}"
        r"(?![0-9])"
    )
    local = re.compile(rf"(?i:电话|座机|固话|tel){_SEP}([2-9][0-9]{{6,7}})(?![0-9])")
    id_card = re.compile(
        r"(?<![0-9A-Za-z])[1-9][0-9]{5} ?(?:19|20)[0-9]{2}[01][0-9][0-3][0-9] ?[0-9]{3}[0-9Xx]"
        r"(?![0-9A-Za-z])"
    )
    grouped = re.compile(
        r"(?<![0-9])[1-9][0-9]{3}(?:[ -][0-9]{4}){2,3}(?:[ -][0-9]{1,3})?(?![0-9])"
    )
    run = re.compile(r"(?<![0-9])[1-9][0-9]{15,18}(?![0-9])")
    email = re.compile(
        r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,10}(?![A-Za-z])"
    )
    wechat = re.compile(
        r"(?<![a-z0-9_])(wxid_[a-z0-9]{6,20})(?![a-z0-9])|"
        rf"(?:微信号?|薇信|威信|v信|(?<![a-z])(?:vx|wx|weixin|wechat)(?:号)?){_SEP}"
        r"([a-z0-9][-_a-z0-9]{5,19})(?![-_a-z0-9])",
        re.IGNORECASE,
    )
    qq = re.compile(
        rf"(?:(?:(?<![a-z])qq|扣扣|企鹅)(?:号码|号)?|(?<![a-z])q号码?){_SEP}"
        r"([1-9][0-9]{4,11})(?![0-9])",
        re.IGNORECASE,
    )
    name = re.compile(
        rf"(?:收件人|收货人|联系人|寄件人|签收人|真实姓名|姓名){_SEP}"
        rf"((?:{_COMPOUND_SURNAMES}|[{_SURNAMES}]){_GIVEN}{{1,2}}"
        r"|(?<=[:：\s])[A-Za-z][A-Za-z.\-]*(?: [A-Za-z][A-Za-z.\-]*){0,2})"
    )
    long_run = re.compile(r"(?<![0-9])[0-9]{10,}(?![0-9])")
    carrier = re.compile(r"(?<![A-Za-z0-9])(?![Qq][Qq])[A-Za-z]{1,4}[0-9]{9,}(?![0-9])")
    order_cue = re.compile(
        rf"(?:订单编号|订单号|运单号|快递单号|物流单号|快递号|单号|订单){_SEP}([A-Za-z0-9]{{6,30}})(?![A-Za-z0-9])"
    )
    address = re.compile("|".join(f"(?P<{name_}>{rx})" for name_, rx in _ADDRESS_PARTS))
    levels = {name_: i for i, (name_, _) in enumerate(_ADDRESS_PARTS)}

    def find_mobile(t: str) -> Iterator[_Hit]:
        for m in mobile.finditer(t):
            prefix = sum(c.isdigit() for c in m.group()) - 11  # the 86 / 0086 country code
            yield m.start(), m.end(), "mobile", prefix + 3, 4

    def find_landline(t: str) -> Iterator[_Hit]:
        for m in landline.finditer(t):
            area = sum(c.isdigit() for c in m.group(1))
            yield m.start(), m.end(), "landline", area, 4
        for m in local.finditer(t):
            yield m.start(1), m.end(1), "landline", 0, 4

    def find_id(t: str) -> Iterator[_Hit]:
        for m in id_card.finditer(t):
            if _id_checksum(m.group().replace(" ", "")):
                yield m.start(), m.end(), "id_card", 0, 0

    def find_bank(t: str) -> Iterator[_Hit]:
        # a candidate that is not a card (wrong length or checksum) may hide one that
        # starts inside it (a spaced phone number, then a card): search on from the
        # next digit group instead of after the failed candidate
        for rx in (grouped, run):
            pos = 0
            while (m := rx.search(t, pos)) is not None:
                digits = re.sub("[^0-9]", "", m.group())
                if 16 <= len(digits) <= 19 and _luhn(digits):
                    yield m.start(), m.end(), "bank_card", 0, 4
                    pos = m.end()
                else:
                    pos = m.start() + 1

    def find_email(t: str) -> Iterator[_Hit]:
        for m in email.finditer(t):
            at = m.group().index("@")
            domain = sum(c.isalnum() for c in m.group()[at:])
            yield m.start(), m.end(), "email", 0, domain

    def find_wechat(t: str) -> Iterator[_Hit]:
        for m in wechat.finditer(t):
            g = 1 if m.group(1) else 2  # wxid_..., else an id after a cue
            yield m.start(g), m.end(g), "wechat", 0, 0

    def find_qq(t: str) -> Iterator[_Hit]:
        for m in qq.finditer(t):
            yield m.start(1), m.end(1), "qq", 0, 0

    def find_name(t: str) -> Iterator[_Hit]:
        for m in name.finditer(t):
            value = m.group(1)
            head = 2 if value[:2] in _COMPOUND_SURNAMES.split("|") else 1
            if value.isascii():
                head = 0
            yield m.start(1), m.end(1), "name", head, 0

    def find_address(t: str) -> Iterator[_Hit]:
        chain: list[tuple[int, int, int, str]] = []  # (start, end, level, part)

        def flush() -> Iterator[_Hit]:
            below_city = [c for c in chain if c[2] > _CITY_LEVEL]
            if len(chain) >= 2 and below_city:
                start, end = chain[0][0], chain[-1][1]
                kept = sum(c[1] - c[0] for c in chain if c[2] <= _CITY_LEVEL)
                yield start, end, "address", kept, 0

        for m in address.finditer(t):
            part = m.lastgroup or ""
            level = levels[part]
            start = m.start()
            prev = chain[-1] if chain else None
            joins = (
                prev is not None
                and not t[prev[1] : start].strip()
                and level > prev[2]
                and (
                    part != "bare_room"
                    or prev[3] in _ROOM_AFTER
                    or (prev[3] == "number" and len(chain) >= 2)  # 文三路100号502
                )
            )
            if not joins:
                yield from flush()
                chain = []
                if part == "bare_room":
                    continue
            chain.append((start, m.end(), level, part))
        yield from flush()

    def find_order(t: str) -> Iterator[_Hit]:
        for m in long_run.finditer(t):
            run = m.group()
            if len(set(run)) == 1 or (len(run) == 10 and run[:3] in _HOTLINES):
                continue  # 66666666666 (praise), 400/800 service hotlines: not personal
            yield m.start(), m.end(), "order_number", 0, 4
        for m in carrier.finditer(t):
            yield m.start(), m.end(), "order_number", 0, 4
        for m in order_cue.finditer(t):
            if sum(c.isdigit() for c in m.group(1)) >= 4:
                yield m.start(1), m.end(1), "order_number", 0, 4

    finders: dict[str, tuple[str, _Detector]] = {
        # kind: (what a text must contain for the kind to be possible, the detector)
        "id_card": (r"[0-9]{4}", find_id),
        "bank_card": (r"[0-9]{4}", find_bank),
        "mobile": (r"[0-9]{4}", find_mobile),
        "landline": (r"[0-9]{4}", find_landline),
        "email": ("@", find_email),
        "wechat": (r"(?i:信|x|chat)", find_wechat),
        "qq": (r"[0-9]{5}", find_qq),
        "name": ("人|姓名", find_name),
        "address": (f"[{_ADDRESS_SUFFIXES}]", find_address),
        "order_number": (r"[0-9]{4}|单", find_order),
    }
    return {kind: _gated(re.compile(gate), find) for kind, (gate, find) in finders.items()}


def _gated(gate: re.Pattern[str], find: _Detector) -> _Detector:
    """Return *find*, run only on texts where *gate* matches (a cheap scan first)."""

    def run(text: str) -> Iterator[_Hit]:
        if gate.search(text) is not None:
            yield from find(text)

    return run


_PRIORITY = {kind: i for i, kind in enumerate(KINDS)}


def _known_hits(text: str, known: Iterable[str]) -> Iterator[_Hit]:
    for value in known:
        if len(value) < 2:
            continue
        pos = text.find(value)
        while pos >= 0:
            yield pos, pos + len(value), "nick", 0, 0
            pos = text.find(value, pos + len(value))


def _mask_positions(text: str, hit: _Hit, partial: bool) -> Iterator[int]:
    """Positions of *hit* to mask: its letters and digits, minus the kept head and tail."""
    start, end, kind, head, tail = hit
    if kind == "nick":
        yield from (i for i in range(start, end) if not text[i].isspace())
        return
    alnum = [i for i in range(start, end) if text[i].isalnum()]
    if partial and kind == "address":
        alnum = alnum[head:]  # head: the province and city characters
    elif partial and head + tail < len(alnum):  # else too short to keep anything
        alnum = alnum[head : len(alnum) - tail]
    yield from alnum


def redact(
    text: str, policy: RedactionPolicy | None = None, *, known: Iterable[str] = ()
) -> Redaction:
    """Mask the personal data in *text* under *policy* (default :class:`RedactionPolicy`).

    *known* are identifiers to mask wherever they occur, e.g. the buyer's nick
    (:func:`buyer_ids`); values shorter than 2 characters are ignored.  The
    result's text has the length of *text*, character for character.

    >>> redact("收件人：王小明 电话0571-88886666").text
    '收件人：王** 电话0571-****6666'

    .. versionadded:: 0.2.0
    """
    if policy is None:
        policy = _DEFAULT
    elif not isinstance(policy, RedactionPolicy):
        got = type(policy).__name__
        msg = f"policy must be a RedactionPolicy (or None for the default), got {got}"
        raise ConfigError(msg)
    if not isinstance(text, str):
        msg = f"redact() needs a str, got {type(text).__name__}"
        raise ConfigError(msg)
    if not policy.enabled or not text:
        return Redaction(text)
    if isinstance(known, str):
        known = (known,)
    names = tuple(k for k in known if k and k in text) if "nick" in policy.kinds else ()
    if not names and _trigger().search(text) is None:
        return Redaction(text)
    return _redact(text, policy, names)


_DEFAULT = RedactionPolicy()


@functools.lru_cache(maxsize=16384)
def _redact(text: str, policy: RedactionPolicy, known: tuple[str, ...]) -> Redaction:
    """:func:`redact` after the pre-check; cached by (text, policy, known): chat repeats."""
    folded = text.translate(_WIDTH)
    detectors = _detectors()
    hits = [
        h
        for kind in KINDS
        if kind in policy.kinds and kind in detectors
        for h in detectors[kind](folded)
    ]
    hits += _known_hits(text, known)
    if not hits:
        return Redaction(text)
    if "[" in text:
        holes = placeholder_spans(text)
        hits = [h for h in hits if not any(s < h[1] and h[0] < e for s, e in holes)]
    hits.sort(key=lambda h: (h[0], h[0] - h[1], _PRIORITY[h[2]]))
    chars = list(text)
    spans: list[RedactionSpan] = []
    covered = 0
    for hit in hits:
        start, end, kind = hit[0], hit[1], hit[2]
        if end <= covered:  # inside a value already masked (e.g. a phone is also a digit run)
            continue
        for i in _mask_positions(folded, hit, policy.partial):
            if i >= covered:
                chars[i] = policy.mask_char
        spans.append(RedactionSpan(max(start, covered), end, kind))
        covered = end
    return Redaction("".join(chars), tuple(spans))


def pseudonym(value: str, policy: RedactionPolicy | None = None, *, length: int = 8) -> str:
    """Return a stable short hash of *value*: hex BLAKE2b keyed by ``policy.key``.

    The same value gives the same pseudonym under the same key, so one buyer
    is recognisable across a report without showing the nick.  *length* is in
    hex characters (2-64).

    >>> pseudonym("tb_wangxm88")
    'd198d875'

    .. versionadded:: 0.2.0
    """
    if not 2 <= length <= 64:
        msg = f"length must be between 2 and 64 hex characters, got {length}"
        raise ConfigError(msg)
    # stdlib, imported on first use: importing hashlib maps OpenSSL (about 4 MB of RSS)
    import hashlib

    key = (policy or _DEFAULT).key
    # one digest size for every length, so a short pseudonym is a prefix of a longer one
    # (the report's 8 characters start the 16 of a pseudonymized results.jsonl)
    digest = hashlib.blake2b(value.encode("utf-8"), key=key, digest_size=32)
    return digest.hexdigest()[:length]


def buyer_ids(conversation: Conversation) -> tuple[str, ...]:
    """Return the buyer senders of *conversation*: the *known* values for :func:`redact`.

    .. versionadded:: 0.2.0
    """
    seen: dict[str, None] = {}
    for m in conversation.messages:
        if m.role is Role.BUYER and m.sender:
            seen.setdefault(m.sender, None)
    return tuple(seen)
