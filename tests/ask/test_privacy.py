"""What is kept of a question: no ID number, mobile, other long number, e-mail or name."""

from __future__ import annotations

import pytest

from catalog.ask.privacy import scrub


@pytest.mark.parametrize(
    ("text", "kept", "gone"),
    [
        ("我叫张三，身份证33030219900101123X丢了", "我叫〔姓名〕，身份证〔证件号〕丢了", ["张三", "3303"]),
        ("李明的手机13812345678打不通", "〔姓名〕的手机〔手机号〕打不通", ["李明", "138"]),
        ("我的银行卡6222020200112233445被冻结", "我的银行卡〔号码〕被冻结", ["6222"]),
        ("老号码330302900101123还能用吗", "老号码〔证件号〕还能用吗", ["330302"]),
        ("发到 a.b@qq.com 谢谢", "发到 〔邮箱〕 谢谢", ["qq.com"]),
        ("驾照到期了怎么换证", "驾照到期了怎么换证", []),
        ("护照丢了，名字是王小明", "护照丢了，名字是〔姓名〕", ["王小明"]),
    ],
)
def test_personal_data_is_taken_out(text, kept, gone):
    out = scrub(text)
    assert out == kept
    for piece in gone:
        assert piece not in out
