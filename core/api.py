"""The public JSON API's contract (``/api/v1``): one declaration per operation, next to its view.

A view under ``/api/v1`` is declared with :func:`operation`: its query parameters as a pydantic model
(parsed and validated here, before the view runs; bad input answers 400 with the field, a Chinese
message and a stable machine ``code``), its answer as a pydantic model (the view builds its answer
with it, so the answer is validated on the way out), the error statuses it may answer, whether it is
cacheable and public. :mod:`core.apidocs` builds the OpenAPI 3.1 document from these declarations and
the URL map, so the document and the behaviour cannot drift apart; a test fails when a public
``/api/v1`` route has no declaration.

Every error under ``/api/`` is JSON (:class:`ErrorBody`), never an HTML page (see :mod:`core.errors`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import wraps
from typing import Any, Literal

from flask import Flask, Response, jsonify, request
from flask_babel import gettext as _
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic import Field as Field  # re-exported for the feature packages' schemas

from core.extensions import limiter

#: The contract's version (semantic): a breaking change (a removed field or operation, a narrowed
#: type) needs a new major version; tests/api/test_contract.py compares with the released document.
API_VERSION = "1.0.0"
API_PREFIX = "/api/v1"
#: Every anonymous client's budget per operation (per address); announced in ``RateLimit-*`` headers.
DEFAULT_LIMIT = "600 per minute"

#: The error class of each status (``error`` in the body).
ERROR_CLASSES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}

#: The stable machine codes (``code`` in an error body) and what each means.
ERROR_CODES: dict[str, str] = {
    "missing": "a required parameter is absent",
    "invalid_integer": "the parameter is not an integer",
    "out_of_range": "the number or date is outside the documented limits",
    "too_long": "the text is longer than allowed",
    "invalid_choice": "the value is not one of the documented values",
    "invalid_date": "the date is not YYYY-MM-DD",
    "invalid_range": "the end of a period is before its start, or the period is too long",
    "invalid": "the parameter is not valid",
    "unknown_item": "no published service item has this code",
    "invalid_body": "the request body is not a JSON object",
    "invalid_type": "the field has the wrong type",
    "empty_question": "the question is empty (or only spaces)",
    "question_too_long": "the question is longer than 200 characters",
    "invalid_characters": "the question holds control characters",
    "unknown_unit": "this unit does not serve this item",
    "login_required": "the grouping is open to unit leads, admins and auditors only",
    "not_found": "no such resource",
    "method_not_allowed": "the method is not supported",
    "rate_limited": "too many requests: wait for the time in Retry-After",
    "internal_error": "a fault of the portal (reported to its operators)",
    "unavailable": "the database is down or busy: try again after Retry-After",
    "bad_request": "the request could not be understood",
    "forbidden": "not allowed",
    "unauthorized": "a login is needed",
    "too_large": "the request is too large",
}


#: The dates the API accepts (years 2000–2099): the document says so with this pattern.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)
DATE_PATTERN = r"^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"


def DateField(default: Any = ..., **kwargs: Any) -> Any:
    """A query date (YYYY-MM-DD, years 2000–2099), limits stated in the document as well."""
    return Field(default, ge=FIRST_DAY, le=LAST_DAY, json_schema_extra={"pattern": DATE_PATTERN}, **kwargs)


#: Codes of rules across parameters (a period's order and length, a unit that must serve the item),
#: which JSON Schema cannot state: each operation's description says them, and 400 is documented.
CROSS_PARAMETER_CODES = frozenset({"invalid_range", "unknown_unit"})


class ErrorBody(BaseModel):
    """Every error answer of the API."""

    model_config = ConfigDict(
        title="Error",
        json_schema_extra={
            "examples": [
                {
                    "error": "bad_request",
                    "code": "out_of_range",
                    "field": "per_page",
                    "message": "参数 per_page 不能大于 100",
                }
            ]
        },
    )

    error: Literal[tuple(dict.fromkeys(ERROR_CLASSES.values()))] = Field(  # type: ignore[valid-type]
        description="error class of the HTTP status"
    )
    code: Literal[tuple(ERROR_CODES)] = Field(description="stable machine code")  # type: ignore[valid-type]
    message: str = Field(description="what went wrong, in Chinese (or the language asked for)")
    field: str | None = Field(None, description="the parameter at fault, if any")


class ApiError(Exception):
    """Raised by an API view: answered as :class:`ErrorBody` with ``status``."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        if code not in ERROR_CODES:  # a programming error: every code is documented in ERROR_CODES
            raise ValueError(f"undocumented API error code {code!r}")
        self.status, self.code, self.message, self.field = status, code, message, field


def json_response(
    model: BaseModel, status: int = 200, *, exclude_unset: bool = True, exclude_none: bool = False
) -> Response:
    """``model`` as the JSON answer (fields never set, like an absent optional part, are left out)."""
    data = model.model_dump(
        mode="json", by_alias=True, exclude_unset=exclude_unset, exclude_none=exclude_none
    )
    response = jsonify(data)
    response.status_code = status
    return response


def error_response(status: int, code: str, message: str, field: str | None = None) -> Response:
    body = ErrorBody(error=ERROR_CLASSES.get(status, "bad_request"), code=code, message=message, field=field)
    response = jsonify(body.model_dump(mode="json", by_alias=True))
    response.status_code = status
    return response


@dataclass(frozen=True)
class Operation:
    """What :mod:`core.apidocs` needs to describe one view."""

    summary: str
    response: type[BaseModel] | None
    description: str = ""
    tags: tuple[str, ...] = ()
    query: type[BaseModel] | None = None
    #: a JSON request body (POST), parsed and validated like the query
    body: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()
    cacheable: bool = False
    paged: bool = False
    public: bool = True
    media_type: str = "application/json"
    #: name → (description, example) of each path parameter
    path_params: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    example: Any = None
    extra_query: bool = False


def get_operation(view: Callable) -> Operation | None:
    return getattr(view, "api_operation", None)


_PARSE_CODES: dict[str, str] = {
    "missing": "missing",
    "int_parsing": "invalid_integer",
    "int_from_float": "invalid_integer",
    "int_type": "invalid_integer",
    "greater_than_equal": "out_of_range",
    "less_than_equal": "out_of_range",
    "greater_than": "out_of_range",
    "less_than": "out_of_range",
    "string_too_long": "too_long",
    "string_type": "invalid_type",
    "string_too_short": "missing",
    "literal_error": "invalid_choice",
    "enum": "invalid_choice",
    "date_parsing": "invalid_date",
    "date_from_datetime_parsing": "invalid_date",
    "date_from_datetime_inexact": "invalid_date",
    "date_type": "invalid_date",
    "invalid_range": "invalid_range",
    # 智能咨询's question (catalog/ask/schemas.py): the message is the validator's own
    "empty_question": "empty_question",
    "question_too_long": "question_too_long",
    "invalid_characters": "invalid_characters",
}
#: parse codes whose Chinese message is the one the validator raised
_OWN_MESSAGE = frozenset({"invalid_range", "empty_question", "question_too_long", "invalid_characters"})


def _message(kind: str, name: str, ctx: dict[str, Any]) -> str:
    if kind == "missing" and ctx.get("date"):
        return _("缺少参数 %(name)s（YYYY-MM-DD 格式的日期）", name=name)
    if kind == "missing":
        return _("缺少参数 %(name)s", name=name)
    if kind == "invalid_type":
        return _("参数 %(name)s 的类型不对（应为文本）", name=name)
    if kind == "invalid_integer":
        return _("参数 %(name)s 应为整数", name=name)
    if kind == "out_of_range":
        if "ge" in ctx or "gt" in ctx:
            return _("参数 %(name)s 不能小于 %(n)s", name=name, n=ctx.get("ge", ctx.get("gt")))
        return _("参数 %(name)s 不能大于 %(n)s", name=name, n=ctx.get("le", ctx.get("lt")))
    if kind == "too_long":
        return _("参数 %(name)s 不能超过%(n)s个字符", name=name, n=ctx.get("max_length"))
    if kind == "invalid_choice":
        expected = str(ctx.get("expected", "")).replace("'", "").replace(" or ", "、").replace(", ", "、")
        return _("参数 %(name)s 无效，可选：%(choices)s", name=name, choices=expected)
    if kind == "invalid_date":
        return _("参数 %(name)s 应为 YYYY-MM-DD 格式的日期", name=name)
    if kind in _OWN_MESSAGE:
        return str(ctx.get("message") or _("参数 %(name)s 无效", name=name))
    return _("参数 %(name)s 无效", name=name)


def parse_body(model: type[BaseModel], status: int = 400) -> BaseModel:
    """The JSON request body validated by ``model``; raises :class:`ApiError` (``status``) otherwise."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(status, "invalid_body", _("请以 JSON 对象提交请求内容"), None)
    try:
        return parse_query(model, data)
    except ApiError as exc:
        exc.status = status
        raise


def parse_query(model: type[BaseModel], args: Mapping[str, Any]) -> BaseModel:
    """``args`` validated by ``model``; raises :class:`ApiError` (400) for the first bad parameter.

    A parameter given empty is validated as the empty string (``?page=`` is not a page number), as the
    document says: a client that means the default leaves the parameter out.
    """
    data = dict(args.items()) if not isinstance(args, dict) else args
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        loc = first.get("loc") or ()
        name = str(loc[0]) if loc else ""
        info = model.model_fields.get(name) or next(
            (f for f in model.model_fields.values() if f.alias == name), None
        )
        name = (info.alias if info is not None else None) or name
        kind = _PARSE_CODES.get(first["type"], "invalid")
        ctx = dict(first.get("ctx") or {})
        ctx["date"] = info is not None and "date" in str(info.annotation)
        if first["type"] in _OWN_MESSAGE:
            ctx["message"] = first["msg"]
            name = name or str(ctx.get("field") or "") or None  # type: ignore[assignment]
        raise ApiError(400, kind, _message(kind, name or "", ctx), name or None) from None


def operation(
    *,
    summary: str,
    response: type[BaseModel] | None,
    description: str = "",
    tags: tuple[str, ...] = (),
    query: type[BaseModel] | None = None,
    body: type[BaseModel] | None = None,
    errors: tuple[int, ...] = (),
    cacheable: bool = False,
    paged: bool = False,
    public: bool = True,
    media_type: str = "application/json",
    path_params: Mapping[str, tuple[str, str]] | None = None,
    example: Any = None,
    limit: str = DEFAULT_LIMIT,
    extra_query: bool = False,
    authenticate: Callable[..., None] | None = None,
    body_status: int = 400,
) -> Callable:
    """Declare a view an operation of the public API (see the module's docstring).

    With ``query``, the view receives the parsed parameters as its ``query`` keyword argument.
    A view may return a response model instance (answered as JSON, status 200) or a response.
    ``authenticate`` (called with the view's path arguments) runs before anything is parsed and raises
    :class:`ApiError` (401) to refuse — a signature over the raw body is checked before the body is
    read as JSON. ``body_status`` is the status of a body that does not validate (400, or 422 where
    a well-formed request with wrong content must be told apart).
    """
    op = Operation(
        summary=summary,
        response=response,
        description=description,
        tags=tags,
        query=query,
        body=body,
        errors=tuple(sorted({*errors, *((400,) if query else ()), *((body_status,) if body else ())})),
        cacheable=cacheable,
        paged=paged,
        public=public,
        media_type=media_type,
        path_params=dict(path_params or {}),
        example=example,
        extra_query=extra_query,
    )

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any):
            if authenticate is not None:
                authenticate(*args, **kwargs)
            if query is not None:
                kwargs["query"] = parse_query(query, request.args)
            if body is not None:
                kwargs["body"] = parse_body(body, body_status)
            result = view(*args, **kwargs)
            if isinstance(result, BaseModel):
                return json_response(result)
            return result

        limited = limiter.limit(limit)(wrapped)
        limited.api_operation = op  # type: ignore[attr-defined]
        return limited

    return decorator


def _is_api(path: str) -> bool:
    return path.startswith("/api/")


CORS_EXPOSED = (
    "ETag, Link, Content-Language, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset"
)


def _api_headers(response: Response) -> Response:
    """CORS for the public read operations (read-only, no credentials), ``RateLimit-Reset`` as seconds
    from now (the IETF draft; Flask-Limiter gives a timestamp), ``Vary``/``Content-Language``."""
    if not _is_api(request.path):
        return response
    view = None
    if request.url_rule is not None:
        from flask import current_app

        view = current_app.view_functions.get(request.url_rule.endpoint)
    op = get_operation(view) if view is not None else None
    if op is None or op.public:
        for name, value in public_api_headers(None):
            response.headers[name] = value
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = "Accept-Language, If-None-Match"
            response.headers["Access-Control-Max-Age"] = "86400"
    reset = response.headers.get("RateLimit-Reset")
    if reset and reset.isdigit() and int(reset) > 10**9:
        response.headers["RateLimit-Reset"] = str(max(0, int(reset) - int(time.time())))
    response.vary.add("Accept-Language")
    from core.i18n import api_locale

    response.headers.setdefault("Content-Language", language_tag(api_locale()))
    return response


def language_tag(locale: str) -> str:
    """``Content-Language`` of an answer in ``locale`` (zh_CN → zh-CN)."""
    return locale.replace("_", "-")


def public_api_headers(locale: str | None) -> list[tuple[str, str]]:
    """The CORS policy of the public read operations (any origin, read-only, no credentials), and
    the answer's language when ``locale`` is given (also added by the page micro-cache)."""
    out = [("Access-Control-Allow-Origin", "*"), ("Access-Control-Expose-Headers", CORS_EXPOSED)]
    if locale:
        out.append(("Content-Language", language_tag(locale)))
    return out


def init_api(app: Flask) -> None:
    """Answer :class:`ApiError` as JSON and add the API's headers (the rate-limit headers' names are
    set in :mod:`core.config`)."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.field)

    app.after_request(_api_headers)
