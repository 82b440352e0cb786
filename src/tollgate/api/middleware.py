"""ASGI middleware around the whole API: request ids and the access log, body size limits.

Both are plain ASGI (no ``BaseHTTPMiddleware``) so that they see every request, the
413s, 404s and 500s included, and can count a body that streams in without a
``Content-Length``.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tollgate.api.errors import error_response
from tollgate.logs import REQUEST_ID

access_log = logging.getLogger("tollgate.access")
log = logging.getLogger("tollgate.api")

# A caller's own request id is kept when it is short, printable ASCII; otherwise ours.
_CALLERS_REQUEST_ID = re.compile(r"[\x20-\x7e]{1,128}")
# Probes are polled every few seconds: their successful answers would drown the log.
_PROBES = frozenset({"/healthz", "/readyz"})


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            given: str = value.decode("latin-1").strip()
            if _CALLERS_REQUEST_ID.fullmatch(given):
                return given
            break
    return uuid.uuid4().hex


class RequestContext:
    """Gives each HTTP request an id (the caller's ``X-Request-Id`` if sane), answers it
    in ``X-Request-Id``, tags every log line written while serving the request with it,
    and writes one access line when the request ends.

    An error nothing else handled is logged here, with the request id, and answered
    with a JSON 500 naming that id.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        token = REQUEST_ID.set(request_id)
        began = time.perf_counter()
        status: int | None = None

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", ()), (b"x-request-id", request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        except Exception:
            log.exception("unhandled error")
            if status is not None:
                raise  # the answer is half sent: only closing the connection is left
            response = error_response(
                500,
                "internal_error",
                f"an unexpected error occurred; it was logged with request id {request_id}",
            )
            await response(scope, receive, send_with_request_id)
        finally:
            duration_ms = round((time.perf_counter() - began) * 1000, 1)
            quiet = scope["path"] in _PROBES and status is not None and status < 400
            access_log.log(
                logging.DEBUG if quiet else logging.INFO,
                "%s %s %s",
                scope["method"],
                scope["path"],
                status if status is not None else "(no answer)",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": duration_ms,
                },
            )
            REQUEST_ID.reset(token)


class BodyTooLarge(HTTPException):
    """Raised while the body streams in; the API's error mapping answers it as a 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            413,
            f"the request body is larger than {limit} bytes, the most this server accepts; "
            "send it in smaller parts (a usage batch, for instance, can be split)",
        )


class LimitRequestBody:
    """Answers 413 ``payload_too_large`` to a request body over the limit: at once when
    its ``Content-Length`` says so, else as soon as the bytes read pass it (a chunked
    body has no ``Content-Length``). ``larger`` raises the limit under some path
    prefixes."""

    def __init__(self, app: ASGIApp, max_bytes: int, larger: Mapping[str, int] | None = None):
        self.app = app
        self.max_bytes = max_bytes
        self.larger = dict(larger or {})

    def _limit(self, path: str) -> int:
        for prefix, limit in self.larger.items():
            if path.startswith(prefix):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(limit, scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge:
            # Normally the API's error mapping has answered already; this is for a
            # reader that let the exception through.
            if started:
                raise
            await self._refuse(limit, scope, receive, send)

    @staticmethod
    async def _refuse(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
        exc = BodyTooLarge(limit)
        await error_response(413, "payload_too_large", exc.detail)(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyIsJson:
    """Reads every ``/v1`` request body as JSON, whatever its declared Content-Type.

    ``/v1`` authenticates by bearer key only (never by a cookie), so a cross-site form
    cannot act with a user's rights and reading a form-encoded body as JSON opens no
    CSRF hole (SPEC §13). It spares a ``curl -d '{...}'`` that forgot
    ``-H 'Content-Type: application/json'`` a baffling refusal; a body that is not JSON
    is still a 400 ``malformed_json``.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v1/"):
            headers = [(name, value) for name, value in scope["headers"] if name != b"content-type"]
            headers.append((b"content-type", b"application/json"))
            scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)
