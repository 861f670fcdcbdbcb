"""改进清单 (issue 24): per item, a ranked list of what the applications say the guide explains
badly — 补正 reasons per document, bad-rating reasons, questions 智能咨询 could not answer, 容缺
documents most deferred — with counts over a chosen period, examples, links into the catalog editor,
and the correction figure before and after the last publish. Admins only."""

from __future__ import annotations

from flask import Flask


def init_guide_fixes(app: Flask) -> None:
    from applications.guide_fixes.views import bp

    if "guide_fixes" not in app.blueprints:
        app.register_blueprint(bp)
