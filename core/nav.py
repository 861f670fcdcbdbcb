"""Role-aware navigation: feature packages add links; the base layout shows those the user may use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app, request, url_for
from flask_babel import get_locale
from flask_login import current_user


@dataclass(frozen=True)
class NavLink:
    endpoint: str
    label: object  # a lazy gettext string
    roles: frozenset[str] | None  # None: everybody; empty: any logged-in user
    values: dict[str, Any] = field(default_factory=dict)
    #: A count shown beside the link (unread messages), asked only when the link is shown.
    badge: Callable[[], int] | None = None


def add_nav(
    app: Flask,
    endpoint: str,
    label: object,
    roles: set[str] | None = None,
    badge: Callable[[], int] | None = None,
    **values: Any,
) -> None:
    app.extensions.pop("portal_nav_memo", None)
    app.extensions.setdefault("portal_nav", []).append(
        NavLink(endpoint, label, frozenset(roles) if roles is not None else None, values, badge)
    )


def _visible(link: NavLink, role: str | None) -> bool:
    """``role`` is the user's role, None for an anonymous visitor."""
    if link.roles is None:
        return True
    if role is None:
        return False
    return not link.roles or role in link.roles


def _shown_links(role: str | None) -> list[tuple[NavLink, str, str]]:
    """(link, url, translated label) of every link ``role`` may follow, built once per role, locale
    and script root in each worker: the links and their labels are fixed once the app is built."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    key = (role, str(get_locale()), request.script_root)
    memo = app.extensions.setdefault("portal_nav_memo", {})
    shown = memo.get(key)
    if shown is None:
        shown = [
            (link, url_for(link.endpoint, **link.values), str(link.label))
            for link in app.extensions.get("portal_nav", [])
            if _visible(link, role)
        ]
        memo[key] = shown
    return shown


def fixed_url(endpoint: str, **values: Any) -> str:
    """``url_for`` for a URL that is the same on every request (the layout's stylesheets, scripts and
    fixed links), built once per worker and script root: the layout asked ``url_for`` a dozen times
    on every page."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    key = (request.script_root, endpoint, *sorted(values.items()))
    memo = app.extensions.setdefault("portal_fixed_urls", {})
    url = memo.get(key)
    if url is None:
        url = memo[key] = url_for(endpoint, **values)
    return url


def nav_links() -> tuple[tuple[str, object, int], ...]:
    """(url, label, badge count) for every link the current user may follow."""
    user = current_user._get_current_object()
    role = user.role_value if user.is_authenticated else None
    return tuple((url, label, link.badge() if link.badge else 0) for link, url, label in _shown_links(role))


def init_nav(app: Flask) -> None:
    app.jinja_env.globals["nav_links"] = nav_links
    app.jinja_env.globals["fixed_url"] = fixed_url
