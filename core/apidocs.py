"""The OpenAPI 3.1 document of the public API (``/api/v1/openapi.json``) and its readable page
(``/api/docs``, Swagger UI vendored from npm).

The document is built from the URL map and the :func:`core.api.operation` declarations on the views
(their pydantic parameter and answer models), never written by hand.
"""

from __future__ import annotations

import json
import re
import zlib
from pathlib import Path
from typing import Any

import click
from flask import Blueprint, Flask, current_app, jsonify, render_template, request
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from core import api

bp = Blueprint("apidocs", __name__)

REF = "#/components/schemas/{model}"
_RULE_ARG = re.compile(r"<(?:[a-z_]+(?:\([^)]*\))?:)?([a-zA-Z_][a-zA-Z0-9_]*)>")

TAGS = [
    {"name": "catalog", "description": "办事指南：事项、材料、情形、类别（公开数据，可缓存）"},
    {"name": "stats", "description": "最多跑一次的统计数据（按类别、按月公开）"},
    {"name": "appointments", "description": "预约：可预约的时段"},
    {"name": "exchange", "description": "一件事：协办部门的回执（部门签名认证，机器对机器，不对浏览器开放）"},
    {"name": "meta", "description": "本文档"},
]

_HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {
        "description": "实体标签：目录修订或内容变化时改变；以 If-None-Match 发回可得 304",
        "schema": {"type": "string"},
    },
    "Cache-Control": {"description": "可缓存的时长", "schema": {"type": "string"}},
    "Link": {
        "description": 'RFC 8288 分页链接：rel="first" / "prev" / "next" / "last"',
        "schema": {"type": "string"},
    },
    "Access-Control-Allow-Origin": {
        "description": "CORS：任何来源只读访问（不带凭据）",
        "schema": {"type": "string"},
    },
    "RateLimit-Limit": {"description": "本时间窗内允许的请求数", "schema": {"type": "integer"}},
    "RateLimit-Remaining": {"description": "本时间窗内剩余的请求数", "schema": {"type": "integer"}},
    "RateLimit-Reset": {"description": "距时间窗重置的秒数", "schema": {"type": "integer"}},
    "Retry-After": {"description": "稍后重试的秒数", "schema": {"type": "integer"}},
    "Content-Language": {
        "description": "答案的语言（zh-CN，或有英文时按 Accept-Language 为 en）",
        "schema": {"type": "string"},
    },
}

_ERROR_DESCRIPTIONS = {
    400: "参数有误：field 指出参数，message 为中文说明，code 为稳定的机器代码",
    401: "未认证：签名无效、时间戳超出允许范围或部门不存在",
    403: "无权访问",
    404: "不存在",
    422: "请求内容不符合契约：field 指出字段，message 为中文说明",
    429: "请求过于频繁（见 Retry-After）",
    503: "数据库暂不可用（见 Retry-After）",
}

_ERROR_EXAMPLES = {
    400: {
        "error": "bad_request",
        "code": "out_of_range",
        "field": "per_page",
        "message": "参数 per_page 不能大于 100",
    },
    403: {
        "error": "forbidden",
        "code": "login_required",
        "field": None,
        "message": "按事项或按单位的统计仅对科室负责人、管理员和审计员开放，请登录后再试。",
    },
    401: {
        "error": "unauthorized",
        "code": "unauthorized",
        "field": "X-Signature",
        "message": "签名无效：请用本部门的密钥对“时间戳.请求体”计算 HMAC-SHA256",
    },
    404: {"error": "not_found", "code": "unknown_item", "field": "code", "message": "事项 LJ-XX-999 不存在"},
    422: {
        "error": "bad_request",
        "code": "invalid",
        "field": "result.insurance_number",
        "message": "birth-insurance-v1 办结时 result 须包含 insurance_number",
    },
    429: {
        "error": "rate_limited",
        "code": "rate_limited",
        "field": None,
        "message": "您的操作过于频繁，请稍后再试。",
    },
    503: {
        "error": "unavailable",
        "code": "unavailable",
        "field": None,
        "message": "系统暂时繁忙或正在维护，您刚才的操作没有完成，填写的内容也未被保存。请稍等片刻后再试。",
    },
}

#: Answered by every operation whatever it declares: too many requests, the database down.
ALWAYS = (429, 503)


def api_rules(app: Flask):
    """(rule, view) for every public ``/api/v1`` route, in path order."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.rule.startswith(api.API_PREFIX + "/") and rule.endpoint != "static":
            yield rule, app.view_functions[rule.endpoint]


def build_document(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every declared operation (see :func:`core.api.operation`)."""
    ops = [(rule, api.get_operation(view)) for rule, view in api_rules(app)]
    ops = [(rule, op) for rule, op in ops if op is not None]
    models: list[type[BaseModel]] = [api.ErrorBody]
    bodies: list[type[BaseModel]] = []
    for _rule, op in ops:
        if op.response is not None and op.response not in models:
            models.append(op.response)
        if op.body is not None and op.body not in bodies:
            bodies.append(op.body)
    refs, defs = models_json_schema(
        [(m, "serialization") for m in models] + [(b, "validation") for b in bodies], ref_template=REF
    )
    schemas = dict(sorted(defs.get("$defs", {}).items()))

    paths: dict[str, dict[str, Any]] = {}
    for rule, op in ops:
        path = _RULE_ARG.sub(r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(rule, op, refs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "公安政务服务网 公开接口",
            "version": api.API_VERSION,
            "summary": "办事指南、统计与预约的只读公开接口",
            "description": (
                "只读、无需登录（按事项或单位的统计除外）。错误答案均为 JSON：error（类别）、code（稳定的"
                "机器代码）、field（出错的参数）、message（中文说明）。目录类答案带 ETag 与 Cache-Control，"
                "支持 If-None-Match；分页列表带 Link 头；任何来源可跨域只读访问（CORS，不带凭据）；"
                "限流额度见 RateLimit-* 头（缓存命中的答案不计入）。"
                "版本号遵循语义化版本：删除字段或接口、收窄类型即升主版本号。"
            ),
            "license": {"name": "政府公开数据", "identifier": "CC-BY-4.0"},
        },
        "servers": [{"url": "/"}],
        "tags": TAGS,
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": {
                str(code): {
                    "description": text,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": REF.format(model="ErrorBody")},
                            "example": _ERROR_EXAMPLES[code],
                        }
                    },
                    **({"headers": {"Retry-After": _HEADERS["Retry-After"]}} if code in (429, 503) else {}),
                }
                for code, text in _ERROR_DESCRIPTIONS.items()
            },
            "x-error-codes": api.ERROR_CODES,
        },
    }


def _operation(rule, op: api.Operation, refs) -> dict[str, Any]:
    params: list[dict[str, Any]] = []
    for name in sorted(rule.arguments):
        params.append(
            {
                "name": name,
                "in": "path",
                "required": True,
                "description": op.path_params.get(name, ("", ""))[0],
                "schema": {"type": "string", "minLength": 1, "maxLength": 64},
                **({"example": op.path_params[name][1]} if name in op.path_params else {}),
            }
        )
    if op.query is not None:
        schema = op.query.model_json_schema(ref_template=REF)
        required = set(schema.get("required", ()))
        for name, prop in schema.get("properties", {}).items():
            prop = dict(prop)
            description = prop.pop("description", "")
            examples = prop.pop("examples", None)
            prop.pop("title", None)
            prop = _not_null(prop)
            param = {"name": name, "in": "query", "required": name in required, "schema": prop}
            if description:
                param["description"] = description
            if examples:
                param["example"] = examples[0]
            params.append(param)
    if op.extra_query:
        params.append(
            {
                "name": "answers",
                "in": "query",
                "description": (
                    "情形的回答：以情形的 key 为参数名、选项的 value 为值（如 applicant=proxy）；"
                    "未回答或不认识的回答按该情形的第一个选项，其他参数不予理会"
                ),
                "style": "form",
                "explode": True,
                "schema": {"type": "object"},
            }
        )
    headers = {"Access-Control-Allow-Origin": _HEADERS["Access-Control-Allow-Origin"]} if op.public else {}
    headers["Content-Language"] = _HEADERS["Content-Language"]
    for name in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"):
        headers[name] = _HEADERS[name]
    if op.cacheable:
        headers["ETag"] = _HEADERS["ETag"]
        headers["Cache-Control"] = _HEADERS["Cache-Control"]
    if op.paged:
        headers["Link"] = _HEADERS["Link"]
    ok: dict[str, Any] = {"description": "成功", "headers": headers}
    if op.response is not None:
        media: dict[str, Any] = {"schema": refs[(op.response, "serialization")]}
        example = op.example
        if example is None:
            examples = (op.response.model_config.get("json_schema_extra") or {}).get("examples")  # type: ignore[union-attr]
            example = examples[0] if examples else None
        if example is not None:
            media["example"] = example
        ok["content"] = {op.media_type: media}
    responses: dict[str, Any] = {"200": ok}
    if op.cacheable:
        responses["304"] = {"description": "未改变（If-None-Match 与 ETag 相同）"}
    for code in sorted({*op.errors, *ALWAYS}):
        responses[str(code)] = {"$ref": f"#/components/responses/{code}"}
    out: dict[str, Any] = {
        "operationId": rule.endpoint.replace(".", "_"),
        "summary": op.summary,
        "tags": list(op.tags),
        "parameters": params,
        "responses": responses,
    }
    if op.body is not None:
        out["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
        }
    if op.description:
        out["description"] = op.description
    return out


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is absent or a string, never JSON null: ``anyOf [X, null]`` becomes ``X``."""
    options = schema.get("anyOf")
    if not options:
        return schema
    kept = [o for o in options if o.get("type") != "null"]
    if len(kept) != 1:
        return schema
    out = {k: v for k, v in schema.items() if k != "anyOf"}
    if out.get("default", 0) is None:
        del out["default"]
    return {**kept[0], **out}


@bp.get(api.API_PREFIX + "/openapi.json")
@api.operation(summary="本接口的 OpenAPI 3.1 文档", tags=("meta",), response=None, cacheable=True)
def openapi_json():
    document = current_app.extensions.get("openapi_document")
    if document is None:  # the URL map is complete once the app serves: build it once per app
        document = current_app.extensions["openapi_document"] = build_document(current_app)
    response = jsonify(document)
    response.headers["Cache-Control"] = "public, max-age=300"
    digest = zlib.crc32(json.dumps(document, sort_keys=True).encode())
    response.set_etag(f"openapi-{api.API_VERSION}-{digest:x}")
    return response.make_conditional(request)


#: The last released document, committed: tests/api/test_contract.py compares the served one with it.
RELEASED = Path(__file__).resolve().parents[1] / "tests" / "api" / "openapi-released.json"


@bp.cli.command("release")
def release_command() -> None:
    """Write the current document as the released one (after a release; see core.apicompat)."""
    document = build_document(current_app)
    RELEASED.write_text(
        json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )
    click.echo(f"{RELEASED}: version {document['info']['version']}, {len(document['paths'])} paths")


@bp.get("/api/docs")
def docs():
    """The document, readable (Swagger UI, vendored: no CDN)."""
    return render_template("core/api_docs.html", version=api.API_VERSION)
