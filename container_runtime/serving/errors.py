"""Serving errors, each with its HTTP status, mapped to one JSON body shape in one place.

User handlers may raise `InvalidInput` (400) for a request their model cannot take; any
exception carrying an integer `status_code` between 400 and 499 is answered with that code.
Anything else raised by a handler is a 500 naming the handler.
"""

from __future__ import annotations


class ServingError(Exception):
    """An error with the HTTP status and the `error` name the client receives."""

    status = 500
    error = "InternalServerError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(ServingError):
    status = 400
    error = "InvalidInput"


class NotFound(ServingError):
    status = 404
    error = "NotFound"


class MethodNotAllowed(ServingError):
    status = 405
    error = "MethodNotAllowed"


class NotAcceptable(ServingError):
    status = 406
    error = "NotAcceptable"


class PayloadTooLarge(ServingError):
    status = 413
    error = "PayloadTooLarge"


class UnsupportedContentType(ServingError):
    status = 415
    error = "UnsupportedContentType"


class HandlerFailed(ServingError):
    status = 500
    error = "HandlerFailed"

    def __init__(self, handler: str, cause: BaseException) -> None:
        super().__init__(f"{handler} raised {type(cause).__name__}: {cause}")
        self.handler = handler


class ModelNotReady(ServingError):
    status = 503
    error = "ModelNotReady"


class RequestTimedOut(ServingError):
    status = 504
    error = "RequestTimedOut"

    def __init__(self, message: str, *, retire: bool = True) -> None:
        super().__init__(message)
        #: Whether the worker must be replaced (its model code may still be running).
        self.retire = retire


def client_error_status(error: BaseException) -> int | None:
    """The 4xx status a foreign exception asks for through a `status_code` attribute."""
    status = getattr(error, "status_code", None)
    if isinstance(status, int) and not isinstance(status, bool) and 400 <= status <= 499:
        return status
    return None


class Timeout(Exception):
    """A batched request's deadline passed (raised by `batching`, turned into `RequestTimedOut` by
    the service); `stuck` when the model call has run past the timeout."""

    def __init__(self, stuck: bool) -> None:
        super().__init__("stuck model call" if stuck else "deadline passed")
        self.stuck = stuck
