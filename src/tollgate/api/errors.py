"""Mapping every error to JSON ``{"error": {"code", "message"}}`` with the right status."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from tollgate.errors import TollgateError

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
    status: int, code: str, message: str, headers: dict | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


def _describe(error: dict) -> str:
    location = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
    message = error.get("msg", "invalid value")
    return f"{location}: {message}" if location else message


def describe_validation_error(errors: list) -> dict:
    """The ``{"code", "message"}`` of a list of pydantic errors."""
    custom = {"invalid_amount", "invalid_timezone"}
    code = next((e["type"] for e in errors if e.get("type") in custom), "invalid_request")
    return {"code": code, "message": "; ".join(_describe(error) for error in errors[:5])}


class RefuseNulInPath:
    """ASGI middleware: a path with a NUL character names nothing (and PostgreSQL text
    cannot hold one), so it is a 404 before any route looks it up."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
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
