"""Role-aware navigation: feature packages add links; the base layout shows those the user may use."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app
from flask_login import current_user


@dataclass(frozen=True)
class NavLink:
    endpoint: str
    label: object  # a lazy gettext string
    roles: frozenset[str] | None  # None: everybody; empty: any logged-in user


def add_nav(app: Flask, endpoint: str, label: object, roles: set[str] | None = None) -> None:
    app.extensions.setdefault("portal_nav", []).append(
        NavLink(endpoint, label, frozenset(roles) if roles is not None else None)
    )


def nav_links() -> list[tuple[str, object, frozenset[str] | None]]:
    out = []
    for link in current_app.extensions.get("portal_nav", []):
        if link.roles is None:
            out.append((link.endpoint, link.label, link.roles))
        elif current_user.is_authenticated and (not link.roles or current_user.role_value in link.roles):
            out.append((link.endpoint, link.label, link.roles))
    return out


def init_nav(app: Flask) -> None:
    app.jinja_env.globals["nav_links"] = nav_links
