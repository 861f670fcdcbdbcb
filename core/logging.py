"""JSON logs (python-json-logger) with a filter that masks ID and mobile numbers in every record."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from core.masking import mask_text, mask_value

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


_STANDARD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message"}


def configure_logging(level: str = "INFO", stream=None) -> logging.Handler:
    """Send JSON lines to ``stream`` (stderr by default) through the masking filter."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s", json_ensure_ascii=False)
    )
    handler.addFilter(PIIMaskingFilter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_portal", False):
            root.removeHandler(existing)
    handler._portal = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    return handler
