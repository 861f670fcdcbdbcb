"""The public API's shapes for ``POST /api/v1/ecert/verify``: the view validates the body and builds
its answer with these models; the OpenAPI document is generated from them (core.api)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from applications.ecert.payload import Reason
from core.api import Field


class VerifyBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    payload: str = Field(
        min_length=1,
        description="二维码的内容（LJ1: 开头）；过长或格式不对的内容答复为 malformed，而不是错误",
        examples=["LJ1:6BFOXN*TS0BI$ZD4N9:9S6RCVN5+O30K3/XIV0W23NTDEXWK G2EP4J0B3KL6QM5/OVGA/MAT%ZZTF:I3"],
    )


class Revoked(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: datetime | None
    reason: str = Field(description="replaced（已换发）、cancelled（已注销）或 issued_in_error（误发）")


class VerifyOut(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "valid": False,
                    "reason": "malformed",
                    "message": "二维码内容不完整或格式不对",
                    "kid": None,
                    "claims": None,
                }
            ]
        },
    )

    valid: bool = Field(description="真实有效（签名正确、密钥已发布、在有效期内、未撤销）")
    reason: Reason = Field(description="ok 或未通过的原因")
    message: str = Field(description="中文说明")
    kid: str | None = Field(description="签名密钥的 kid（见 /.well-known/ecert-keys.json）")
    claims: dict[str, Any] | None = Field(description="证照内容（身份证号码已打码）；格式不对时为 null")
    revoked: Revoked | None = Field(None, description="已撤销时：何时、为何")
