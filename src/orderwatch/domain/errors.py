"""The exceptions the domain and services raise, as one documented tree.

OrderWatchError
├── ValidationFailed        bad input: names the field, the value and the problem
├── NotFound                a referenced order/shipment/carrier does not exist
├── Conflict                the request contradicts what is stored (e.g. idempotency key reuse)
├── PermissionDenied        the caller's role or API key lacks a permission
└── AuthenticationFailed    no valid credentials, or a webhook signature that does not verify
"""

from __future__ import annotations


class OrderWatchError(Exception):
    """Base of every error OrderWatch raises on purpose."""


class ValidationFailed(OrderWatchError):
    """Input that cannot be accepted; ``field`` and ``value`` say exactly what was wrong."""

    def __init__(self, field: str, problem: str, value: object = None) -> None:
        self.field = field
        self.problem = problem
        self.value = value
        shown = "" if value is None else f" (got {value!r})"
        super().__init__(f"{field}: {problem}{shown}")


class NotFound(OrderWatchError):
    """A referenced record does not exist."""

    def __init__(self, kind: str, reference: object) -> None:
        self.kind = kind
        self.reference = reference
        super().__init__(f"{kind} {reference!r} not found")


class Conflict(OrderWatchError):
    """The request contradicts stored state."""


class PermissionDenied(OrderWatchError):
    """The caller may not do this."""


class AuthenticationFailed(OrderWatchError):
    """Credentials or a signature did not verify."""
