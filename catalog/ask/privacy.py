"""Take personal data out of a question before it is kept (pure Python).

ID numbers and mobile numbers are found with :mod:`core.masking` and replaced whole (a log of
questions needs no digit of them); any other run of six or more digits (a bank card, a plate's
digits, a partly typed number) goes too, and so do e-mail addresses, person names rjieba tags as
such (``nr``, starting with a common surname) and the two or three characters after 我叫 / 名字是 / 姓名.
"""

from __future__ import annotations

import re

import rjieba

from core.masking import mask_text

ID = "〔证件号〕"
MOBILE = "〔手机号〕"
NUMBER = "〔号码〕"
NAME = "〔姓名〕"
EMAIL = "〔邮箱〕"

_MASKED_ID = re.compile(r"\d{4}\*{7,}[\dXx]{4}")
_MASKED_MOBILE = re.compile(r"1[3-9]\d\*{4}\d{4}")
_DIGITS = re.compile(r"[\d*Xx]{6,}")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_NAMED = re.compile(r"(我叫|我是|名字是|名字叫|姓名是|姓名|叫做|本人)([\u4e00-\u9fff]{2,3})")
_NAME_TAGS = frozenset({"nr", "nrfg", "nrt"})
# rjieba tags some common words ``nr`` too (银行卡): a name must also start with a common surname
_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪"
    "范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
# ... and not be one of the everyday words that start with one (谢谢, 马上)
_NOT_NAMES = frozenset(
    [
        "谢谢",
        "马上",
        "高兴",
        "方便",
        "周末",
        "周一",
        "周六",
        "周日",
        "白天",
        "江南",
        "高新",
        "金额",
        "黄金",
        "程序",
        "任何",
        "常见",
        "于是",
        "孔雀",
    ]
)


def scrub(text: str) -> str:
    """``我叫张三，身份证33030219900101123X丢了`` → ``我叫〔姓名〕，身份证〔证件号〕丢了``."""
    out = mask_text(text)
    out = _MASKED_ID.sub(ID, out)
    out = _MASKED_MOBILE.sub(MOBILE, out)
    out = _DIGITS.sub(NUMBER, out)
    out = _EMAIL.sub(EMAIL, out)
    out = _NAMED.sub(lambda m: m.group(1) + NAME, out)
    pieces = []
    for word, tag in rjieba.tag(out):
        pieces.append(
            NAME
            if tag in _NAME_TAGS and 2 <= len(word) <= 4 and word[0] in _SURNAMES and word not in _NOT_NAMES
            else word
        )
    return "".join(pieces)


def has_placeholder(text: str) -> bool:
    return "〔" in text
