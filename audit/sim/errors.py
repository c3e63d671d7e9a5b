"""Frappe's exceptions and the message log they travel with.

Every failure inside the simulator is one of these exceptions. ``exc_name`` is the class
name Frappe reports as ``exc_type``; ``module`` gives the ``exception`` line its prefix
(``frappe.exceptions.PermissionError: ...``); ``http_status`` is Frappe's status for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from audit.sim.util import exc_id


class FrappeError(Exception):
    """Base of every simulated Frappe exception."""

    exc_name = "Exception"
    module: str | None = "frappe.exceptions"
    http_status = 500

    def __init__(self, message: str = "", *, exception_line: str | None = None,
                 exc_name: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self._exception_line = exception_line
        if exc_name:
            self.exc_name = exc_name

    @property
    def exception_line(self) -> str:
        if self._exception_line is not None:
            return self._exception_line
        prefix = f"{self.module}.{self.exc_name}" if self.module else self.exc_name
        return f"{prefix}: {self.message}" if self.message else prefix


class ValidationError(FrappeError):
    exc_name = "ValidationError"
    http_status = 417


class AuthenticationError(FrappeError):
    exc_name = "AuthenticationError"
    http_status = 401


class FrappePermissionError(FrappeError):
    exc_name = "PermissionError"
    http_status = 403


class DoesNotExistError(ValidationError):
    exc_name = "DoesNotExistError"
    http_status = 404


class DuplicateEntryError(FrappeError):
    exc_name = "DuplicateEntryError"
    http_status = 409


class FrappeNameError(FrappeError):
    exc_name = "NameError"
    http_status = 409


class CSRFTokenError(FrappeError):
    exc_name = "CSRFTokenError"
    http_status = 400


class InvalidAuthorizationToken(CSRFTokenError):
    exc_name = "InvalidAuthorizationToken"


class TooManyRequestsError(FrappeError):
    exc_name = "TooManyRequestsError"
    http_status = 429


class SecurityException(FrappeError):
    exc_name = "SecurityException"
    http_status = 500


class ExpiredLoginException(FrappeError):
    exc_name = "ExpiredLoginException"
    http_status = 500


def _validation(name: str) -> type[ValidationError]:
    return type(name, (ValidationError,), {"exc_name": name})


MandatoryError = _validation("MandatoryError")
LinkValidationError = _validation("LinkValidationError")
CancelledLinkError = _validation("CancelledLinkError")
TimestampMismatchError = _validation("TimestampMismatchError")
DocstatusTransitionError = _validation("DocstatusTransitionError")
UpdateAfterSubmitError = _validation("UpdateAfterSubmitError")
LinkExistsError = _validation("LinkExistsError")
CharacterLengthExceededError = _validation("CharacterLengthExceededError")
UniqueValidationError = _validation("UniqueValidationError")
DataError = _validation("DataError")
FrappeTypeError = _validation("FrappeTypeError")


class PythonError(FrappeError):
    """A plain Python or driver error (``TypeError``, ``ImportError``, pymysql ...): 500."""

    module = None

    def __init__(self, exc_name: str, message: str, *, module: str | None = None,
                 exception_line: str | None = None) -> None:
        super().__init__(message, exception_line=exception_line, exc_name=exc_name)
        self.module = module


class Redirect(Exception):
    """Answer with a redirect (not an error body)."""

    def __init__(self, location: str, status: int = 302) -> None:
        super().__init__(location)
        self.location = location
        self.status = status


class HTMLError(Exception):
    """Answer with a werkzeug-style HTML error page (404 route, 405, ...)."""

    def __init__(self, status: int, title: str, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.title = title
        self.text = text


@dataclass
class MessageLog:
    """The request's ``frappe.message_log`` plus ``flags.error_message``."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    error_message: str | None = None

    def msgprint(self, message: str, title: str = "Message", indicator: str | None = None,
                 **extra: Any) -> None:
        entry: dict[str, Any] = {"message": message, "title": title}
        if indicator:
            entry["indicator"] = indicator
        entry.update(extra)
        self.messages.append(entry)

    def throw(self, message: str, exc: type[FrappeError] = ValidationError,
              title: str = "Message") -> FrappeError:
        """Log ``message`` as ``frappe.throw`` does and return the exception to raise."""
        self.messages.append({"message": message, "title": title, "indicator": "red",
                              "raise_exception": 1, "__frappe_exc_id": exc_id()})
        return exc(message)

    def print_logs(self, logs: list[str]) -> None:
        """Show collected permission-check reasons as one message, as Frappe does."""
        if logs:
            self.msgprint("<br>".join(logs))
