"""Public read-only JSON API (``/api/v1``), the same serialisation the pages use."""

from __future__ import annotations

import zlib

from flask import Blueprint, jsonify, request, url_for

from catalog.ask.engine import search_items
from catalog.guide import build_guide
from catalog.queries import CatalogSnapshot, ItemView, catalog
from core.pagecache import anonymous_cache

bp = Blueprint("catalog_api", __name__, url_prefix="/api/v1")
cached = anonymous_cache(lambda: catalog().revision)
MAX_PER_PAGE = 100


class BadRequest(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@bp.errorhandler(BadRequest)
def _bad_request(exc: BadRequest):
    return jsonify({"error": "bad_request", "message": exc.message}), 400


def _cacheable(response, snap: CatalogSnapshot):
    response.headers["Cache-Control"] = "public, max-age=60, stale-while-revalidate=300"
    response.set_etag(f"catalog-{snap.revision}-{zlib.crc32(request.full_path.encode()):x}")
    response.vary.add("Accept-Language")
    return response.make_conditional(request)


def item_summary(item: ItemView) -> dict:
    return {
        "code": item.code,
        "name": item.name,
        "category": item.category.code,
        "online_depth": item.online_depth,
        "visits_required": item.visits,
        "promised_days": item.promised_days,
        "legal_days": item.legal_days,
        "fee": float(item.fee),
        "instant": item.instant,
        "url": url_for("catalog.item", code=item.code, _external=False),
    }


def item_detail(item: ItemView) -> dict:
    data = item_summary(item)
    data.update(
        {
            "version": item.version,
            "aliases": list(item.aliases),
            "item_type": item.item_type,
            "legal_basis": item.legal_basis,
            "conditions": item.conditions,
            "description": item.description,
            "day_kind": item.day_kind,
            "fee_note": item.fee_note,
            "visit_reason": item.visit_reason,
            "delivery": list(item.delivery),
            "result_name": item.result_name,
            "e_certificate": item.e_certificate,
            "proxy_allowed": item.proxy_allowed,
            "counters": item.counters,
            "hours": item.hours,
            "phone": item.phone,
            "complaint_phone": item.complaint_phone,
            "faq": list(item.faq),
            "situations": [
                {
                    "key": s.key,
                    "question": s.question,
                    "options": [
                        {"value": o.value, "label": o.label, "fee": None if o.fee is None else float(o.fee)}
                        for o in s.options
                    ],
                }
                for s in item.situations
            ],
            "documents": [
                {
                    "name": d.name,
                    "form": d.form,
                    "copies": d.copies,
                    "requirement": d.requirement,
                    "source": d.source,
                    "issuer": d.issuer,
                    "notes": d.notes,
                    "accept": list(d.accept),
                    "condition": {k: list(v) for k, v in d.condition.items()},
                }
                for d in item.documents
            ],
            "fields": [
                {
                    "key": f.key,
                    "label": f.label,
                    "type": f.type,
                    "required": f.required,
                    "options": list(f.options),
                    "condition": {k: list(v) for k, v in f.condition.items()},
                }
                for f in item.fields
            ],
        }
    )
    return data


def _int_arg(name: str, default: int, lo: int, hi: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"参数 {name} 应为整数") from None
    if not lo <= value <= hi:
        raise BadRequest(f"参数 {name} 应在 {lo} 到 {hi} 之间")
    return value


@bp.get("/items")
@cached
def items():
    snap = catalog()
    q = (request.args.get("q") or "").strip()
    if len(q) > 50:
        raise BadRequest("参数 q 不能超过50个字符")
    category = request.args.get("category") or None
    if category is not None and snap.category(category) is None:
        raise BadRequest("参数 category 无效，可选：" + "、".join(c.code for c in snap.categories))
    page = _int_arg("page", 1, 1, 10000)
    per_page = _int_arg("per_page", 20, 1, MAX_PER_PAGE)
    found = search_items(snap, q) if q else sorted(snap.items.values(), key=lambda i: i.code)
    if category:
        found = [i for i in found if i.category.code == category]
    start = (page - 1) * per_page
    body = {
        "items": [item_summary(i) for i in found[start : start + per_page]],
        "total": len(found),
        "page": page,
        "per_page": per_page,
    }
    return _cacheable(jsonify(body), snap)


@bp.get("/items/<code>")
@cached
def item(code: str):
    snap = catalog()
    it = snap.items.get(code)
    if it is None:
        return jsonify({"error": "not_found", "message": f"事项 {code} 不存在"}), 404
    data = item_detail(it)
    answers = {s.key: request.args[s.key] for s in it.situations if s.key in request.args}
    if answers:
        guide = build_guide(it, answers)
        data["guide"] = {
            "answers": guide.answers,
            "fee": float(guide.fee),
            "documents": [d.name for d in guide.documents],
        }
    return _cacheable(jsonify(data), snap)


@bp.get("/categories")
@cached
def categories():
    snap = catalog()
    body = {
        "categories": [
            {
                "code": c.code,
                "name": c.name,
                "description": c.description,
                "items": len(snap.items_in(c.code)),
                "url": url_for("catalog.category", code=c.code),
            }
            for c in snap.categories
        ]
    }
    return _cacheable(jsonify(body), snap)
