"""Domain errors raised by services; the API and views translate them to HTTP."""

from __future__ import annotations

from collections.abc import Sequence


class DomainError(Exception):
    """A rule of the service desk refused the change. Maps to 400 unless a subclass says."""

    status_code = 400
    title = "Request refused"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    status_code = 404
    title = "Not found"


class PermissionDenied(DomainError):
    status_code = 403
    title = "Permission denied"


class IllegalTransition(DomainError):
    status_code = 409
    title = "Illegal status transition"

    def __init__(self, detail: str, allowed: Sequence[str]) -> None:
        super().__init__(detail)
        self.allowed = list(allowed)


class StaleVersion(DomainError):
    """Someone else changed the record since the caller read it (optimistic concurrency)."""

    status_code = 412
    title = "Stale version"

    def __init__(self, detail: str, current_version: int) -> None:
        super().__init__(detail)
        self.current_version = current_version


class PayloadTooLarge(DomainError):
    status_code = 413
    title = "Payload too large"
