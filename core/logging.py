"""JSON logs (python-json-logger) with a filter that masks ID and mobile numbers in every record and one
that stamps each record with the id of the request it was written for (:mod:`core.request_id`).
gunicorn's own logs use the same filters and formatter (``gunicorn.conf.py``, :func:`gunicorn_logconfig`)."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from core.masking import mask_text, mask_value
from core.request_id import current_request_id

#: Every JSON line carries these fields (``request_id`` is null outside a request).
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s"

_TRACEBACKS = logging.Formatter()


class PIIMaskingFilter(logging.Filter):
    """Rewrite the message, the traceback and any extra string attributes so no ID or mobile number
    is logged (exception messages and SQL parameters in tracebacks carry them too)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record must still be logged
            message = str(record.msg)
        record.msg = mask_text(message)
        record.args = None
        if record.exc_info:
            record.exc_text = mask_text(_TRACEBACKS.formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD_ATTRS and isinstance(value, str | dict | list):
                setattr(record, key, mask_value(value))
        return True


_STANDARD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "request_id"}


class RequestIdFilter(logging.Filter):
    """Put the current request's id on the record (``request_id``; None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id()
        return True


class GunicornAccessFields(logging.Filter):
    """Turn a gunicorn access record's atoms into JSON fields (method, path, status, ms, bytes,
    remote address, the answer's request id) before the masking filter flattens its arguments.
    The message keeps gunicorn's ``access_log_format`` line."""

    _FIELDS = {"method": "m", "path": "U", "status": "s", "ms": "M", "bytes": "B", "remote": "h"}

    def filter(self, record: logging.LogRecord) -> bool:
        atoms = record.args
        if isinstance(atoms, dict):
            for field, atom in self._FIELDS.items():
                value = atoms.get(atom)
                if value not in (None, "-"):
                    setattr(record, field, value)
            rid = atoms.get("{x-request-id}o")
            if rid not in (None, "-"):
                record.request_id = rid
        return True


def json_formatter() -> JsonFormatter:
    """The one JSON line format (also gunicorn's, through ``logconfig_dict``)."""
    return JsonFormatter(JSON_FIELDS, json_ensure_ascii=False)


def gunicorn_logconfig(access_log: bool = False) -> dict:
    """A ``logging.config.dictConfig`` mapping that writes gunicorn's error log (stderr) and, when
    ``access_log``, its access log (stdout) as the portal's JSON lines, masked and with the request
    id. The portal's own access line (logger ``portal.access``) is written either way, so gunicorn's
    is off unless asked for. Only gunicorn's loggers are set; the portal adds its root handler when
    the app is built (:func:`configure_logging`), so nothing is written twice."""
    filters = {
        "request_id": {"()": RequestIdFilter},
        "mask": {"()": PIIMaskingFilter},
        "access_fields": {"()": GunicornAccessFields},
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "root": {"level": "INFO", "handlers": []},
        "filters": filters,
        "formatters": {"json": {"()": json_formatter}},
        "handlers": {
            "json_stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["request_id", "mask"],
                "stream": "ext://sys.stderr",
            },
            "json_access": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["access_fields", "request_id", "mask"],
                "stream": "ext://sys.stdout",
            },
        },
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["json_stderr"], "propagate": False},
            "gunicorn.access": {
                "level": "INFO" if access_log else "CRITICAL",
                "handlers": ["json_access"] if access_log else [],
                "propagate": False,
            },
        },
    }


def configure_logging(level: str = "INFO", stream=None) -> logging.Handler:
    """Send JSON lines to ``stream`` (stderr by default) through the masking filter."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(json_formatter())
    handler.addFilter(RequestIdFilter())
    handler.addFilter(PIIMaskingFilter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_portal", False):
            root.removeHandler(existing)
    handler._portal = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    return handler
