"""Public read-only JSON API (``/api/v1``), the same serialisation the pages use.

Each view is declared with :func:`core.api.operation` (parameters and answer as the pydantic models of
:mod:`catalog.schemas`), which is what the OpenAPI document at ``/api/v1/openapi.json`` describes."""

from __future__ import annotations

import zlib
from urllib.parse import urlencode

from flask import Blueprint, request, url_for
from flask_babel import gettext as _

from catalog import jsonld
from catalog import schemas as s
from catalog.ask.engine import search_found
from catalog.guide import build_guide
from catalog.queries import CatalogSnapshot, ItemView, catalog
from core import api
from core.pagecache import anonymous_cache

bp = Blueprint("catalog_api", __name__, url_prefix="/api/v1")
cached = anonymous_cache(lambda: catalog().revision)
CATALOG = ("catalog",)


def _json(model):
    return api.json_response(model)


def _cacheable(response, snap: CatalogSnapshot):
    response.headers["Cache-Control"] = "public, max-age=60, stale-while-revalidate=300"
    response.set_etag(f"catalog-{snap.revision}-{zlib.crc32(request.full_path.encode()):x}")
    response.vary.add("Accept-Language")
    return response.make_conditional(request)


def item_summary(item: ItemView) -> s.ItemSummary:
    return s.ItemSummary(**_summary(item))


def _summary(item: ItemView) -> dict:
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


def item_detail(item: ItemView, guide: s.GuideOut | None = None) -> s.ItemDetail:
    extra = {"guide": guide} if guide is not None else {}
    return s.ItemDetail(
        **_summary(item),
        version=item.version,
        aliases=list(item.aliases),
        item_type=item.item_type,
        legal_basis=item.legal_basis,
        conditions=item.conditions,
        description=item.description,
        day_kind=item.day_kind,
        fee_note=item.fee_note,
        visit_reason=item.visit_reason,
        delivery=list(item.delivery),
        result_name=item.result_name,
        e_certificate=item.e_certificate,
        proxy_allowed=item.proxy_allowed,
        counters=item.counters,
        hours=item.hours,
        phone=item.phone,
        complaint_phone=item.complaint_phone,
        faq=[s.Faq(q=f["q"], a=f["a"]) for f in item.faq],
        situations=[
            s.SituationOut(
                key=sit.key,
                question=sit.question,
                options=[
                    s.Option(value=o.value, label=o.label, fee=None if o.fee is None else float(o.fee))
                    for o in sit.options
                ],
            )
            for sit in item.situations
        ],
        documents=[
            s.DocumentOut(
                name=d.name,
                form=d.form,
                copies=d.copies,
                requirement=d.requirement,
                source=d.source,
                issuer=d.issuer,
                notes=d.notes,
                accept=list(d.accept),
                condition={k: list(v) for k, v in d.condition.items()},
            )
            for d in item.documents
        ],
        fields=[
            s.FormFieldOut(
                key=f.key,
                label=f.label,
                type=f.type,
                required=f.required,
                options=list(f.options),
                condition={k: list(v) for k, v in f.condition.items()},
            )
            for f in item.fields
        ],
        **extra,
    )


def _links(page: int, per_page: int, total: int) -> str:
    """RFC 8288 ``Link`` header: first, previous, next and last pages of the same query."""
    last = max(1, -(-total // per_page))
    args = request.args.to_dict()

    def url(n: int) -> str:
        return request.path + "?" + urlencode({**args, "page": n, "per_page": per_page})

    links = [f'<{url(1)}>; rel="first"']
    if page > 1:
        links.append(f'<{url(min(page - 1, last))}>; rel="prev"')
    if page < last:
        links.append(f'<{url(page + 1)}>; rel="next"')
    links.append(f'<{url(last)}>; rel="last"')
    return ", ".join(links)


@bp.get("/items")
@api.operation(
    summary="列出或搜索已发布的办事事项",
    description="按名称、别名、俗称、全拼或首字母搜索（q），可按类别筛选；分页，Link 头给出上一页/下一页。",
    tags=CATALOG,
    query=s.ItemsQuery,
    response=s.ItemList,
    cacheable=True,
    paged=True,
)
@cached
def items(query: s.ItemsQuery):
    snap = catalog()
    q, category, page, per_page = query.q, query.category, query.page, query.per_page
    found = search_found(snap, q) if q else sorted(snap.items.values(), key=lambda i: i.code)
    if category:
        found = [i for i in found if i.category.code == category]
    start = (page - 1) * per_page
    body = s.ItemList(
        items=[item_summary(i) for i in found[start : start + per_page]],
        total=len(found),
        page=page,
        per_page=per_page,
    )
    response = _cacheable(_json(body), snap)
    response.headers["Link"] = _links(page, per_page, len(found))
    return response


@bp.get("/items/<code>")
@api.operation(
    summary="一个事项的办事指南",
    description=(
        "材料（含适用情形）、情形问题、表单字段、时限、收费、窗口。以情形的 key 作查询参数回答"
        "（如 ?applicant=proxy），答案中另附该回答下的材料清单与收费（guide）。"
    ),
    tags=CATALOG,
    response=s.ItemDetail,
    errors=(404,),
    cacheable=True,
    path_params={"code": ("事项编码", "LJ-CR-001")},
    extra_query=True,
)
@cached
def item(code: str):
    snap = catalog()
    it = snap.items.get(code)
    if it is None:
        raise api.ApiError(404, "unknown_item", _("事项 %(code)s 不存在", code=code), "code")
    answers = {sit.key: request.args[sit.key] for sit in it.situations if sit.key in request.args}
    guide = None
    if answers:
        g = build_guide(it, answers)
        guide = s.GuideOut(answers=g.answers, fee=float(g.fee), documents=[d.name for d in g.documents])
    return _cacheable(_json(item_detail(it, guide)), snap)


@bp.get("/categories")
@api.operation(summary="事项类别及各类已发布事项数", tags=CATALOG, response=s.CategoryList, cacheable=True)
@cached
def categories():
    snap = catalog()
    body = s.CategoryList(
        categories=[
            s.CategoryOut(
                code=c.code,
                name=c.name,
                description=c.description,
                items=len(snap.items_in(c.code)),
                url=url_for("catalog.category", code=c.code),
            )
            for c in snap.categories
        ]
    )
    return _cacheable(_json(body), snap)


@bp.get("/catalog.jsonld")
@api.operation(
    summary="全部已发布事项（开放数据，EU CPSV-AP 词汇的 JSON-LD）",
    description=(
        "每个事项为 cpsv:PublicService：主管单位、申请条件与材料（cv:Requirement / cv:Evidence）、收费"
        "（cv:Cost，人民币）、办理渠道（cv:Channel）、承诺时限（cv:processingTime，ISO 8601）、"
        "设定依据与办理结果。"
        "上下文内联，无需联网即可展开。"
    ),
    tags=CATALOG,
    response=jsonld.CatalogLD,
    media_type="application/ld+json",
    cacheable=True,
)
@cached
def catalog_jsonld():
    snap = catalog()
    document = jsonld.catalog_document(snap, request.url_root.rstrip("/"))
    response = _cacheable(api.json_response(document, exclude_unset=False), snap)
    response.mimetype = "application/ld+json"
    return response
