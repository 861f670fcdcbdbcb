"""The 一件事 flow editor: an admin drafts a bundle's flow, previews what a citizen will be asked, and
publishes it — or is refused with every problem (a dependency cycle, a mapped field the item no longer
has, a retired item, an unknown or inactive department, an item not in the bundle) and keeps the draft.
Mistakes in typing are shown at their section with the line, and nothing typed is lost."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from catalog.admin import operations as ops
from catalog.admin.flow_forms import format_steps
from catalog.models import Bundle, BundleVersion, CatalogState, ExternalDepartment, VersionState
from core.audit import AuditLog
from core.db import db
from tests.auth.helpers import csrf_token, field_error, flashes, login_as
from tests.catalog_admin.helpers import admin_client

BUNDLE = "LJ-YJS-001"
FLOW = f"/admin/catalog/bundles/{BUNDLE}/flow"


def _textarea(page: str, name: str) -> str:
    match = re.search(rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', page, re.S)
    assert match, name
    return html.unescape(match.group(1)).removeprefix("\r\n").removeprefix("\n")


def _form(client) -> dict:
    """The editor's form as the page shows it (the sections and the token)."""
    page = client.get(FLOW).text
    token = re.search(r'name="draft" value="([^"]*)"', page).group(1)
    return {name: _textarea(page, name) for name in ("questions", "situations", "documents", "steps")} | {
        "draft": token
    }


def _versions(app) -> list[tuple[int, str]]:
    with app.app_context():
        bundle = db.session.scalar(select(Bundle).where(Bundle.code == BUNDLE))
        rows = db.session.scalars(
            select(BundleVersion).where(BundleVersion.bundle_id == bundle.id).order_by(BundleVersion.version)
        )
        return [(v.version, v.state.value) for v in rows]


def _draft(app) -> dict | None:
    with app.app_context():
        bundle = db.session.scalar(select(Bundle).where(Bundle.code == BUNDLE))
        version = db.session.scalar(
            select(BundleVersion).where(
                BundleVersion.bundle_id == bundle.id, BundleVersion.state == VersionState.DRAFT
            )
        )
        return version.definition if version else None


def _published(app) -> dict:
    with app.app_context():
        bundle = db.session.scalar(select(Bundle).where(Bundle.code == BUNDLE))
        return db.session.scalar(
            select(BundleVersion.definition).where(
                BundleVersion.bundle_id == bundle.id, BundleVersion.state == VersionState.PUBLISHED
            )
        )


def _audits(app, action: str) -> list[AuditLog]:
    with app.app_context():
        return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action)))


def _steps_with(app, change) -> str:
    """The published steps as YAML after ``change(steps)`` edited them."""
    steps = [dict(s) for s in _published(app)["steps"]]
    change(steps)
    return format_steps(steps)


def _publish(client):
    return client.post(f"{FLOW}/publish", data={"draft": _form(client)["draft"]})


def test_the_bundle_pages_lead_to_the_flow_editor_which_shows_the_published_flow(small):
    client = admin_client(small)
    assert FLOW in client.get("/admin/catalog/bundles/").text
    page = client.get(f"/admin/catalog/bundles/{BUNDLE}").text
    assert "联办流程" in page and FLOW in page and "已发布第 1 版" in page
    form = _form(client)
    assert "baby_name|新生儿姓名|text|必填" in form["questions"].splitlines()
    assert "- married|已办理结婚登记" in form["situations"]
    assert "birth_cert|出生医学证明|必须" in form["documents"].splitlines()
    assert "item: LJ-HJ-006" in form["steps"] and "depends_on: [hukou, insurance]" in form["steps"]


def test_a_saved_draft_is_previewed_and_published_superseding_the_old_version(small):
    client = admin_client(small)
    form = _form(client)
    form["questions"] += "\nfather_name|父亲姓名|text|选填"
    r = client.post(FLOW, data=form)
    assert r.status_code == 302
    assert _versions(small) == [(1, "published"), (2, "draft")]
    assert _draft(small)["questions"][-1] == {
        "key": "father_name",
        "label": "父亲姓名",
        "type": "text",
        "required": False,
        "options": [],
        "help": "",
    }
    page = client.get(FLOW).text
    assert "正在编辑第 2 版草稿" in page and "发布检查已通过" in page
    # a second save edits the same draft: one draft at a time
    form = _form(client)
    form["documents"] += "\nphoto|新生儿照片|可选|白底"
    assert client.post(FLOW, data=form).status_code == 302
    assert _versions(small) == [(1, "published"), (2, "draft")]

    preview = client.get(f"{FLOW}/preview").text
    assert "父亲姓名" in preview and "新生儿姓名" in preview
    assert "父母是否已办理结婚登记？" in preview
    assert "出生登记（报户口）（出生医学证明）" in preview  # the shared document and the item it serves
    assert "未用于任何事项" in preview  # the photo serves nothing yet
    assert "代办人姓名" not in preview  # applicant is fixed to const:self: the proxy's fields never show
    order = re.search(r'data-testid="flow-order">(.*?)</ol>', preview, re.S).group(1)
    assert (
        order.index("出生登记（报户口）")
        < order.index("城乡居民医保参保登记")
        < order.index("社会保障卡申领")
    )
    assert "在 出生登记（报户口）、城乡居民医保参保登记 办结后开始" in order
    assert "提交后立即开始" in order
    assert "市卫生健康委员会" in order

    with small.app_context():
        revision = db.session.get(CatalogState, 1).revision
    r = _publish(client)
    assert r.status_code == 302
    assert "联办流程第 2 版已发布" in " ".join(flashes(client.get(FLOW).text))
    assert _versions(small) == [(1, "superseded"), (2, "published")]
    assert _published(small)["questions"][-1]["key"] == "father_name"
    with small.app_context():
        assert db.session.get(CatalogState, 1).revision > revision
    row = _audits(small, "catalog.bundle_flow_publish")[-1]
    assert row.object_type == "bundle" and row.object_id == BUNDLE
    assert row.details["before"] == {"version": 1} and row.details["after"] == {"version": 2}
    assert len(_audits(small, "catalog.bundle_flow_draft")) == 2


def test_publishing_a_cycle_is_refused_with_the_cycle_and_the_draft_is_kept(small):
    client = admin_client(small)
    form = _form(client)

    def loop(steps):
        next(s for s in steps if s["key"] == "hukou")["depends_on"] = ["sscard"]

    form["steps"] = _steps_with(small, loop)
    assert client.post(FLOW, data=form).status_code == 302  # half-done work may be saved
    page = client.get(FLOW).text
    assert "发布前还需解决" in page and "循环依赖" in page
    saved = _draft(small)
    r = _publish(client)
    assert r.status_code == 422
    problems = re.search(r'data-testid="publish-problems">(.*?)</div>', r.text, re.S).group(1)
    assert "步骤之间存在循环依赖：hukou → sscard → hukou" in html.unescape(problems)
    assert _draft(small) == saved and _versions(small) == [(1, "published"), (2, "draft")]
    assert _audits(small, "catalog.bundle_flow_publish") == []
    # the preview still shows the steps (in the draft's order) and why it cannot be published
    preview = client.get(f"{FLOW}/preview").text
    assert "循环依赖" in preview and "社会保障卡申领" in preview


def test_a_flow_mapping_a_field_the_item_does_not_have_is_refused(small):
    client = admin_client(small)
    form = _form(client)

    def bad(steps):
        hukou = next(s for s in steps if s["key"] == "hukou")
        hukou["field_map"] = {**hukou["field_map"], "no_such_field": "shared.baby_name"}
        hukou["document_map"] = {**hukou["document_map"], "不存在的材料": "birth_cert"}

    form["steps"] = _steps_with(small, bad)
    client.post(FLOW, data=form)
    r = _publish(client)
    assert r.status_code == 422
    text = html.unescape(r.text)
    assert "映射的表单字段“no_such_field”在事项中已不存在" in text
    assert "映射的材料“不存在的材料”在事项中已不存在" in text
    assert _versions(small) == [(1, "published"), (2, "draft")]


def test_departments_and_items_are_checked_at_publish(small):
    client = admin_client(small)
    with small.app_context():
        db.session.scalar(select(ExternalDepartment).where(ExternalDepartment.code == "wsjk")).active = False
        db.session.commit()
    form = _form(client)

    def change(steps):
        next(s for s in steps if s["key"] == "insurance")["department"] = "nobody"
        steps.append({"key": "extra", "kind": "item", "item": "LJ-HJ-001", "name": "户籍证明"})

    form["steps"] = _steps_with(small, change)
    client.post(FLOW, data=form)
    r = _publish(client)
    assert r.status_code == 422
    text = html.unescape(r.text)
    assert "步骤“预防接种证”的协办部门“市卫生健康委员会”已停用" in text
    assert "步骤“城乡居民医保参保登记”的协办部门 nobody 不存在" in text
    assert "步骤“户籍证明”的事项 LJ-HJ-001 不在本一件事包含的事项中" in text


def test_typing_mistakes_are_shown_at_their_section_and_nothing_typed_is_lost(small):
    client = admin_client(small)
    form = _form(client)
    form["questions"] += "\nFather|父亲姓名"
    form["situations"] += "\nsingle|只有一个选项？\n- yes|是"
    form["steps"] = form["steps"] + "\n- key: x\n  kind: fax\n  name: 传真\n  colour: red\n"
    r = client.post(FLOW, data=form)
    assert r.status_code == 422
    assert "第6行：标识“Father”" in field_error(r.text, "questions")
    assert "情形“single”至少需要两个选项" in field_error(r.text, "situations")
    steps_error = field_error(r.text, "steps")
    assert "kind 应为 item（公安事项）或 handoff（协办部门）" in steps_error
    assert "无法识别的设置：colour" in steps_error
    assert field_error(r.text, "documents") is None
    for name in ("questions", "situations", "documents", "steps"):
        assert _textarea(r.text, name).rstrip("\n") == form[name].rstrip("\n"), name
    assert _draft(small) is None  # nothing saved
    r = client.post(
        FLOW, data=form | {"steps": "- key: a\n  kind: [item\n", "questions": form["questions"][:-13]}
    )
    assert r.status_code == 422 and "YAML 格式有误" in field_error(r.text, "steps")
    assert _draft(small) is None


def test_discarding_the_draft_leaves_the_published_flow(small):
    client = admin_client(small)
    form = _form(client)
    assert client.post(FLOW, data=form).status_code == 302  # nothing changed: no draft
    assert "没有创建草稿" in " ".join(flashes(client.get(FLOW).text))
    assert _versions(small) == [(1, "published")]
    form["questions"] += "\nfather_name|父亲姓名"
    client.post(FLOW, data=form)
    r = client.post(f"{FLOW}/discard", data={"draft": _form(client)["draft"]})
    assert r.status_code == 302
    assert _versions(small) == [(1, "published")]
    assert len(_audits(small, "catalog.bundle_flow_discard")) == 1
    r = client.post(f"{FLOW}/discard", data={"draft": _form(client)["draft"]})
    assert "没有草稿可以放弃" in " ".join(flashes(client.get(FLOW).text))
    r = _publish(client)
    assert "没有待发布的草稿" in " ".join(flashes(client.get(FLOW).text))
    # a draft put back to what is published is not published again
    form = _form(client)
    client.post(FLOW, data=form | {"questions": form["questions"] + "\nfather_name|父亲姓名"})
    client.post(FLOW, data=form | {"draft": _form(client)["draft"]})
    assert _versions(small) == [(1, "published"), (2, "draft")]
    _publish(client)
    assert "草稿与已发布的版本相同" in " ".join(flashes(client.get(FLOW).text))
    assert _versions(small) == [(1, "published"), (2, "draft")]


def test_a_save_over_another_admins_change_is_refused_with_the_typed_text_kept(small):
    first, second = admin_client(small), admin_client(small)
    mine, theirs = _form(first), _form(second)
    theirs["questions"] += "\nfather_name|父亲姓名"
    assert second.post(FLOW, data=theirs).status_code == 302
    mine["questions"] += "\nmother_name|母亲姓名"
    r = first.post(FLOW, data=mine)
    assert r.status_code == 409 and "已被其他管理员修改" in html.unescape(r.text)
    assert "mother_name|母亲姓名" in _textarea(r.text, "questions")
    assert _draft(small)["questions"][-1]["key"] == "father_name"
    # publishing what the admin has not seen is refused too
    r = first.post(f"{FLOW}/publish", data={"draft": mine["draft"]})
    assert r.status_code == 302 and _versions(small) == [(1, "published"), (2, "draft")]


def test_an_item_version_dropping_a_mapped_field_is_refused_and_retiring_the_item_too(small):
    client = admin_client(small)
    with small.app_context():
        fields = [f.key for f in ops.working_version(ops.get_item("LJ-HJ-006")).fields]
    index = fields.index("baby_name")
    token = re.search(
        r'name="draft" value="([^"]*)"', client.get("/admin/catalog/items/LJ-HJ-006").text
    ).group(1)
    r = client.post(f"/admin/catalog/items/LJ-HJ-006/fields/{index}/delete", data={"draft": token})
    assert r.status_code == 302
    token = re.search(
        r'name="draft" value="([^"]*)"', client.get("/admin/catalog/items/LJ-HJ-006").text
    ).group(1)
    r = client.post("/admin/catalog/items/LJ-HJ-006/publish", data={"draft": token})
    assert r.status_code == 422
    text = html.unescape(r.text)
    assert "一件事“出生一件事”（LJ-YJS-001）的已发布联办流程会因此失效" in text
    assert "映射的表单字段“baby_name”在事项中已不存在" in text
    with small.app_context():
        assert ops.version_in(ops.get_item("LJ-HJ-006"), VersionState.DRAFT) is not None  # kept

    r = client.post("/admin/catalog/items/LJ-HJ-006/retire", data={"draft": token})
    assert r.status_code == 302
    assert "步骤“出生登记（报户口）”的事项将停用" in " ".join(
        flashes(client.get("/admin/catalog/items/LJ-HJ-006").text)
    )
    with small.app_context():
        assert ops.get_item("LJ-HJ-006").status.value == "published"
    assert _audits(small, "catalog.retire") == []


def test_other_roles_and_unknown_bundles_never_reach_the_editor(small):
    client = small.test_client()
    login_as(small, client, "clerk")
    assert client.get(FLOW).status_code == 403
    assert client.post(f"{FLOW}/publish", data={}).status_code == 403
    admin = admin_client(small)
    assert admin.get("/admin/catalog/bundles/LJ-NOPE/flow").status_code == 404
    assert admin.get(f"{FLOW}/preview?v=99").status_code == 404
    assert admin.post("/admin/catalog/bundles/LJ-NOPE/flow/publish", data={}).status_code == 404


def test_a_post_without_the_csrf_token_changes_nothing(make_app):
    from tests.catalog_admin.conftest import small_catalog, wire

    app = wire(make_app(WTF_CSRF_ENABLED=True))
    with app.app_context():
        small_catalog()
    client = app.test_client()
    login_as(app, client, "admin", csrf=True)
    page = client.get(FLOW).text
    data = {name: _textarea(page, name) for name in ("questions", "situations", "documents", "steps")}
    data["questions"] += "\nfather_name|父亲姓名"
    r = client.post(FLOW, data=data)
    assert r.status_code == 400 and "页面已过期" in r.text  # the house's CSRF page
    assert client.post(f"{FLOW}/publish", data={}).status_code == 400
    assert client.post(f"{FLOW}/discard", data={}).status_code == 400
    assert _versions(app) == [(1, "published")]
    # with the token the same save goes through
    assert client.post(FLOW, data=data | {"csrf_token": csrf_token(page)}).status_code == 302
    assert _versions(app) == [(1, "published"), (2, "draft")]
