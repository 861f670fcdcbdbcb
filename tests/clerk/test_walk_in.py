"""窗口登记 as a whole case: the item's own form, the scans, 容缺, the counter visit, the 受理回执 — and
the clerk's mistakes (a missing field, a bad file, someone else's ID number, a double click)."""

from __future__ import annotations

import io
import re
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from applications.clerk import operations as ops
from applications.models import Application, ApplicationDocument, Channel, Visit
from applications.stats import metrics
from applications.workflow.states import State
from auth.models import User
from core.audit import AuditLog
from core.clock import local_today
from core.db import db
from core.outbox import OutboxMessage
from core.transaction import commit
from tests.auth.helpers import field_error, input_value, make_id_number
from tests.clerk.helpers import PS_ITEM, citizen, login_staff, scan, unit, user, walk_in_data

#: 父母投靠子女落户: counter or mail; with relation_proof=other_proof document 3 may follow later (容缺).
DEFERRABLE_ITEM = "LJ-HJ-010"
NEW_PERSON = {"real_name": "陈小芳", "mobile": "13955550001"}


def _clerk(world, username: str = "clerk_ps_dc_01"):
    client = world.test_client()
    login_staff(client, username)
    return client


def _counts(world) -> tuple[int, int, int, int]:
    with world.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(t))
            for t in (Application, User, ApplicationDocument, Visit)
        )


def _stored_files(world) -> list[Path]:
    root = Path(world.config["UPLOAD_DIR"])
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _new_person_number(serial: int = 700) -> str:
    return make_id_number("330102", "19800202", serial)


def test_the_counter_picks_the_item_then_the_situation_then_sees_the_items_own_form(world):
    client = _clerk(world)
    first = client.get("/clerk/walk-in").text
    assert "无犯罪记录证明" in first and 'name="real_name"' not in first
    situations = client.get(f"/clerk/walk-in?item={PS_ITEM}").text
    assert "本人申请还是委托他人代办？" in situations
    page = client.get(f"/clerk/walk-in?item={PS_ITEM}&answered=1&applicant=self&usage=domestic").text
    # the citizen's online form: the item's own fields, delivery, and one file input per document
    for name in ("real_name", "f_purpose", "delivery_method", "contact_mobile"):
        assert f'name="{name}"' in page, name
    assert 'name="f_mobile"' not in page  # the item's 联系电话 repeated contact_mobile: asked once
    assert 'name="doc-0"' in page and "multiple" in page
    assert "犯罪记录信息" in page  # fetched from the government system: listed, not scanned
    assert 'name="doc-1"' not in page


def test_a_complete_walk_in_stores_the_form_scans_and_one_visit_and_prints_a_receipt(world):
    client = _clerk(world)
    number = _new_person_number()
    r = client.post(
        "/clerk/walk-in",
        data=walk_in_data(
            DEFERRABLE_ITEM,
            id_number=number,
            relation_proof="other_proof",
            delivery_method="counter",
            pickup_unit="LJ-PS-DC-01",
            **NEW_PERSON,
            **{
                "doc-0": [scan("户口簿第1页.png"), scan("户口簿第2页.png")],
                "doc-1": scan("身份证.png"),
                "defer-3": "y",
            },
        ),
    )
    assert r.status_code == 302, r.text[:300]
    aid = int(re.search(r"/clerk/applications/(\d+)/receipt$", r.headers["Location"]).group(1))
    with world.app_context():
        a = db.session.get(Application, aid)
        assert a.channel == Channel.COUNTER and a.state == State.SUBMITTED
        assert a.answers["relation_proof"] == "other_proof"
        # stored exactly as the online form stores them
        assert a.form_data["parent_names"] == "张大山、李秀英"
        assert a.form_data["move_in_address"] == "东城区滨江路8号3单元"
        assert a.delivery_method == "counter" and a.pickup_unit_id == unit("LJ-PS-DC-01").id
        assert sorted((d.requirement, d.display_name) for d in a.documents) == [
            (0, "户口簿第1页.png"),
            (0, "户口簿第2页.png"),
            (1, "身份证.png"),
        ]
        assert [(v.purpose, v.recorded_by_id) for v in a.visits] == [("窗口受理", user("clerk_ps_dc_01").id)]
        assert a.events[-1].details == {"scanned": 3, "deferred": ["亲属关系证明（原籍派出所或档案材料）"]}
        # the 容缺 document has its due date, so the citizen can 补交 it online and is reminded
        (deferral,) = a.deferrals
        assert (deferral.requirement, deferral.fulfilled_at) == (3, None) and deferral.due_on > local_today()
        uploads = db.session.scalar(
            select(func.count()).where(
                AuditLog.action == "application.document_upload", AuditLog.object_id == str(aid)
            )
        )
        assert uploads == 3
        # the new account is told how to set a password (the identity work's activation SMS)
        person = db.session.scalar(select(User).where(User.id_number_is(number)))
        assert db.session.scalar(
            select(OutboxMessage).where(
                OutboxMessage.user_id == person.id, OutboxMessage.kind == "account_activation"
            )
        )
        reference = a.reference
    receipt = client.get(r.headers["Location"])
    assert receipt.status_code == 200
    text = receipt.text
    assert reference in text and "受理回执" in text and "父母投靠子女落户" in text
    assert "已扫描 2 个文件" in text and "容缺受理，请尽快补交" in text
    assert "承诺办结日期" in text and re.search(r"data-testid=\"receipt-promised\">\d{4}-\d{2}-\d{2}", text)
    assert "我的办件" in text and "忘记密码" in text
    assert number not in text and "139****0001" in text  # masked on the clerk's screen


def test_a_missing_required_field_is_refused_at_the_field_and_keeps_what_was_typed(world):
    client = _clerk(world)
    before = _counts(world)
    number = _new_person_number(701)
    r = client.post(
        "/clerk/walk-in",
        data=walk_in_data(f_purpose="", id_number=number, **NEW_PERSON, **{"doc-0": scan()}),
    )
    assert r.status_code == 422
    assert field_error(r.text, "f_purpose") == "请填写查询用途"
    assert input_value(r.text, "real_name") == "陈小芳" and input_value(r.text, "id_number") == number
    assert input_value(r.text, "mail_address") == "滨江路8号3单元"
    assert "扫描件未保存，请重新选择文件" in r.text
    assert _counts(world) == before and _stored_files(world) == []


def test_a_required_document_neither_scanned_nor_allowed_to_follow_is_refused(world):
    client = _clerk(world)
    before = _counts(world)
    r = client.post(
        "/clerk/walk-in",
        data=walk_in_data(
            DEFERRABLE_ITEM,
            id_number=_new_person_number(702),
            relation_proof="other_proof",
            mail_address="滨江路8号3单元",
            **NEW_PERSON,
            **{"doc-0": scan()},  # no 身份证 (doc-1), and the 容缺 one neither scanned nor ticked
        ),
    )
    assert r.status_code == 422
    assert 'id="doc-error-1"' in r.text and "请扫描上传：父母及子女居民身份证" in r.text
    assert "请扫描上传，或勾选容缺后补：亲属关系证明" in r.text
    assert _counts(world) == before


def test_a_bad_file_is_refused_at_its_document_and_nothing_is_written(world):
    client = _clerk(world)
    before = _counts(world)
    r = client.post(
        "/clerk/walk-in",
        data=walk_in_data(
            id_number=_new_person_number(703),
            **NEW_PERSON,
            **{"doc-0": [scan("正面.png"), (io.BytesIO(b"MZ\x90\x00 not a picture"), "反面.png")]},
        ),
    )
    assert r.status_code == 422
    error = re.search(r'id="doc-error-0"[^>]*>([^<]*)<', r.text).group(1)
    assert error.startswith("反面.png：")
    assert input_value(r.text, "real_name") == "陈小芳"
    assert _counts(world) == before and _stored_files(world) == []


def test_someone_elses_id_number_with_another_name_writes_no_half_case(world):
    client = _clerk(world)
    before = _counts(world)
    with world.app_context():
        holder = citizen()
        level_before = holder.assurance
    r = client.post("/clerk/walk-in", data=walk_in_data(real_name="王冒名", **{"doc-0": scan()}))
    assert r.status_code == 422
    assert "姓名与该身份证号码已登记的账号不一致" in field_error(r.text, "real_name")
    assert input_value(r.text, "real_name") == "王冒名"
    assert _counts(world) == before
    assert _stored_files(world) == []  # the scan stored before the refusal went with the rollback
    with world.app_context():
        assert citizen().assurance == level_before
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "account.counter_attach")) is None


def test_a_double_clicked_submit_makes_one_application(world):
    client = _clerk(world)
    data = walk_in_data(id_number=_new_person_number(704), **NEW_PERSON)
    first = client.post("/clerk/walk-in", data={**data, "doc-0": scan()})
    second = client.post("/clerk/walk-in", data={**data, "doc-0": scan()})
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    with world.app_context():
        rows = db.session.scalars(select(Application).where(Application.start_token == data["token"])).all()
        assert len(rows) == 1
        assert len(rows[0].visits) == 1 and len(rows[0].documents) == 1
        assert (
            db.session.scalar(select(func.count()).select_from(User).where(User.mobile_is("13955550001")))
            == 1
        )


def test_a_clerk_of_another_unit_cannot_see_the_case_or_its_receipt(world):
    client = _clerk(world)
    r = client.post("/clerk/walk-in", data=walk_in_data(**{"doc-0": scan()}))
    receipt = r.headers["Location"]
    aid = receipt.split("/")[-2]
    other = _clerk(world, "clerk_ps_dc_02")
    assert other.get(receipt).status_code == 404
    assert other.get(f"/clerk/applications/{aid}").status_code == 404
    # and replaying the first clerk's token from another unit does not reveal it either
    token_replay = other.post("/clerk/walk-in", data=walk_in_data(**{"doc-0": scan()}))
    assert token_replay.status_code == 302  # a fresh token: a case of its own unit
    with world.app_context():
        first = db.session.get(Application, int(aid))
        replay = walk_in_data(token=first.start_token, **{"doc-0": scan()})
    assert other.post("/clerk/walk-in", data=replay).status_code == 404


def test_a_walk_in_is_never_zero_visit(world):
    client = _clerk(world)
    r = client.post("/clerk/walk-in", data=walk_in_data(**{"doc-0": scan()}))
    aid = int(r.headers["Location"].split("/")[-2])
    with world.app_context():
        a = db.session.get(Application, aid)
        clerk = user("clerk_ps_dc_01")
        ops.accept(a, clerk)
        ops.approve(a, clerk, delivery="mail", carrier="EMS", tracking="1234567890")
        commit()
        today = local_today()
        totals = metrics.compute(metrics.Period(today, today)).totals
        assert (totals.completed, totals.zero_visit, totals.at_most_once) == (1, 0, 1)


def test_two_posts_of_one_form_racing_past_the_token_check_still_make_one_application(world, monkeypatch):
    """Both requests checked the token before either committed: the second finds the first's account
    (or hits its unique ID number) and the first's case, and shows the first's receipt."""
    from applications.clerk import views as clerk_views

    client = _clerk(world)
    data = walk_in_data(id_number=_new_person_number(705), **NEW_PERSON)
    first = client.post("/clerk/walk-in", data={**data, "doc-0": scan()})
    assert first.status_code == 302
    real_lookup = ops.walk_in_for_token
    missed = iter([None])  # the second request's early check ran before the first committed
    monkeypatch.setattr(
        clerk_views.ops,
        "walk_in_for_token",
        lambda clerk, token: next(missed, None) or real_lookup(clerk, token),
    )
    second = client.post("/clerk/walk-in", data={**data, "doc-0": scan()})
    assert second.status_code == 302 and second.headers["Location"] == first.headers["Location"]

    def duplicate_account(*args, **kwargs):
        raise IntegrityError("INSERT INTO users", {}, Exception("UNIQUE constraint failed: users.id_number"))

    missed = iter([None])
    monkeypatch.setattr(clerk_views.ops, "register_walk_in_citizen", duplicate_account)
    third = client.post("/clerk/walk-in", data={**data, "doc-0": scan()})
    assert third.status_code == 302 and third.headers["Location"] == first.headers["Location"]
    with world.app_context():
        assert db.session.scalar(select(func.count()).where(Application.start_token == data["token"])) == 1
        assert db.session.scalar(select(func.count()).select_from(Visit)) == 1


def test_an_item_of_another_kind_of_unit_is_refused_at_the_item(world):
    client = _clerk(world)
    r = client.post("/clerk/walk-in", data=walk_in_data("LJ-CJ-006"))  # a vehicle office's item
    assert r.status_code == 422 and field_error(r.text, "item") == "请选择本单位办理的事项"
    r = client.post("/clerk/walk-in", data={"item": ""})
    assert r.status_code == 422 and field_error(r.text, "item") == "请选择事项"
