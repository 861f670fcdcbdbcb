"""Role-aware navigation: feature packages add links; the base layout shows those the user may use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app, url_for
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
    app.extensions.setdefault("portal_nav", []).append(
        NavLink(endpoint, label, frozenset(roles) if roles is not None else None, values, badge)
    )


def _visible(link: NavLink) -> bool:
    if link.roles is None:
        return True
    if not current_user.is_authenticated:
        return False
    return not link.roles or current_user.role_value in link.roles


def nav_links() -> list[tuple[str, object, int]]:
    """(url, label, badge count) for every link the current user may follow."""
    return [
        (url_for(link.endpoint, **link.values), link.label, link.badge() if link.badge else 0)
        for link in current_app.extensions.get("portal_nav", [])
        if _visible(link)
    ]


def init_nav(app: Flask) -> None:
    app.jinja_env.globals["nav_links"] = nav_links
