"""``GENNAKER_REQUEST_LIMITS__*``: how large and how deeply nested a request body may be, and how long an
expression evaluation request may compute. Kept apart from ``api.limits`` so settings import nothing heavy."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

_MiB = 1024 * 1024


class RequestLimitSettings(BaseModel):
    """Body size per route, JSON nesting depth, and the API's wall-clock budget for expressions."""

    model_config = ConfigDict(extra="forbid")

    max_body_bytes: int = Field(default=2 * _MiB, ge=1024)
    webhook_max_body_bytes: int = Field(default=5 * _MiB, ge=1024)
    #: path prefix -> byte limit, for routes that need another limit than the default (longest prefix wins)
    route_max_body_bytes: dict[str, int] = Field(default_factory=dict)
    max_json_depth: int = Field(default=256, ge=8)
    #: wall-clock seconds one evaluateExpression / evaluateVariables request may compute for
    expression_time_budget_s: float = Field(default=5.0, gt=0)
