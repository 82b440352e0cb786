"""Domain errors. Each carries its HTTP status and a stable code; the API maps them once."""

from __future__ import annotations


class TollgateError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


class InvalidRequest(TollgateError):
    status = 422
    code = "invalid_request"


class NotFound(TollgateError):
    status = 404
    code = "not_found"


class Conflict(TollgateError):
    status = 409
    code = "conflict"


class InsufficientCredit(TollgateError):
    status = 402
    code = "insufficient_credit"


class Unauthorized(TollgateError):
    status = 401
    code = "unauthorized"


class Forbidden(TollgateError):
    status = 403
    code = "forbidden"
