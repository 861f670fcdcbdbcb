"""Shared by the admin tests: log in as an admin, post a form and read the draft back."""

from __future__ import annotations

from catalog.admin import operations as ops
from catalog.admin.forms import english_parts_skeleton
from catalog.models import VersionState
from tests.auth.helpers import login_as


def admin_client(app):
    client = app.test_client()
    login_as(app, client, "admin")
    return client


def item_form_data(app, item_code: str, **changes) -> dict:
    """The item edit form's current values as a POST body, with ``changes`` applied."""
    with app.app_context():
        v = ops.working_version(ops.get_item(item_code))
        data = {
            "name": v.name,
            "aliases": "、".join(v.aliases),
            "category_id": str(v.category_id),
            "item_type": v.item_type.value,
            "unit_kind": v.unit_kind.value,
            "description": v.description,
            "legal_basis": v.legal_basis,
            "conditions": v.conditions,
            "legal_days": str(v.legal_days),
            "promised_days": str(v.promised_days),
            "day_kind": v.day_kind.value,
            "fee": str(v.fee),
            "fee_note": v.fee_note,
            "visits": str(v.visits),
            "visit_reason": v.visit_reason,
            "online_depth": str(v.online_depth),
            "delivery": list(v.delivery),
            "result_name": v.result_name,
            "counters": v.counters,
            "hours": v.hours,
            "phone": v.phone,
            "complaint_phone": v.complaint_phone,
            "faq": "\n".join(f"{f['q']}|{f['a']}" for f in v.faq),
        }
        en = v.english or {}  # as the edit page fills them in
        data["name_en"] = en.get("name", "")
        data["aliases_en"] = "\n".join(en.get("aliases") or [])
        data["description_en"] = en.get("description", "")
        data["conditions_en"] = en.get("conditions", "")
        for key in ("visit_reason", "result_name", "fee_note", "counters", "hours"):
            data[f"{key}_en"] = en.get(key, "")
        data["faq_en"] = "\n".join(f"{f['q']}|{f['a']}" for f in en.get("faq") or [])
        data["parts_en"] = english_parts_skeleton(v)
        for flag in ("instant", "e_certificate", "proxy_allowed", "popular", "foreigner_facing"):
            if getattr(v, flag):
                data[flag] = "y"
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def draft_state(app, code: str):
    """The draft of ``code`` (call inside an app context), or None."""
    from flask import has_app_context

    if not has_app_context():
        with app.app_context():
            return ops.version_in(ops.get_item(code), VersionState.DRAFT)
    return ops.version_in(ops.get_item(code), VersionState.DRAFT)
