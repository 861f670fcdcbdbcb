"""Units (city bureau → branch bureaus → police stations / 车管所 / 出入境大队): list, add, edit.

A unit's code and kind identify it in routing rules, staff memberships and the catalog files, so they
are fixed once created; everything people read (name, district, address, phone, hours, parent) can
change. Every change is audited with before and after values and bumps the catalog revision (the
guide pages show unit addresses).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from auth.models import Role, Unit, UnitKind
from auth.policies import role_required
from catalog.admin import operations as ops
from catalog.districts import district_choices
from catalog.labels import LABELS
from core.db import db
from core.forms import PortalForm, strip
from core.transaction import transaction

bp = Blueprint("units_admin", __name__, url_prefix="/admin/units")
admin_only = role_required(Role.ADMIN)
DISTRICTS = district_choices(_l("全市（不分辖区）"))


class UnitForm(PortalForm):
    code = StringField(
        _l("单位编码"),
        filters=[strip],
        validators=[
            DataRequired(_l("请填写单位编码")),
            Length(2, 32),
            Regexp(r"^[A-Z0-9-]+$", message=_l("编码只能由大写字母、数字和连字符组成")),
        ],
    )
    kind = SelectField(_l("单位类型"), choices=[(k.value, LABELS["unit_kind"][k.value]) for k in UnitKind])
    name = StringField(
        _l("单位名称"), filters=[strip], validators=[DataRequired(_l("请填写单位名称")), Length(2, 100)]
    )
    district = SelectField(_l("辖区"), choices=DISTRICTS, validators=[Optional()])
    parent = SelectField(_l("上级单位"), choices=[], validators=[Optional()])
    address = StringField(_l("地址"), filters=[strip], validators=[Optional(), Length(max=200)])
    phone = StringField(
        _l("电话"),
        filters=[strip],
        validators=[
            Optional(),
            Length(max=32),
            Regexp(r"^[0-9\-+ ]*$", message=_l("电话只能包含数字、空格、+ 和 -")),
        ],
    )
    hours = StringField(_l("办公时间"), filters=[strip], validators=[Optional(), Length(max=200)])


def _form(unit: Unit | None, formdata=None) -> UnitForm:
    form = UnitForm(formdata=formdata, obj=unit)
    others = db.session.scalars(select(Unit).order_by(Unit.code)).all()
    form.parent.choices = [("", _("无"))] + [
        (str(u.id), f"{u.code} {u.name}") for u in others if unit is None or u.id != unit.id
    ]
    if formdata is None and unit is not None:
        form.parent.data = str(unit.parent_id) if unit.parent_id else ""
        form.kind.data = unit.kind.value
    return form


def _values(form: UnitForm) -> dict:
    return {
        "name": form.name.data,
        "district": form.district.data or None,
        "parent_id": int(form.parent.data) if form.parent.data else None,
        "address": form.address.data or None,
        "phone": form.phone.data or None,
        "hours": form.hours.data or None,
    }


@bp.route("/")
@admin_only
def units():
    rows = db.session.scalars(select(Unit).order_by(Unit.code)).all()
    return render_template("admin/units.html", rows=rows, active="units")


@bp.route("/new", methods=["GET", "POST"])
@admin_only
def new_unit():
    form = _form(None, request.form if request.method == "POST" else None)
    if request.method == "POST" and form.validate_on_submit():
        with transaction(form) as tx:
            ops.create_unit(form.code.data, UnitKind(form.kind.data), _values(form))
        if tx.ok:
            flash(_("单位已添加。"), "success")
            return redirect(url_for("units_admin.units"))
    status = 422 if request.method == "POST" else 200
    return render_template("admin/unit_form.html", form=form, unit=None, active="units"), status


@bp.route("/<code>", methods=["GET", "POST"])
@admin_only
def edit_unit(code: str):
    unit = db.session.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        abort(404)
    form = _form(unit, request.form if request.method == "POST" else None)
    form.code.data, form.kind.data = unit.code, unit.kind.value  # fixed once created
    if request.method == "POST" and form.validate_on_submit():
        with transaction(form) as tx:
            ops.update_unit(unit, _values(form))
        if tx.ok:
            flash(_("单位信息已保存。"), "success")
            return redirect(url_for("units_admin.units"))
    status = 422 if request.method == "POST" else 200
    return render_template("admin/unit_form.html", form=form, unit=unit, active="units"), status
