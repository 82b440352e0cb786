"""Mapping every error to JSON ``{"error": {"code", "message"}}`` with the right status."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, get_args

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic_core.core_schema import ErrorType
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from tollgate.errors import TollgateError

# Pydantic's own error types (anything else is one of ours, with its own stable code).
_BUILT_IN: frozenset[str] = frozenset(get_args(ErrorType))

log = logging.getLogger("tollgate.api")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def error_response(
    status: int, code: str, message: str, headers: dict[str, Any] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


# What a pattern in the schema means, in words: an error never shows a raw regex.
_PATTERNS = {
    r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}$": (
        "must be 1 to 64 letters, digits or '._:@-', starting with a letter or digit"
    ),
    r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$": (
        "must be 1 to 128 letters, digits or '._:@-', starting with a letter or digit"
    ),
    r"^[A-Z][A-Z0-9_]{1,11}$": (
        "must be 2 to 12 capital letters, digits or '_', starting with a letter (e.g. EUR)"
    ),
    r"^[a-z][a-z0-9_]{0,39}$": "must be 1 to 40 lower-case letters, digits or '_'",
    r"^[A-Z]{2}$": "must be a two-letter ISO country code in capitals, such as FR",
    r"^[\x21-\x7e]+$": "must be 1 to 128 printable ASCII characters, without spaces",
}


def _plain(error: Mapping[str, Any]) -> str:
    """Pydantic's message for ``error`` in the API's words (no internals, no regexes)."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "string_pattern_mismatch":
        return _PATTERNS.get(str(ctx.get("pattern")), "is not in the expected form")
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}"
    if kind in ("enum",):
        return f"must be one of {ctx.get('expected')}"
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a field of this request; the API is described at /openapi.json"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "must be a whole number (a JSON integer such as 60)"
    if kind in ("string_type",):
        return "must be a string"
    if kind in ("bool_type", "bool_parsing"):
        return "must be true or false"
    if kind in ("list_type",):
        return "must be a JSON array"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "must be a JSON object"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        words = {
            "greater_than_equal": ("ge", "at least"),
            "greater_than": ("gt", "greater than"),
            "less_than_equal": ("le", "at most"),
            "less_than": ("lt", "less than"),
        }[kind]
        return f"must be {words[1]} {ctx.get(words[0])}"
    if kind in ("string_too_short", "string_too_long"):
        limit = ctx.get("min_length", ctx.get("max_length"))
        side = "at least" if kind == "string_too_short" else "at most"
        return f"must be {side} {limit} characters long"
    if kind in ("too_short", "too_long"):
        limit = ctx.get("min_length", ctx.get("max_length"))
        side = "at least" if kind == "too_short" else "at most"
        return f"must have {side} {limit} items"
    message = str(error.get("msg", "is not valid"))
    return message.removeprefix("Value error, ")


def _describe(error: Mapping[str, Any]) -> str:
    location = ".".join(
        str(part) for part in error.get("loc", ()) if part not in ("body", "path", "query")
    )
    message = _plain(error)
    custom = error.get("type") not in _BUILT_IN
    if custom or not location:
        return f"{location}: {message}" if location else message
    return f"{location} {message}"


# The custom error types that are stable codes of their own (others: invalid_request).
_OWN_CODES = frozenset(
    {
        "invalid_amount",
        "invalid_timezone",
        "invalid_instant",
        "category_required",
        "duration_required",
        "text_or_segments_required",
    }
)


def describe_validation_error(errors: Sequence[Any]) -> dict[str, str]:
    """The ``{"code", "message"}`` of a list of pydantic errors: the first custom code
    (e.g. invalid_amount, category_required), else ``invalid_request``."""
    code = next((e["type"] for e in errors if e.get("type") in _OWN_CODES), "invalid_request")
    return {"code": code, "message": "; ".join(_describe(error) for error in errors[:5])}


class RefuseNulInPath:
    """ASGI middleware: a path with a NUL character names nothing (and PostgreSQL text
    cannot hold one), so it is a 404 before any route looks it up."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "\x00" in scope["path"]:
            response = error_response(
                404, "not_found", "no resource has a NUL character in its path"
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _methods_of_path(request: Request) -> list[str]:
    # The router's own Allow header names only the first route matching the path, but
    # e.g. GET and PATCH /v1/accounts/{id} are two routes: ask the router about each.
    return [
        method
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL
            for route in request.app.router.routes
        )
    ]


def install_error_handlers(app: FastAPI) -> None:
    app.add_middleware(RefuseNulInPath)

    @app.exception_handler(TollgateError)
    async def _domain(_: Request, exc: TollgateError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        if any(error.get("type") == "json_invalid" for error in errors):
            return error_response(400, "malformed_json", "the request body is not valid JSON")
        if any(
            error.get("type") == "model_attributes_type"
            and tuple(error.get("loc", ())) == ("body",)
            for error in errors
        ) or any(
            error.get("type") == "missing" and tuple(error.get("loc", ())) == ("body",)
            for error in errors
        ):
            return error_response(422, "invalid_request", "the request body must be a JSON object")
        described = describe_validation_error(errors)
        return error_response(422, described["code"], described["message"])

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
            # FastAPI's answer to a body that is not even text (e.g. invalid UTF-8).
            return error_response(400, "malformed_json", "the request body is not valid JSON")
        if exc.status_code == 404 and exc.detail == "Not Found":
            # The router's answer to a path no route matches.
            return error_response(
                404, "not_found", "no endpoint has this path; the API is described at /openapi.json"
            )
        if exc.status_code == 405 and exc.detail == "Method Not Allowed":
            allowed = ", ".join(_methods_of_path(request))
            return error_response(
                405,
                "method_not_allowed",
                f"this endpoint does not accept {request.method}; it accepts {allowed}",
                {"Allow": allowed},
            )
        code = _HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        return error_response(exc.status_code, code, message, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return error_response(500, "internal_error", "an unexpected error occurred; it was logged")
