"""A generated catalog of any size for search benchmarks: real words recombined into item names."""

from __future__ import annotations

import random

from catalog.search import SearchEntry, build_entry

SUBJECTS = [
    "居民身份证",
    "户口",
    "机动车",
    "驾驶证",
    "护照",
    "港澳通行证",
    "台湾通行证",
    "居住证",
    "犬只",
    "电动自行车",
    "旅馆业",
    "公章",
    "保安服务",
    "烟花爆竹",
    "剧毒化学品",
    "行驶证",
    "号牌",
    "检验合格标志",
    "出生",
    "死亡",
    "姓名",
    "住址",
    "学历",
    "婚姻",
    "民族",
    "签注",
    "外国人签证",
    "住宿",
    "出入境记录",
    "违法",
]
ACTIONS = [
    "申领",
    "换领",
    "补领",
    "登记",
    "变更",
    "注销",
    "迁入",
    "迁出",
    "签发",
    "延期",
    "审验",
    "备案",
    "许可",
    "查询",
    "更正",
    "核发",
    "抵押",
    "转移",
    "恢复",
    "证明",
]
QUALIFIERS = [
    "",
    "（首次）",
    "（异地）",
    "（代办）",
    "（团队）",
    "（个人）",
    "（企业）",
    "（加急）",
    "（网上）",
    "（窗口）",
]
ALIASES = [
    "身份证",
    "户口本",
    "驾照",
    "年检",
    "上牌",
    "过户",
    "办护照",
    "狗证",
    "良民证",
    "刻章",
    "签证",
    "续签",
]


def generate_entries(n: int, seed: int = 7) -> list[SearchEntry]:
    rng = random.Random(seed)
    entries = []
    for i in range(n):
        name = rng.choice(SUBJECTS) + rng.choice(ACTIONS) + rng.choice(QUALIFIERS) + f"{i}"
        aliases = [rng.choice(ALIASES) + str(i)] if rng.random() < 0.5 else []
        desc = f"办理{name}的事项，适用于{rng.choice(SUBJECTS)}相关业务，材料齐全即办。"
        entries.append(build_entry(f"G-{i:06d}", name, aliases, desc))
    return entries


def sample_queries(n: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    fixed = [
        "hz",
        "sfz",
        "驾照到期",
        "孩子上户口",
        "护照",
        "huzhao",
        "户籍证名",
        "身份证丢了",
        "jsz",
        "年检",
        "我想办个护照",
        "港澳",
        "gatxz",
        "dianzi",
        "狗证",
        "刻章",
        "不存在的东西",
        "xyzxyz",
    ]
    out = []
    for _ in range(n):
        if rng.random() < 0.5:
            out.append(rng.choice(fixed))
        else:
            out.append(rng.choice(SUBJECTS) + rng.choice(["", rng.choice(ACTIONS)]))
    return out
