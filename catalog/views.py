"""Public catalog pages: home, categories, the item guide, the one-time notice, search, bundles."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_babel import get_locale

from catalog.guide import build_guide
from catalog.queries import CatalogSnapshot, catalog
from catalog.search import highlight_spans
from core.pagecache import anonymous_cache

bp = Blueprint("catalog", __name__)


def _shown() -> CatalogSnapshot:
    """The catalog in the visitor's language (English text where an item has it, else Chinese)."""
    return catalog().for_locale(str(get_locale()))


def _revision() -> int:
    return catalog().revision


cached = anonymous_cache(_revision)

FILTERS = {
    "zero_visit": lambda i: i.visits == 0,
    "instant": lambda i: i.instant,
    "free": lambda i: i.free,
    "online": lambda i: i.online_depth >= 4,
}


@cached
def home():
    snap = _shown()
    counts = {c.code: len(snap.items_in(c.code)) for c in snap.categories}
    zero = sum(1 for i in snap.items.values() if i.visits == 0)
    return render_template(
        "catalog/home.html",
        snap=snap,
        counts=counts,
        popular=sorted(snap.popular(), key=lambda i: i.code),
        bundles=list(snap.bundles.values()),
        total=len(snap.items),
        zero=zero,
    )


@bp.route("/category/<code>")
@cached
def category(code: str):
    snap = _shown()
    cat = snap.category(code)
    if cat is None:
        abort(404)
    active = [f for f in request.args.getlist("f") if f in FILTERS]
    depth = request.args.get("depth", type=int)
    items = snap.items_in(code)
    for f in active:
        items = [i for i in items if FILTERS[f](i)]
    if depth and 1 <= depth <= 5:
        items = [i for i in items if i.online_depth >= depth]
    items.sort(key=lambda i: (not i.popular, i.code))
    return render_template(
        "catalog/category.html", snap=snap, cat=cat, items=items, active=active, depth=depth
    )


def _answers_from_request(item) -> dict[str, str]:
    return {s.key: request.args.get(s.key, "") for s in item.situations}


@bp.route("/items/<code>")
@cached
def item(code: str):
    snap = _shown()
    it = snap.items.get(code)
    if it is None:
        abort(404)
    guide = build_guide(it, _answers_from_request(it))
    bundles = [b for b in snap.bundles.values() if code in b.item_codes]
    return render_template("catalog/item.html", item=it, guide=guide, snap=snap, bundles=bundles)


@bp.route("/items/<code>/documents")
@cached
def item_documents(code: str):
    """The document list fragment the guide swaps in place (htmx) when an answer changes."""
    it = _shown().items.get(code)
    if it is None:
        abort(404)
    guide = build_guide(it, _answers_from_request(it))
    return render_template("catalog/_documents.html", item=it, guide=guide)


@bp.route("/items/<code>/notice")
@cached
def notice(code: str):
    """The printable 一次性告知单 for the answers given."""
    snap = _shown()
    it = snap.items.get(code)
    if it is None:
        abort(404)
    guide = build_guide(it, _answers_from_request(it))
    return render_template("catalog/notice.html", item=it, guide=guide, snap=snap)


@bp.route("/search")
@cached
def search():
    snap = _shown()
    q = (request.args.get("q") or "").strip()[:50]
    results = snap.search(q) if q else []
    bundles = snap.search_bundles(q) if q else []
    suggestions = sorted(snap.popular(), key=lambda i: i.code)[:8] if not results else []
    return render_template(
        "catalog/search.html",
        q=q,
        results=results,
        bundles=bundles,
        snap=snap,
        suggestions=suggestions,
        spans=highlight_spans,
    )


@bp.route("/bundles/<code>")
@cached
def bundle(code: str):
    snap = _shown()
    b = snap.bundles.get(code)
    if b is None:
        abort(404)
    items = [snap.items[c] for c in b.item_codes if c in snap.items]
    return render_template("catalog/bundle.html", bundle=b, items=items, snap=snap)
