"""Errors a user can cause: a code, an HTTP status, and a message in the user's language."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """Raised by handlers; rendered as {"error": {"code", "message"}} with the status.

    `message` is an English msgid translated at render time; `params` fill its {placeholders}.
    """

    status = 400

    def __init__(self, code: str, message: str, status: int | None = None, headers: dict[str, str] | None = None,
                 **params: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.params = params
        self.headers = headers or {}
        if status is not None:
            self.status = status


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class Gone(ApiError):
    status = 410


class TooLarge(ApiError):
    status = 413


class UnsupportedMediaType(ApiError):
    status = 415


class Invalid(ApiError):
    status = 422


class TooManyRequests(ApiError):
    status = 429


class Unavailable(ApiError):
    status = 503
