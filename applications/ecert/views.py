"""电子证照 pages: the public key set and verification (page and JSON API), the citizen's certificate
shown large for a desk, the admin's register with revocation and the 免提交 rules."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from applications.ecert import keys, pdf, schemas
from applications.ecert import operations as ops
from applications.ecert.forms import RevokeForm, ShareForm, SourcesForm, VerifyForm
from applications.ecert.models import Certificate
from applications.ecert.payload import MAX_TEXT, Reason, Verdict
from auth.models import Assurance, Role
from auth.policies import role_required
from catalog.models import DocSource, DocumentRequirement
from core import api
from core.db import db
from core.extensions import csrf, limiter
from core.i18n import N_
from core.transaction import transaction

bp = Blueprint("ecert", __name__)
api_bp = Blueprint("ecert_api", __name__, url_prefix="/api/v1/ecert")
admin_bp = Blueprint("ecert_admin", __name__, url_prefix="/admin/ecerts")
citizen_only = role_required(Role.CITIZEN)
admin_only = role_required(Role.ADMIN)

REASON_LABELS = {
    Reason.OK: N_("真实有效"),
    Reason.MALFORMED: N_("格式错误：不是本系统签发的电子证照二维码，或内容不完整"),
    Reason.UNKNOWN_KEY: N_("签名密钥未知：不是本系统公布的签发密钥"),
    Reason.BAD_SIGNATURE: N_("签名无效：内容被篡改或伪造"),
    Reason.EXPIRED: N_("已过有效期"),
    Reason.NOT_YET_VALID: N_("尚未生效"),
    Reason.REVOKED: N_("已被签发单位撤销"),
}


@bp.app_context_processor
def _labels():
    return {"ecert_reason_labels": REASON_LABELS, "ecert_revocation_labels": ops.REVOCATION_LABELS}


@bp.route("/.well-known/ecert-keys.json")
def key_set():
    response = jsonify(keys.jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _revocation(verdict: Verdict) -> Certificate | None:
    if verdict.reason is not Reason.REVOKED:
        return None
    return db.session.scalar(select(Certificate).where(Certificate.number == verdict.claims.get("number")))


@bp.route("/verify", methods=["GET", "POST"])
@limiter.limit("60 per minute", methods=["POST"])
def verify_page():
    form = VerifyForm()
    verdict = None
    if form.validate_on_submit():
        verdict = ops.verify_online(form.payload.data)
    status = 422 if form.errors else 200
    page = render_template(
        "ecert/verify.html", form=form, verdict=verdict, revoked=verdict and _revocation(verdict)
    )
    # the one page that may use the camera (to scan the QR code); everywhere else it stays off
    return page, status, {"Permissions-Policy": "camera=(self), microphone=(), geolocation=()"}


@api_bp.route("/verify", methods=["POST"])
@csrf.exempt  # a stateless public check that changes nothing (no cookie authority is used)
@api.operation(
    summary="核验电子证照二维码",
    description="提交二维码内容，答复是否真实有效及原因（格式不对、未知密钥、签名错误、过期、未生效、已撤销）。",
    tags=("ecert",),
    body=schemas.VerifyBody,
    response=schemas.VerifyOut,
    limit="120 per minute",
)
def verify_api(body: schemas.VerifyBody):
    text = body.payload
    if not text.strip():
        raise api.ApiError(400, "missing", _('请以 JSON 提交 {"payload": "LJ1:…"}'), "payload")
    if len(text) > MAX_TEXT:
        text = text[: MAX_TEXT + 1]  # decode() refuses it as malformed
    verdict = ops.verify_online(text)
    answer = {
        "valid": verdict.genuine,
        "reason": verdict.reason.value,
        "message": _(REASON_LABELS[verdict.reason]),
        "kid": verdict.kid or None,
        "claims": verdict.claims or None,
    }
    cert = _revocation(verdict)
    if cert is not None and cert.revoked_reason is not None:
        answer["revoked"] = {
            "at": cert.revoked_at.isoformat() if cert.revoked_at else None,
            "reason": cert.revoked_reason.value,
        }
    return schemas.VerifyOut.model_validate(answer)


# The citizen ----------------------------------------------------------------------------------------


def _real_name_only():
    """Showing, downloading or sharing an e-certificate needs real-name verification (DESIGN §6)."""
    if current_user.level < Assurance.L2:
        flash(
            _("查看或分享电子证照须实名认证（L2）：请在“个人中心”进行人口信息核验，或到任一公安窗口核验。"),
            "warning",
        )
        return redirect(url_for("applications.wallet"))
    return None


@bp.route("/me/ecerts/<int:cert_id>")
@citizen_only
def show(cert_id: int):
    """The certificate with its QR code large, to show at a desk from a phone."""
    cert = ops.own_certificate(current_user, cert_id)
    if (refused := _real_name_only()) is not None:
        return refused
    return render_template("ecert/show.html", cert=cert, share_form=ShareForm())


@bp.route("/me/ecerts/<int:cert_id>/share", methods=["POST"])
@citizen_only
@limiter.limit("20 per hour")
def share(cert_id: int):
    """Make a one-time verification link and show it once (only its hash is stored)."""
    cert = ops.own_certificate(current_user, cert_id)
    if (refused := _real_name_only()) is not None:
        return refused
    form = ShareForm()
    if not form.validate_on_submit():
        abort(400)
    with transaction() as tx:
        link, token = ops.create_share_link(cert, current_user)
    if not tx.ok:
        flash(tx.message, "danger")
        return redirect(url_for("ecert.show", cert_id=cert.id))
    url = url_for("ecert.shared", token=token, _external=True)
    return render_template("ecert/shared_link.html", cert=cert, url=url, link=link)


@bp.route("/verify/s/<token>", methods=["GET", "POST"])
@limiter.limit("30 per minute")
def shared(token: str):
    """A shared link: GET asks to confirm (a chat app's link preview must not use it up), POST uses
    it once and shows the certificate's live verification."""
    form = ShareForm()
    if request.method == "POST" and form.validate_on_submit():
        with transaction() as tx:
            cert = ops.use_share_link(token[:100])
        if tx.ok:
            verdict = ops.verify_online(cert.payload)
            return render_template(
                "ecert/verify.html",
                form=VerifyForm(formdata=None),
                verdict=verdict,
                revoked=_revocation(verdict),
            )
        return render_template("ecert/shared_gone.html", message=tx.message), 410
    try:
        ops.peek_share_link(token[:100])
    except ops.LinkGone as exc:
        return render_template("ecert/shared_gone.html", message=_(str(exc))), 410
    return render_template("ecert/shared_open.html", form=form)


@bp.route("/me/ecerts/<int:cert_id>/qr.png")
@citizen_only
def qr(cert_id: int):
    cert = ops.own_certificate(current_user, cert_id)
    if current_user.level < Assurance.L2:
        abort(403)
    return Response(
        pdf.qr_png(cert.payload, scale=8),
        mimetype="image/png",
        headers={"Cache-Control": "private, no-store"},
    )


# The admin ------------------------------------------------------------------------------------------


@admin_bp.route("/")
@admin_only
def register():
    number = (request.args.get("number") or "").strip()[:40]
    query = select(Certificate).order_by(Certificate.id.desc()).limit(100)
    if number:
        query = select(Certificate).where(Certificate.number == number)
    return render_template(
        "ecert/register.html", certs=list(db.session.scalars(query)), number=number, keys=keys.all_keys()
    )


@admin_bp.route("/<int:cert_id>/revoke", methods=["GET", "POST"])
@admin_only
def revoke(cert_id: int):
    cert = db.session.get(Certificate, cert_id)
    if cert is None:
        abort(404)
    form = RevokeForm()
    if form.validate_on_submit():
        with transaction(form) as tx:
            ops.revoke(cert, reason=form.reason.data, note=form.note.data or "")
        if tx.ok:
            return redirect(url_for("ecert_admin.register", number=cert.number))
    return render_template("ecert/revoke.html", cert=cert, form=form), 422 if form.errors else 200


def _document_names() -> list[str]:
    """Every document name the catalog asks the applicant for (government-sourced ones are fetched
    already and never asked)."""
    return list(
        db.session.scalars(
            select(DocumentRequirement.name)
            .where(DocumentRequirement.source == DocSource.APPLICANT)
            .distinct()
            .order_by(DocumentRequirement.name)
        )
    )


@admin_bp.route("/sources", methods=["GET", "POST"])
@admin_only
def sources():
    form = SourcesForm()
    types = sorted(set(db.session.scalars(select(Certificate.cert_type).distinct())) | set(_issuable_types()))
    form.cert_types.choices = [(t, t) for t in types]
    documents = _document_names()
    if form.validate_on_submit():
        with transaction(form) as tx:
            ops.set_document_sources(
                form.doc_name.data,
                [t for t in form.cert_types.data or [] if t in types],
                known_documents=documents,
            )
        if tx.ok:
            return redirect(url_for("ecert_admin.sources"))
    return render_template(
        "ecert/sources.html",
        form=form,
        documents=documents,
        rules=ops.document_sources(),
        types=types,
    ), 422 if form.errors else 200


def _issuable_types() -> list[str]:
    """The result names of items that issue e-certificates (what a rule may name before any is issued)."""
    from catalog.queries import catalog

    return sorted({(i.result_name or i.name) for i in catalog().items.values() if i.e_certificate})
