"""One error shape for every failure: `{"error", "message", "field"?}`.

Clients (the dashboard, the platform) branch on `error`, show `message` and highlight `field`;
nothing about the server's internals ever reaches them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from conductor.service.agent import NotFound
from conductor.storage.store import StorageUnavailable

log = logging.getLogger(__name__)

CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal",
    503: "unavailable",
}


class ApiError(Exception):
    """An expected failure with a status, a machine code and a message a person can act on."""

    def __init__(
        self, status: int, message: str, *, field: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or CODES.get(status, "error")
        self.message = message
        self.field = field


def unauthorized(message: str = "a valid bearer token is required") -> ApiError:
    return ApiError(401, message)


def forbidden(message: str = "this resource is outside your organisation") -> ApiError:
    return ApiError(403, message)


def not_found(message: str) -> ApiError:
    return ApiError(404, message)


def invalid(field: str, message: str) -> ApiError:
    return ApiError(422, message, field=field)


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": code, "message": message}
    if field is not None:
        body["field"] = field
    return body


def _response(status: int, body: dict[str, Any]) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def field_of(location: Sequence[Any]) -> str | None:
    """`("body", "signals", 3, "data")` -> `signals.3.data`; the whole body -> `body`."""
    parts = [str(p) for p in location]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        source, parts = parts[0], parts[1:]
        if not parts:
            return source
    return ".".join(parts) or None


def _validation_message(error: dict[str, Any], field: str | None) -> str:
    message = str(error.get("msg", "invalid value"))
    if error.get("type") == "json_invalid":
        return "the request body is not valid JSON"
    if error.get("type") == "missing":
        return f"{field} is required" if field else "a required value is missing"
    return f"{field}: {message}" if field else message


async def _on_api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return _response(exc.status, error_body(exc.code, exc.message, exc.field))


async def _on_http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = CODES.get(exc.status_code, "error")
    detail = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    response = _response(exc.status_code, error_body(code, detail))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    first: dict[str, Any] = dict(errors[0]) if errors else {}
    if first.get("type") == "json_invalid":
        field: str | None = "body"  # its location is a character offset, not a field
    else:
        field = field_of(first.get("loc", ()))
    return _response(422, error_body(CODES[422], _validation_message(first, field), field))


async def _on_not_found(_request: Request, exc: Exception) -> JSONResponse:
    return _response(404, error_body(CODES[404], str(exc) or "not found"))


async def _on_storage_unavailable(_request: Request, exc: Exception) -> JSONResponse:
    log.warning("storage unavailable: %s", exc)
    return _response(
        503, error_body(CODES[503], "the database is unavailable; retry in a few seconds")
    )


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _response(500, error_body(CODES[500], "an internal error occurred; it has been logged"))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(NotFound, _on_not_found)
    app.add_exception_handler(StorageUnavailable, _on_storage_unavailable)
    app.add_exception_handler(Exception, _on_unexpected)
