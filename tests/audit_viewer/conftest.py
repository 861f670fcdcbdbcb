"""The audit viewer's tests run on an app with the viewer registered, wired in the factory or not."""

from __future__ import annotations

import pytest

from audit_viewer.views import init_audit_viewer


@pytest.fixture
def app(make_app):
    app = make_app()
    if "audit" not in app.blueprints:
        init_audit_viewer(app)
    return app
