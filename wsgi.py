"""WSGI entry point: ``gunicorn wsgi:app``; the flask CLI finds ``app`` here without FLASK_APP."""

from portal import create_app

app = create_app()
