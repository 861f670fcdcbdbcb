"""/admin/catalog: the admins' catalog editor (drafts, preview, publish, versions, diff, retire,
import/export, bundles) and the working-day calendar. Admins only; no audit trail here (三权分立)."""

from __future__ import annotations

import re
from types import SimpleNamespace

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from auth.models import Role
from auth.policies import role_required
from catalog import english
from catalog.admin import forms as F
from catalog.admin import operations as ops
from catalog.admin.diff import diff_records
from catalog.admin.io import CatalogError, export_xlsx, export_yaml, import_text
from catalog.admin.queries import admin_items
from catalog.application_form import build_application_form
from catalog.guide import build_guide
from catalog.models import (
    Bundle,
    BundleItem,
    Category,
    ItemStatus,
    ItemVersion,
    ServiceItem,
)
from catalog.queries import CategoryView, version_view
from core.clock import local_today
from core.db import db
from core.transaction import show_error, transaction
from core.workdays.models import CalendarOverride

bp = Blueprint("catalog_admin", __name__, url_prefix="/admin")
admin_only = role_required(Role.ADMIN)
PART_FORMS = {"documents": F.DocumentForm, "situations": F.SituationForm, "fields": F.FieldForm}
PART_TITLES = {"documents": "申请材料", "situations": "情形", "fields": "表单字段"}


def _item_or_404(code: str) -> ServiceItem:
    item = ops.get_item(code)
    if item is None:
        abort(404)
    return item


def _categories() -> list[Category]:
    return list(db.session.scalars(select(Category).order_by(Category.position)))


def _category_views() -> dict[int, CategoryView]:
    return {c.id: CategoryView(c.code, c.name, c.description, c.icon, c.position) for c in _categories()}


def _catalog_changed() -> None:
    """After committing a change to what citizens see: this worker looks at the new revision at once
    (the others within ``CATALOG_CHECK_SECONDS``)."""
    current_app.extensions["catalog_cache"].invalidate()


def _status(code: int) -> int:
    return code if request.method == "POST" else 200


# List --------------------------------------------------------------------------------------------


@bp.route("/catalog/")
@admin_only
def items():
    def arg(name: str, length: int = 50) -> str:
        # a NUL byte never reaches PostgreSQL (it refuses such text): the filters now run in SQL
        return (request.args.get(name) or "").replace("\x00", "").strip()[:length]

    q, category, status, has_draft = arg("q"), arg("category", 32), arg("status", 16), arg("draft", 1)
    depth = request.args.get("depth", type=int)
    out = admin_items(q=q, category=category, status=status, depth=depth, has_draft=has_draft)
    cats = {c.id: c for c in _categories()}
    return render_template(
        "admin/items.html",
        rows=out,
        categories=cats.values(),
        q=q,
        category=category,
        status=status,
        depth=depth,
        has_draft=has_draft,
    )


@bp.route("/catalog/new", methods=["GET", "POST"])
@admin_only
def new_item():
    form = F.NewItemForm()
    form.category_id.choices = [(c.id, c.name) for c in _categories()]
    if form.validate_on_submit():
        values = form.values()
        category = db.session.get(Category, values.pop("category_id"))
        with transaction(form) as tx:
            item = ops.create_item(
                code=form.code.data, name=values.pop("name"), category=category, values=values
            )
        if tx.ok:
            flash(_("事项已创建为草稿，添加申请材料后即可发布。"), "success")
            return redirect(url_for("catalog_admin.edit", code=item.code))
    if request.method == "GET":
        form.delivery.data = ["mail"]
        form.fee.data = 0
    return render_template("admin/new_item.html", form=form), _status(422)


# One item ----------------------------------------------------------------------------------------


def _item_form(version: ItemVersion, formdata=None) -> F.ItemForm:
    form = F.ItemForm(formdata=formdata, obj=None if formdata is not None else version)
    form.category_id.choices = [(c.id, c.name) for c in _categories()]
    if formdata is None:
        form.aliases.data = "、".join(version.aliases or [])
        form.faq.data = F.format_faq(version.faq)
        en = version.english or {}
        form.name_en.data = en.get("name", "")
        form.aliases_en.data = "\n".join(en.get("aliases") or [])
        form.description_en.data = en.get("description", "")
        form.conditions_en.data = en.get("conditions", "")
        for key in english.GUIDE_KEYS:
            getattr(form, f"{key}_en").data = en.get(key, "")
        form.faq_en.data = F.format_faq(en.get("faq"))
        form.parts_en.data = F.english_parts_skeleton(version)
        form.item_type.data = version.item_type.value
        form.unit_kind.data = version.unit_kind.value
        form.day_kind.data = version.day_kind.value
        form.delivery.data = list(version.delivery or [])
    return form


def _posted_token() -> str | None:
    """The draft token the page sent back (see :func:`ops.lock_for_edit`)."""
    return request.form.get("draft") or None


STALE_ITEM = _l(
    "该草稿在您打开页面后已被其他管理员修改，本次没有保存。您填写的内容保留在下方，页面上方已是最新草稿；"
    "核对后再次保存，将以您填写的内容为准。"
)
STALE_PART = _l(
    "该草稿在您打开页面后已被其他管理员修改（条目可能已增删或调整顺序），本次没有保存。您填写的内容保留在下方，"
    "请复制需要的内容，再从事项页重新打开这一条修改。"
)
STALE_ACTION = _l("该草稿在您打开页面后已被其他管理员修改，本次操作没有执行。请查看最新草稿后再操作。")
STALE_BUNDLE = _l(
    "该一件事在您打开页面后已被其他管理员修改，本次没有保存。您填写的内容保留在表单中，其他管理员保存的内容列在表单上方；"
    "核对后再次保存，将以您填写的内容为准。"
)
STALE_BUNDLE_ACTION = _l(
    "该一件事在您打开页面后已被其他管理员修改，本次操作没有执行。请查看最新内容后再操作。"
)


def _page(
    item: ServiceItem,
    form: F.ItemForm | None = None,
    problems=None,
    status: int = 200,
    token: str | None = None,
):
    """The item's editor page; ``token`` is the draft token its forms send back (by default the draft
    as it is now; a form that failed validation keeps the one it was drawn with)."""
    version = ops.working_version(item)
    form = form or _item_form(version)
    versions = list(
        db.session.scalars(
            select(ItemVersion).where(ItemVersion.item_id == item.id).order_by(ItemVersion.version.desc())
        )
    )
    return render_template(
        "admin/edit.html",
        item=item,
        version=version,
        form=form,
        versions=versions,
        problems=problems,
        missing_english=ops.missing_english(item, version),
        action=F.ActionForm(),
        when=F.format_when,
        titles=PART_TITLES,
        draft_token=token or ops.draft_token(item),
    ), status


@bp.route("/catalog/items/<code>", methods=["GET", "POST"])
@admin_only
def edit(code: str):
    item = _item_or_404(code)
    if request.method == "GET":
        return _page(item)
    form = _item_form(ops.working_version(item), request.form)
    if form.validate_on_submit():
        with transaction() as tx:  # no form: a stale draft gets its own message, not the operation's
            ops.lock_for_edit(item, _posted_token())
            ops.update_item(item, form.values())
        if tx.ok:
            flash(_("已保存到草稿。发布前群众看到的仍是当前版本。"), "success")
            return redirect(url_for("catalog_admin.edit", code=code) + "#item-form")
        if isinstance(tx.error, ops.StaleDraft):
            # the admin's values stay in the form, drawn with today's token: saving again is deliberate
            form.form_errors.append(str(STALE_ITEM))
            return _page(item, form, status=409)
        show_error(form, tx.error)
    return _page(item, form, status=422, token=_posted_token())


@bp.route("/catalog/items/<code>/<any(documents, situations, fields):kind>/new", methods=["GET", "POST"])
@admin_only
def part_new(code: str, kind: str):
    item = _item_or_404(code)
    form = PART_FORMS[kind]()
    if form.validate_on_submit():
        with transaction(form) as tx:
            ops.lock_for_edit(item, None)  # an addition overwrites nothing: it only waits its turn
            index = ops.add_part(item, kind, form.values())
        if tx.ok:
            flash(_("已添加到草稿。"), "success")
            return redirect(url_for("catalog_admin.edit", code=code) + f"#{_anchor(kind, index, item)}")
    return _part_page(item, kind, form, None), _status(422)


def _anchor(kind: str, index: int, item: ServiceItem) -> str:
    if kind == "documents":
        return f"doc-{index}"
    part = getattr(ops.working_version(item), kind)[index]
    return f"{'sit' if kind == 'situations' else 'field'}-{part.key}"


def _part_page(item: ServiceItem, kind: str, form, index: int | None, token: str | None = None):
    version = ops.working_version(item)
    keys = {s.key: [o.value for o in s.options] for s in version.situations}
    return render_template(
        "admin/part.html",
        item=item,
        kind=kind,
        form=form,
        index=index,
        title=PART_TITLES[kind],
        situations=keys,
        draft_token=token or ops.draft_token(item),
    )


@bp.route(
    "/catalog/items/<code>/<any(documents, situations, fields):kind>/<int:index>", methods=["GET", "POST"]
)
@admin_only
def part_edit(code: str, kind: str, index: int):
    item = _item_or_404(code)
    parts = getattr(ops.working_version(item), kind)
    if not 0 <= index < len(parts):
        abort(404)
    part = parts[index]
    if request.method == "GET":
        form = PART_FORMS[kind](obj=part)
        if kind in ("documents", "fields"):
            form.when.data = F.format_when(part.condition)
        if kind == "documents":
            form.form.data, form.requirement.data, form.source.data = (
                part.form.value,
                part.requirement.value,
                part.source.value,
            )
        if kind == "situations":
            form.options.data = F.format_options(part.options)
        if kind == "fields":
            form.type.data = part.type.value
            form.options.data = "\n".join(part.options or [])
        return _part_page(item, kind, form, index)
    form = PART_FORMS[kind]()
    if form.validate_on_submit():
        with transaction() as tx:  # no form: a stale draft gets its own message, not the operation's
            ops.lock_for_edit(item, _posted_token())
            ops.update_part(item, kind, index, form.values())
        if tx.ok:
            flash(_("已保存到草稿。"), "success")
            return redirect(url_for("catalog_admin.edit", code=code) + f"#{_anchor(kind, index, item)}")
        if isinstance(tx.error, ops.StaleDraft):
            # the index may now name another entry: keep the old token, so this form cannot overwrite
            form.form_errors.append(str(STALE_PART))
            return _part_page(item, kind, form, index, token=_posted_token()), 409
        show_error(form, tx.error)
    return _part_page(item, kind, form, index, token=_posted_token()), 422


@bp.route(
    "/catalog/items/<code>/<any(documents, situations, fields):kind>/<int:index>/delete", methods=["POST"]
)
@admin_only
def part_delete(code: str, kind: str, index: int):
    item = _item_or_404(code)
    if F.ActionForm().validate_on_submit():
        with transaction() as tx:
            ops.lock_for_edit(item, _posted_token())
            ops.remove_part(item, kind, index)
        if isinstance(tx.error, ops.StaleDraft):
            flash(str(STALE_ACTION), "warning")
            return redirect(url_for("catalog_admin.edit", code=code) + f"#{kind}")
        if not tx.ok:  # no such entry
            abort(404)
        flash(_("已从草稿中删除。"), "success")
    return redirect(url_for("catalog_admin.edit", code=code) + f"#{kind}")


@bp.route(
    "/catalog/items/<code>/<any(documents, situations, fields):kind>/<int:index>/move", methods=["POST"]
)
@admin_only
def part_move(code: str, kind: str, index: int):
    item = _item_or_404(code)
    step = -1 if request.form.get("direction") == "up" else 1
    if F.ActionForm().validate_on_submit():
        with transaction() as tx:
            ops.lock_for_edit(item, _posted_token())
            ops.move_part(item, kind, index, step)
        if isinstance(tx.error, ops.StaleDraft):
            flash(str(STALE_ACTION), "warning")
            return redirect(url_for("catalog_admin.edit", code=code) + f"#{kind}")
        if not tx.ok:  # no such entry
            abort(404)
    return redirect(url_for("catalog_admin.edit", code=code) + f"#{kind}")


@bp.route("/catalog/items/<code>/publish", methods=["POST"])
@admin_only
def publish(code: str):
    item = _item_or_404(code)
    if not F.ActionForm().validate_on_submit():
        abort(400)
    with transaction() as tx:
        ops.lock_for_edit(item, _posted_token())  # publish what the admin reviewed, nothing newer
        version = ops.publish(item)
    if isinstance(tx.error, ops.StaleDraft):
        flash(str(STALE_ACTION), "warning")
        return redirect(url_for("catalog_admin.edit", code=code))
    if isinstance(tx.error, ops.PublishRefused):
        return _page(item, problems=tx.error.problems, status=422)
    if not tx.ok:
        flash(tx.message, "warning")
        return redirect(url_for("catalog_admin.edit", code=code))
    _catalog_changed()
    flash(_("第 %(v)s 版已发布，群众页面即时更新。", v=version.version), "success")
    missing = ops.missing_english(item, version)
    if missing:
        flash(
            _(
                "该事项面向外国人，但以下内容缺少英文（英文页面显示中文）：%(parts)s",
                parts="；".join(missing),
            ),
            "warning",
        )
    return redirect(url_for("catalog_admin.edit", code=code))


@bp.route("/catalog/items/<code>/<any(discard, retire, reinstate):action>", methods=["POST"])
@admin_only
def item_action(code: str, action: str):
    item = _item_or_404(code)
    if F.ActionForm().validate_on_submit():
        with transaction() as tx:
            if action == "discard":
                ops.lock_for_edit(item, _posted_token())  # discard only the draft the admin saw
            {"discard": ops.discard_draft, "retire": ops.retire, "reinstate": ops.reinstate}[action](item)
        if isinstance(tx.error, ops.StaleDraft):
            flash(str(STALE_ACTION), "warning")
        elif not tx.ok:
            flash(tx.message, "warning")
        else:
            _catalog_changed()
            flash(
                {
                    "discard": _("草稿已放弃。"),
                    "retire": _("事项已停用：不再出现在搜索和申请中，已提交的办件不受影响。"),
                    "reinstate": _("事项已恢复。"),
                }[action],
                "success",
            )
    return redirect(url_for("catalog_admin.edit", code=code))


# Preview, versions, diff -------------------------------------------------------------------------


def _view_for(item: ServiceItem):
    number = request.args.get("v", type=int)
    version = ops.version_number(item, number) if number else ops.working_version(item)
    if version is None:
        abort(404)
    return version_view(version, item.code, _category_views())


def _rewrite_links(html: str, code: str, version: int) -> str:
    """Point the guide's situation form (and its htmx swap) at the preview instead of the live page."""
    live = url_for("catalog.item", code=code)
    html = html.replace(f'action="{live}"', f'action="{url_for("catalog_admin.preview", code=code)}"')
    html = html.replace(
        f'hx-get="{url_for("catalog.item_documents", code=code)}"',
        f'hx-get="{url_for("catalog_admin.preview_documents", code=code, v=version)}"',
    )
    return html


@bp.route("/catalog/items/<code>/preview")
@admin_only
def preview(code: str):
    """The citizen's item page exactly as it renders, built from the draft (or ``?v=N``)."""
    item = _item_or_404(code)
    view = _view_for(item)
    answers = {s.key: request.args.get(s.key, "") for s in view.situations}
    guide = build_guide(view, answers)
    html = render_template(
        "admin/preview_item.html", item=view, guide=guide, snap=None, bundles=[], admin_item=item
    )
    return _rewrite_links(html, code, view.version)


@bp.route("/catalog/items/<code>/preview/documents")
@admin_only
def preview_documents(code: str):
    item = _item_or_404(code)
    view = _view_for(item)
    guide = build_guide(view, {s.key: request.args.get(s.key, "") for s in view.situations})
    return render_template("catalog/_documents.html", item=view, guide=guide)


@bp.route("/catalog/items/<code>/preview/form", methods=["GET", "POST"])
@admin_only
def preview_form(code: str):
    """The online application form as the citizen will see it (answers from the query string);
    submitting it validates and shows the messages, and saves nothing."""

    item = _item_or_404(code)
    view = _view_for(item)
    guide = build_guide(view, {s.key: request.args.get(s.key, "") for s in view.situations})
    is_proxy = guide.answers.get("applicant") == "proxy"
    form = build_application_form(guide.fields, view.delivery, [], is_proxy)
    status = 200
    if request.method == "POST":
        form.validate()
        status = 422 if form.errors else 200
    fake = SimpleNamespace(id=0, is_proxy=is_proxy)
    return render_template(
        "admin/preview_form.html", item=view, guide=guide, form=form, app=fake, step=1, admin_item=item
    ), status


@bp.route("/catalog/items/<code>/diff")
@admin_only
def diff(code: str):
    item = _item_or_404(code)
    versions = list(
        db.session.scalars(
            select(ItemVersion).where(ItemVersion.item_id == item.id).order_by(ItemVersion.version)
        )
    )
    if not versions:
        abort(404)
    a = request.args.get("a", type=int) or (
        versions[-2].version if len(versions) > 1 else versions[-1].version
    )
    b = request.args.get("b", type=int) or versions[-1].version
    va, vb = ops.version_number(item, a), ops.version_number(item, b)
    if va is None or vb is None:
        abort(404)
    rows = diff_records(ops.record_of(va, item), ops.record_of(vb, item))
    return render_template("admin/diff.html", item=item, a=va, b=vb, rows=rows, versions=versions)


# Import / export ---------------------------------------------------------------------------------


@bp.route("/catalog/export.yaml")
@admin_only
def export_catalog_yaml():
    return Response(
        export_yaml(),
        mimetype="application/x-yaml",
        headers={"Content-Disposition": f"attachment; filename=catalog-{local_today():%Y%m%d}.yaml"},
    )


@bp.route("/catalog/export.xlsx")
@admin_only
def export_catalog_xlsx():
    return Response(
        export_xlsx(),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename=catalog-{local_today():%Y%m%d}.xlsx"},
    )


@bp.route("/catalog/import", methods=["GET", "POST"])
@admin_only
def import_catalog():
    form = F.ImportForm()
    problems: list[str] = []
    result = None
    if form.validate_on_submit():
        upload = request.files.get("file")
        name = upload.filename if upload else ""
        if not upload or not re.search(r"\.(ya?ml|json)$", name or ""):
            problems = [_("请选择 .yaml 或 .json 文件")]
        else:
            try:
                with transaction() as tx:
                    text = upload.read(5 * 1024 * 1024 + 1).decode("utf-8")
                    if len(text) > 5 * 1024 * 1024:
                        raise CatalogError([_("文件不能超过 5 MB")])
                    result = import_text(text, name)
            except UnicodeDecodeError:
                problems = [_("文件应为 UTF-8 编码")]
            except CatalogError as exc:  # not a DomainError: the helper rolls back and re-raises it
                problems = exc.problems
            else:
                if tx.ok:
                    _catalog_changed()
                    flash(_("导入完成。"), "success")
                else:
                    problems = [tx.message]
    elif request.method == "POST":
        problems = [_("页面已过期，请重新提交。")]
    return render_template("admin/import.html", form=form, problems=problems, result=result), (
        422 if problems else 200
    )


# Bundles -----------------------------------------------------------------------------------------


@bp.route("/catalog/bundles/")
@admin_only
def bundles():
    rows = db.session.scalars(
        select(Bundle).options(selectinload(Bundle.items).selectinload(BundleItem.item)).order_by(Bundle.code)
    )
    return render_template("admin/bundles.html", bundles=list(rows))


def _bundle_values(form: F.BundleForm) -> dict:
    return {
        "name": form.name.data,
        "aliases": F.split_list(form.aliases.data),
        "description": form.description.data or "",
        "item_codes": F.split_list(form.items.data),
        "partners": [p.strip() for p in (form.partners.data or "").splitlines() if p.strip()],
    }


def _bundle_or_404(code: str) -> Bundle:
    bundle = db.session.scalar(select(Bundle).where(Bundle.code == code))
    if bundle is None:
        abort(404)
    return bundle


@bp.route("/catalog/bundles/new", methods=["GET", "POST"])
@admin_only
def bundle_new():
    form = F.NewBundleForm()
    if form.validate_on_submit():
        with transaction(form) as tx:
            bundle = ops.create_bundle(code=form.code.data, **_bundle_values(form))
        if tx.ok:
            _catalog_changed()
            flash(_("一件事“%(name)s”已创建，群众页面即时可见。", name=bundle.name), "success")
            return redirect(url_for("catalog_admin.bundles"))
    return render_template("admin/bundle.html", bundle=None, form=form), _status(422)


@bp.route("/catalog/bundles/<code>", methods=["GET", "POST"])
@admin_only
def bundle_edit(code: str):
    bundle = _bundle_or_404(code)
    form = F.BundleForm()
    token, status, saved = _posted_token(), _status(422), None
    if request.method == "GET":
        form.name.data, form.description.data = bundle.name, bundle.description
        form.aliases.data = "、".join(bundle.aliases or [])
        form.items.data = "\n".join(bi.item.code for bi in bundle.items)
        form.partners.data = "\n".join(bundle.partners or [])
    elif form.validate_on_submit():
        with transaction() as tx:  # no form: a stale bundle gets its own message, not the operation's
            ops.lock_bundle(bundle, token)
            ops.update_bundle(bundle, **_bundle_values(form))
        if tx.ok:
            _catalog_changed()
            flash(_("一件事已保存。"), "success")
            return redirect(url_for("catalog_admin.bundles"))
        if isinstance(tx.error, ops.StaleDraft):
            form.form_errors.append(str(STALE_BUNDLE))
            saved = ops.bundle_record(bundle)  # what the other admin saved, beside what this one typed
            token, status = None, 409  # the token is drawn anew below: saving again is deliberate
        else:
            show_error(form, tx.error)  # the item codes
    return render_template(
        "admin/bundle.html",
        bundle=bundle,
        form=form,
        action=F.ActionForm(),
        draft_token=token or ops.bundle_token(bundle),
        saved=saved,
    ), status


@bp.route("/catalog/bundles/<code>/delete", methods=["POST"])
@admin_only
def bundle_delete(code: str):
    bundle = _bundle_or_404(code)
    if not F.ActionForm().validate_on_submit():
        abort(400)
    with transaction() as tx:
        ops.lock_bundle(bundle, _posted_token())
        name = bundle.name
        ops.delete_bundle(bundle)
    if not tx.ok:  # the bundle changed since the page was drawn (StaleDraft)
        flash(str(STALE_BUNDLE_ACTION), "warning")
        return redirect(url_for("catalog_admin.bundle_edit", code=code))
    _catalog_changed()
    flash(_("一件事“%(name)s”已删除，其中的事项不受影响。", name=name), "success")
    return redirect(url_for("catalog_admin.bundles"))


# Working-day calendar ----------------------------------------------------------------------------


@bp.route("/calendar/", methods=["GET", "POST"])
@admin_only
def calendar():

    form = F.CalendarForm()
    if form.validate_on_submit():
        with transaction(form) as tx:
            ops.add_calendar_override(form.day.data, form.working.data == "1", form.note.data or "")
        if tx.ok:
            flash(_("已添加。"), "success")
            return redirect(url_for("catalog_admin.calendar"))
    rows = db.session.scalars(select(CalendarOverride).order_by(CalendarOverride.day.desc())).all()
    return render_template("admin/calendar.html", form=form, rows=rows, action=F.ActionForm()), _status(422)


@bp.route("/calendar/<int:override_id>/delete", methods=["POST"])
@admin_only
def calendar_delete(override_id: int):
    if F.ActionForm().validate_on_submit():
        with transaction() as tx:
            ops.delete_calendar_override(override_id)
        if not tx.ok:  # no such override
            abort(404)
        flash(_("已删除。"), "success")
    return redirect(url_for("catalog_admin.calendar"))


ITEM_STATUSES = [s.value for s in ItemStatus]
