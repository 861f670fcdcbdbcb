"""The log-file gateway (the default backend) and choosing a gateway from the configuration."""

from __future__ import annotations

import json
import stat

import pytest

from core.outbox import LogFileGateway, deliver_pending, get_gateway

from .conftest import T0, add_messages


def _lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_log_file_gateway_appends_one_masked_json_line_per_sms(tmp_path):
    path = tmp_path / "new" / "folder" / "sms.log"
    gateway = LogFileGateway(path)
    gateway.send_sms("13912345678", "【临江公安】您的申请已提交，编号LJ202603020001。")
    gateway.send_sms("13700001111", "证件 330102199003071234 已办结，联系 13912345678")
    raw = path.read_text(encoding="utf-8")
    assert "13912345678" not in raw and "13700001111" not in raw and "330102199003071234" not in raw
    first, second = _lines(path)
    assert (
        first["mobile"] == "139****5678"
        and first["text"] == "【临江公安】您的申请已提交，编号LJ202603020001。"
    )
    assert (
        second["mobile"] == "137****1111"
        and second["text"] == "证件 3301**********1234 已办结，联系 139****5678"
    )
    assert first["at"].endswith("+00:00")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_default_gateway_writes_under_the_instance_folder(app, tmp_path, citizen):
    gateway = get_gateway(app)
    assert isinstance(gateway, LogFileGateway)
    assert gateway.path == tmp_path / "instance" / "sms.log"  # INSTANCE_DIR of the test app
    with app.app_context():
        add_messages(citizen.id, 2)
        assert deliver_pending(gateway, now=T0)["sent"] == 2
    lines = _lines(gateway.path)
    assert [line["mobile"] for line in lines] == [citizen.mobile[:3] + "****" + citizen.mobile[-4:]] * 2
    assert citizen.mobile not in gateway.path.read_text(encoding="utf-8")


def test_gateway_configuration(make_app, tmp_path):
    custom = make_app(SMS_GATEWAY="log", SMS_LOG_PATH=str(tmp_path / "elsewhere.log"))
    assert get_gateway(custom).path == tmp_path / "elsewhere.log"
    with custom.app_context():
        assert get_gateway().path == tmp_path / "elsewhere.log"  # current_app
    with pytest.raises(ValueError, match="unknown SMS_GATEWAY"):
        get_gateway(make_app(SMS_GATEWAY="carrier-pigeon"))
