"""The error statuses each route documents in OpenAPI, with their bodies, so that clients and
schema-driven tests (tests/api/test_openapi_fuzz.py) see what the API really answers.

Routes declare `responses=errors(401, 404, ...)`; api/main.py maps the domain errors to them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorBody(BaseModel):
    """Every error: a message for a person, and for state conflicts a code for programs."""

    detail: str
    code: str | None = None


class ValidationIssue(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorBody(BaseModel):
    """FastAPI's own 422, one entry per invalid field."""

    detail: list[ValidationIssue]


DESCRIPTIONS = {
    400: "The body could not be parsed (not UTF-8, not JSON)",
    401: "No token, or an invalid or expired one",
    403: "The token is valid but may not do this",
    404: "No such room",
    409: "The room's state does not allow it (`code` says why)",
    413: "The body or the message is too long",
    422: "Invalid parameters or body",
    429: "Too many requests: retry after `Retry-After` seconds",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    documented: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        doc: dict[str, Any] = {"model": ErrorBody, "description": DESCRIPTIONS[status]}
        if status == 422:
            doc["model"] = ErrorBody | ValidationErrorBody
        if status == 429:
            doc["headers"] = {
                "Retry-After": {
                    "description": "Seconds to wait before retrying",
                    "schema": {"type": "integer"},
                }
            }
        documented[status] = doc
    return documented
