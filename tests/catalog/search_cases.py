"""What citizens type → the demo item they mean (issue 3: at least 40 cases).

``top`` is 1 when the item must be the first result; 3 where the query is genuinely ambiguous (the
``note`` says why). ``test_search.py`` runs every case against the snapshot of the demo catalog —
so on SQLite and on PostgreSQL — and checks that every code here exists.
"""

from __future__ import annotations

from typing import NamedTuple


class Case(NamedTuple):
    query: str
    code: str
    kind: str
    top: int = 1
    note: str = ""


EXACT = "exact name"
ALIAS = "俗称"
PHRASE = "colloquial phrase"
SENTENCE = "sentence holding an alias"
PINYIN = "full pinyin"
INITIALS = "initials"
TYPO = "typo"

CASES: list[Case] = [
    # exact names
    Case("居民身份证首次申领", "LJ-HJ-001", EXACT),
    Case("普通护照签发", "LJ-CR-001", EXACT),
    Case("出生登记", "LJ-HJ-006", EXACT),
    Case("户籍证明", "LJ-HJ-019", EXACT),
    Case("无犯罪记录证明", "LJ-HJ-021", EXACT),
    Case("机动车驾驶证期满换证", "LJ-CJ-011", EXACT),
    Case("犬只登记", "LJ-ZA-001", EXACT),
    Case("公章刻制备案", "LJ-ZA-005", EXACT),
    Case("外国人住宿登记", "LJ-CR-011", EXACT),
    Case("往来港澳通行证签发", "LJ-CR-005", EXACT),
    # 俗称
    Case("驾照", "LJ-CJ-011", ALIAS),
    Case("驾驶证", "LJ-CJ-011", ALIAS, note="the most common 驾驶证 business, like 驾照"),
    Case("身份证", "LJ-HJ-001", ALIAS),
    Case("户口本", "LJ-HJ-018", ALIAS),
    Case("港澳通行证", "LJ-CR-005", ALIAS),
    Case("狗证", "LJ-ZA-001", ALIAS),
    Case("良民证", "LJ-HJ-021", ALIAS),
    Case("电瓶车上牌", "LJ-ZA-003", ALIAS),
    Case("刻章", "LJ-ZA-005", ALIAS),
    Case("年检", "LJ-CJ-009", ALIAS),
    Case("验车", "LJ-CJ-009", ALIAS),
    Case("过户", "LJ-CJ-002", ALIAS),
    Case("护照", "LJ-CR-001", ALIAS),
    Case("暂住证", "LJ-HJ-022", ALIAS),
    Case("居住证", "LJ-HJ-022", ALIAS),
    Case("上牌", "LJ-CJ-001", ALIAS),
    Case("临牌", "LJ-CJ-010", ALIAS),
    Case("绿本", "LJ-CJ-008", ALIAS),
    Case("大通证", "LJ-CR-008", ALIAS),
    Case("KTV", "LJ-ZA-015", ALIAS),
    Case("雷管", "LJ-ZA-013", ALIAS),
    # colloquial phrases
    Case("驾照到期", "LJ-CJ-011", PHRASE),
    Case("孩子上户口", "LJ-HJ-006", PHRASE),
    Case("身份证丢了", "LJ-HJ-003", PHRASE),
    Case("身份证补办", "LJ-HJ-003", PHRASE, note="not 首次申领 for its 身份证 alias"),
    Case("身份证过期", "LJ-HJ-002", PHRASE),
    Case("身份证急用", "LJ-HJ-004", PHRASE),
    Case("护照过期", "LJ-CR-002", PHRASE),
    Case("护照丢了", "LJ-CR-003", PHRASE),
    Case("驾照丢了", "LJ-CJ-012", PHRASE),
    Case("驾驶证丢了", "LJ-CJ-012", PHRASE, note="丢 points to 补领, not to 驾驶证's 期满换证"),
    Case("驾驶证坏了", "LJ-CJ-013", PHRASE),
    Case("驾驶证过期", "LJ-CJ-011", PHRASE),
    Case("外地驾照转入", "LJ-CJ-014", PHRASE),
    Case("考驾照", "LJ-CJ-020", PHRASE),
    Case("三力测试", "LJ-CJ-016", PHRASE),
    Case("处理违章", "LJ-CJ-019", PHRASE),
    Case("交罚款", "LJ-CJ-019", PHRASE),
    Case("车辆报废", "LJ-CJ-004", PHRASE),
    Case("车牌丢了", "LJ-CJ-006", PHRASE),
    Case("户口本丢了", "LJ-HJ-018", PHRASE),
    Case("去香港", "LJ-CR-005", PHRASE),
    Case("老外续签", "LJ-CR-010", PHRASE),
    Case("结婚迁户口", "LJ-HJ-008", PHRASE),
    Case("买房落户", "LJ-HJ-012", PHRASE),
    Case("改名字", "LJ-HJ-015", PHRASE),
    Case("开民宿", "LJ-ZA-004", PHRASE),
    Case("演唱会审批", "LJ-ZA-008", PHRASE),
    Case("狗狗上户口", "LJ-ZA-001", PHRASE, note="a dog, not a baby (出生登记's 上户口)"),
    Case("居住证过期", "LJ-HJ-023", PHRASE, top=3, note="签注 renews it yearly; 换领 is close"),
    Case("生孩子", "LJ-HJ-006", PHRASE, top=3, note="the 出生一件事 bundle is shown above the items"),
    Case("开公司", "LJ-ZA-005", PHRASE, top=3, note="the 企业开办一件事 bundle is the real answer"),
    # sentences that contain an alias
    Case("我的驾照到期了怎么办", "LJ-CJ-011", SENTENCE),
    Case("我的身份证丢了怎么办", "LJ-HJ-003", SENTENCE),
    Case("孩子出生了怎么上户口", "LJ-HJ-006", SENTENCE),
    Case("护照快过期了怎么办", "LJ-CR-002", SENTENCE),
    Case("我想办个护照", "LJ-CR-001", SENTENCE),
    Case("户口本丢了怎么补办", "LJ-HJ-018", SENTENCE),
    Case("我想给孩子办身份证", "LJ-HJ-001", SENTENCE),
    Case("老人去世销户口", "LJ-HJ-007", SENTENCE),
    Case("孩子上户口需要什么材料", "LJ-HJ-006", SENTENCE),
    # full pinyin
    Case("huzhao", "LJ-CR-001", PINYIN),
    Case("hu zhao", "LJ-CR-001", PINYIN),
    Case("HuZhao", "LJ-CR-001", PINYIN),
    Case("shenfenzheng", "LJ-HJ-001", PINYIN),
    Case("jiashizheng", "LJ-CJ-011", PINYIN),
    Case("hujizhengming", "LJ-HJ-019", PINYIN),
    Case("hukouben", "LJ-HJ-018", PINYIN),
    Case("gouzheng", "LJ-ZA-001", PINYIN),
    Case("liangminzheng", "LJ-HJ-021", PINYIN),
    Case("nianjian", "LJ-CJ-009", PINYIN),
    Case("guohu", "LJ-CJ-002", PINYIN),
    Case("gangaotongxingzheng", "LJ-CR-005", PINYIN),
    # initials
    Case("hz", "LJ-CR-001", INITIALS),
    Case("HZ", "LJ-CR-001", INITIALS),
    Case("ｈｚ", "LJ-CR-001", INITIALS, note="full-width letters from a Chinese IME"),
    Case("sfz", "LJ-HJ-001", INITIALS),
    Case("jsz", "LJ-CJ-011", INITIALS),
    Case("hkb", "LJ-HJ-018", INITIALS),
    Case("gatxz", "LJ-CR-005", INITIALS),
    Case("hjzm", "LJ-HJ-019", INITIALS),
    Case("lmz", "LJ-HJ-021", INITIALS),
    Case("jz", "LJ-CJ-011", INITIALS, top=3, note="驾照, but also 居住证 (jzz) and others"),
    # typos
    Case("户籍证名", "LJ-HJ-019", TYPO, note="homophone 名/明"),
    Case("无犯罪证名", "LJ-HJ-021", TYPO, note="homophone 名/明"),
    Case("身分证", "LJ-HJ-001", TYPO, note="homophone 分/份"),
    Case("良民正", "LJ-HJ-021", TYPO, note="homophone 正/证"),
    Case("驾使证", "LJ-CJ-011", TYPO, note="homophone 使/驶"),
    Case("huzaho", "LJ-CR-001", TYPO, note="two letters swapped"),
    Case("shenfenzehng", "LJ-HJ-001", TYPO, note="two letters swapped"),
    Case("jiashizehng", "LJ-CJ-011", TYPO, note="two letters swapped"),
    Case("hujizhegnming", "LJ-HJ-019", TYPO, note="two letters swapped"),
]

# Queries that match nothing at all: the search page then shows its helpful page.
NO_MATCH: list[str] = ["火星移民", "xyzxyz", "qqqq", "！？。"]
