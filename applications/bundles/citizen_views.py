"""The citizen's pages of a submitted 一件事: its detail (every part, dependencies, one timeline), the
one page that answers several units' correction requests, and the bundle's 好差评. The card in 我的办件
is drawn by the list page from :func:`applications.bundles.queries.cards_for`."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from applications.bundles import citizen as ops
from applications.bundles import queries
from applications.bundles.view_forms import BundleRatingForm
from applications.documents.uploads import MAX_BYTES, UploadRejected, clean_upload
from applications.ratings.operations import LEVEL_LABELS, rating_for
from applications.submission.forms import ActionForm
from applications.submission.operations import correction_asks, pinned_item
from applications.workflow.states import State
from auth.models import Role
from auth.policies import role_required
from catalog.guide import build_guide
from core.errors import NotFound
from core.storage import get_storage
from core.transaction import transaction

bp = Blueprint("bundle_view", __name__)
citizen_only = role_required(Role.CITIZEN)


def init_bundle_views(app: Flask) -> None:
    """Register the citizen's bundle pages."""
    app.register_blueprint(bp)


def _own(bundle_id: int):
    try:
        return queries.get_own_bundle(current_user, bundle_id)
    except NotFound:
        abort(404)


def _render_detail(bundle, rating_form: BundleRatingForm | None = None, status: int = 200):
    view = queries.bundle_view(bundle)
    item_ratings = {
        line.application.id: rating_for(line.application)
        for line in view.lines
        if line.application is not None and line.application.state in (State.APPROVED, State.DELIVERED)
    }
    return render_template(
        "bundles/view_detail.html",
        view=view,
        timeline=queries.timeline(view),
        rating_form=rating_form or BundleRatingForm(),
        level_labels=LEVEL_LABELS,
        item_ratings=item_ratings,
    ), status


@bp.get("/my/bundles/<int:bundle_id>")
@citizen_only
def detail(bundle_id: int):
    return _render_detail(_own(bundle_id))


@bp.post("/my/bundles/<int:bundle_id>/rate")
@citizen_only
def rate(bundle_id: int):
    bundle = _own(bundle_id)
    form = BundleRatingForm()
    if not form.validate_on_submit():
        return _render_detail(bundle, form, 422)
    with transaction(form) as tx:
        ops.rate_bundle(bundle, current_user, level=int(form.level.data), comment=form.comment.data or "")
    if tx.ok:
        flash(_("感谢您的评价！"), "success")
        return redirect(url_for("bundle_view.detail", bundle_id=bundle_id, _anchor="rating"))
    if isinstance(tx.error, ops.AlreadyRated | ops.NotRateable):
        flash(tx.message, "warning")
        return redirect(url_for("bundle_view.detail", bundle_id=bundle_id, _anchor="rating"))
    return _render_detail(bundle, form, 422)


# One page for several correction requests --------------------------------------------------------


def _asks(apps):
    """(application, item name, its correction asks) for each application waiting for a correction."""
    out = []
    for app in apps:
        item = pinned_item(app)
        out.append((app, item.name, correction_asks(app, build_guide(item, app.answers or {}))))
    return out


def _read_answers(asks) -> tuple[dict[int, ops.ItemAnswer], dict[int, dict[str, str]]]:
    """Each item's files and replies from the request (``a<id>-doc-<position>``, ``a<id>-ask-<n>``);
    a file the upload checks refuse gets its message at its own place."""
    answers: dict[int, ops.ItemAnswer] = {}
    problems: dict[int, dict[str, str]] = {}
    for app, _name, item_asks in asks:
        given = ops.ItemAnswer()
        accept = {d.position: d.accept for d in pinned_item(app).documents}
        for n, ask in enumerate(item_asks):
            if ask.kind == "document":
                upload = request.files.get(f"a{app.id}-doc-{ask.position}")
                if upload and upload.filename:
                    try:
                        given.files[ask.position] = clean_upload(
                            upload.filename, upload.read(MAX_BYTES + 1), allowed=accept.get(ask.position, ())
                        )
                    except UploadRejected as exc:
                        problems.setdefault(app.id, {})[ask.target] = _(exc.message)
            else:
                given.replies[ask.target] = request.form.get(f"a{app.id}-ask-{n}", "")
        answers[app.id] = given
    return answers, problems


@bp.route("/my/bundles/<int:bundle_id>/corrections", methods=["GET", "POST"])
@citizen_only
def corrections(bundle_id: int):
    bundle = _own(bundle_id)
    asks = _asks(ops.correcting(bundle))
    form = ActionForm()
    problems: dict[int, dict[str, str]] = {}
    message = ""
    if request.method == "POST":
        if not form.validate_on_submit():
            flash(_("页面已过期，请重新提交。"), "warning")
            return redirect(url_for("bundle_view.corrections", bundle_id=bundle_id))
        if not asks:
            flash(_("没有需要补正的事项。"), "info")
            return redirect(url_for("bundle_view.detail", bundle_id=bundle_id))
        answers, problems = _read_answers(asks)
        if not problems:
            with transaction() as tx:
                done = ops.answer_corrections(bundle, current_user, answers, get_storage())
            if tx.ok:
                flash(_("已提交 %(n)d 个事项的补正材料，请等待审核。", n=len(done)), "success")
                return redirect(url_for("bundle_view.detail", bundle_id=bundle_id))
            message = tx.message
            if isinstance(tx.error, ops.CorrectionsRefused):
                problems = tx.error.problems
        else:
            message = _("有材料未通过检查，请按提示重新选择文件；其他已填写的内容已保留。")
    elif not asks:
        return redirect(url_for("bundle_view.detail", bundle_id=bundle_id))
    return render_template(
        "bundles/view_corrections.html",
        view=queries.bundle_view(bundle),
        asks=asks,
        form=form,
        problems=problems,
        message=message,
        typed=request.form,
    ), (422 if message else 200)
