"""Everyday questions → the demo item meant (the 智能咨询 test set).

Written as people type them: whole sentences, their own words for things, English, and mistakes —
wrong but similar characters (mostly homophones from a pinyin keyboard), missing characters, extra
words. ``situations`` lists answers the question implies and the answer must infer. ``kind`` says
what the case tests, so the figures can be read per kind.
"""

from __future__ import annotations

from typing import NamedTuple


class Q(NamedTuple):
    question: str
    code: str
    kind: str
    situations: dict[str, str] = {}


SENTENCE = "sentence"
SYNONYM = "near-synonym"
TYPO = "typo"
MISSING = "missing character"
ENGLISH = "English"

QUESTIONS: list[Q] = [
    # sentences in the citizen's own words
    Q("女儿满月了还没上户口", "LJ-HJ-006", SENTENCE),
    Q("我的驾照在老家考的能在这边换吗", "LJ-CJ-014", SENTENCE),
    Q("身份证丢了怎么办", "LJ-HJ-003", SENTENCE, {"lost_way": "lost"}),
    Q("身份证被偷了要怎么补", "LJ-HJ-003", SENTENCE, {"lost_way": "stolen"}),
    Q("我身份证快过期了去哪换", "LJ-HJ-002", SENTENCE, {"reason": "expired"}),
    Q("身份证消磁了刷不出来", "LJ-HJ-002", SENTENCE, {"reason": "damaged"}),
    Q("孩子10岁想办身份证", "LJ-HJ-001", SENTENCE, {"age": "minor"}),
    Q("给儿子办护照要带什么", "LJ-CR-001", SENTENCE, {"age": "minor"}),
    Q("护照在国外弄丢了怎么办", "LJ-CR-003", SENTENCE, {"lost_place": "abroad"}),
    Q("护照明年到期了可以提前换吗", "LJ-CR-002", SENTENCE, {"reason": "expiring"}),
    Q("驾照到期了怎么换证", "LJ-CJ-011", SENTENCE),
    Q("驾驶证丢了能补吗", "LJ-CJ-012", SENTENCE),
    Q("驾驶证被我家狗咬坏了", "LJ-CJ-013", SENTENCE),
    Q("我爷爷去世了户口怎么注销", "LJ-HJ-007", SENTENCE),
    Q("想去香港玩要办什么证", "LJ-CR-005", SENTENCE),
    Q("港澳通行证过期了怎么办", "LJ-CR-006", SENTENCE, {"reason": "renew"}),
    Q("港澳通行证丢了在哪里补办", "LJ-CR-006", SENTENCE, {"reason": "lost"}),
    Q("去台湾旅游要办什么证件", "LJ-CR-008", SENTENCE),
    Q("出国留学要开无犯罪证明", "LJ-HJ-021", SENTENCE, {"usage": "abroad"}),
    Q("单位入职要开个良民证", "LJ-HJ-021", SENTENCE),
    Q("外地人在临江怎么办居住证", "LJ-HJ-022", SENTENCE),
    Q("居住证到期了要签注吗", "LJ-HJ-023", SENTENCE),
    Q("居住证丢了怎么补", "LJ-HJ-024", SENTENCE, {"reason": "lost"}),
    Q("户口本丢了怎么补办", "LJ-HJ-018", SENTENCE, {"reason": "lost"}),
    Q("养了条狗要去登记吗", "LJ-ZA-001", SENTENCE),
    Q("狗证到期了怎么年审", "LJ-ZA-002", SENTENCE),
    Q("新买的电瓶车怎么上牌", "LJ-ZA-003", SENTENCE, {"source": "new"}),
    Q("买了辆新车怎么上牌照", "LJ-CJ-001", SENTENCE),
    Q("二手车买卖怎么过户", "LJ-CJ-002", SENTENCE, {"transfer_type": "trade"}),
    Q("车牌被人偷了一块", "LJ-CJ-006", SENTENCE),
    Q("车子到了年检的时候", "LJ-CJ-009", SENTENCE),
    Q("车贷还清了怎么解押", "LJ-CJ-005", SENTENCE, {"type": "release"}),
    Q("老车要报废怎么注销", "LJ-CJ-004", SENTENCE, {"reason": "scrap"}),
    Q("闯红灯被拍了怎么处理", "LJ-CJ-019", SENTENCE),
    Q("我想约科目二考试", "LJ-CJ-018", SENTENCE, {"subject": "field"}),
    Q("大学毕业了想把户口落在临江", "LJ-HJ-011", SENTENCE),
    Q("在临江买了房能落户吗", "LJ-HJ-012", SENTENCE),
    Q("结婚了老婆户口想迁过来", "LJ-HJ-008", SENTENCE),
    Q("想把爸妈户口迁到我这里", "LJ-HJ-010", SENTENCE),
    Q("给孩子改个名字", "LJ-HJ-015", SENTENCE, {"age": "minor"}),
    Q("身份证上的生日写错了", "LJ-HJ-016", SENTENCE),
    Q("外国朋友来我家住要登记吗", "LJ-CR-011", SENTENCE, {"lodging": "host"}),
    Q("家里老人70岁了驾照要体检", "LJ-CJ-016", SENTENCE, {"driver_type": "elderly"}),
    Q("明天坐高铁身份证来不及办了", "LJ-HJ-004", SENTENCE),
    Q("公司要刻个公章", "LJ-ZA-005", SENTENCE),
    Q("开民宿需要公安许可吗", "LJ-ZA-004", SENTENCE),
    Q("开亲属关系证明证明我妈是我妈", "LJ-HJ-020", SENTENCE),
    Q("出国记录怎么查", "LJ-CR-012", SENTENCE),
    Q("想学车考驾照怎么报名", "LJ-CJ-020", SENTENCE),
    Q("户口要迁回老家", "LJ-HJ-013", SENTENCE),
    # near-synonyms: not the catalog's words
    Q("绿本不见了", "LJ-CJ-008", SYNONYM),
    Q("行车证找不到了", "LJ-CJ-007", SYNONYM),
    Q("小电驴上牌", "LJ-ZA-003", SYNONYM),
    Q("开暂住证", "LJ-HJ-022", SYNONYM),
    Q("老外签证要延期", "LJ-CR-010", SYNONYM),
    Q("搬家了户口跟着迁", "LJ-HJ-014", SYNONYM),
    # typos: wrong but similar characters
    Q("护昭丢了", "LJ-CR-003", TYPO),
    Q("身份正过期了", "LJ-HJ-002", TYPO),
    Q("港奥通行证签注", "LJ-CR-007", TYPO),
    Q("户籍证名怎么开", "LJ-HJ-019", TYPO),
    Q("无犯罪纪录证明", "LJ-HJ-021", TYPO),
    Q("架驶证到期换证", "LJ-CJ-011", TYPO),
    Q("居住正签注", "LJ-HJ-023", TYPO),
    Q("户口簿补办", "LJ-HJ-018", TYPO),
    # missing characters
    Q("港澳通证续签", "LJ-CR-007", MISSING),
    Q("驾证丢了", "LJ-CJ-012", MISSING),
    Q("无犯记录证明", "LJ-HJ-021", MISSING),
    Q("临时身证", "LJ-HJ-004", MISSING),
    Q("机动车登证书补领", "LJ-CJ-008", MISSING),
    # English
    Q("I lost my passport", "LJ-CR-003", ENGLISH),
    Q("my passport is expiring, how do I renew it", "LJ-CR-002", ENGLISH),
    Q("my work permit changed, what now", "LJ-CR-010", ENGLISH, {"purpose": "work"}),
    Q("register a foreigner staying at my home", "LJ-CR-011", ENGLISH),
    Q("driving licence lost", "LJ-CJ-012", ENGLISH),
    Q("certificate of no criminal record", "LJ-HJ-021", ENGLISH),
    Q("how to get a Hong Kong and Macau pass", "LJ-CR-005", ENGLISH),
]

#: Written after the engine and lexicon were tuned on QUESTIONS, and never tuned on: the honest figure.
HELD_OUT: list[Q] = [
    Q("孩子刚生下来怎么报户口", "LJ-HJ-006", SENTENCE),
    Q("我的护照过期好几年了还能换吗", "LJ-CR-002", SENTENCE),
    Q("去澳门旅游要签注吗", "LJ-CR-007", SENTENCE),
    Q("钱包丢了身份证也没了", "LJ-HJ-003", SENTENCE),
    Q("驾驶证照片页磨花了", "LJ-CJ-013", SENTENCE),
    Q("考公务员政审要开证明", "LJ-HJ-021", SENTENCE),
    Q("房子租给外国人要报备吗", "LJ-CR-011", SENTENCE),
    Q("车的行驶证丢在出租车上了", "LJ-CJ-007", SENTENCE),
    Q("奶奶过世了户口本怎么处理", "LJ-HJ-007", SENTENCE),
    Q("公司开业要刻几个章", "LJ-ZA-005", SENTENCE),
    Q("电动车要去哪里上牌照", "LJ-ZA-003", SYNONYM),
    Q("户口纸丢了", "LJ-HJ-018", SYNONYM),
    Q("港澳通行正过期", "LJ-CR-006", TYPO),
    Q("居主证怎么办", "LJ-HJ-022", TYPO),
    Q("my ID card was stolen", "LJ-HJ-003", ENGLISH),
    Q("foreigner visa extension", "LJ-CR-010", ENGLISH),
]
