"""Inbound webhook signatures (D1; ANCHORS §5 item 12, §7): verified over raw bytes, fail closed.

One scheme per source, each as documented by the sender:

=========  ==========================  ================================================================
source     header / field              value
=========  ==========================  ================================================================
aftership  ``aftership-hmac-sha256``   base64(HMAC-SHA256(key=secret, msg=raw body))
17track    ``sign``                    hex(SHA-256(raw body + "/" + secret))
kuaidi100  form field ``sign``         upper hex(MD5(param + salt)); ``param`` is the form field value
generic    ``X-OrderWatch-Signature``  ``t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>``
=========  ==========================  ================================================================

Rules common to all: the signature is computed over the bytes received, never over re-serialized
JSON; comparison is constant-time (:func:`hmac.compare_digest`); a missing header, a source with no
active secret, or a mismatch is a refusal (:class:`BadSignature`), never a pass; any of the
source's active secrets (at most two, for rotation) may verify. Only the generic scheme signs a
timestamp, so only it can refuse replays outside ``webhook_replay_window_seconds``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from enum import StrEnum

from orderwatch.domain.errors import AuthenticationFailed

GENERIC_HEADER = "X-OrderWatch-Signature"
AFTERSHIP_HEADER = "aftership-hmac-sha256"
SEVENTEENTRACK_HEADER = "sign"


class WebhookSource(StrEnum):
    """The webhook senders OrderWatch accepts; the value is the URL segment and secret source."""

    aftership = "aftership"
    seventeentrack = "17track"
    kuaidi100 = "kuaidi100"
    generic = "generic"


class BadSignature(AuthenticationFailed):
    """A webhook whose signature is missing, malformed, stale or does not verify."""


# ------------------------------------------------------------------ signing (what senders do)


def sign_generic(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-OrderWatch-Signature`` header value for ``body`` sent at ``timestamp``."""
    return f"t={timestamp},v1={_generic_digest(secret, body, timestamp)}"


def _generic_digest(secret: str, body: bytes, timestamp: int) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign_aftership(secret: str, body: bytes) -> str:
    """The ``aftership-hmac-sha256`` header value AfterShip sends for ``body``."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def sign_17track(secret: str, body: bytes) -> str:
    """The ``sign`` header value 17TRACK sends for ``body``."""
    return hashlib.sha256(body + b"/" + secret.encode()).hexdigest()


def sign_kuaidi100(salt: str, param: str) -> str:
    """The ``sign`` form field Kuaidi100 sends with ``param`` (MD5 is Kuaidi100's choice, not ours)."""
    return hashlib.md5((param + salt).encode(), usedforsecurity=False).hexdigest().upper()


# ------------------------------------------------------------------ verifying (what we do)


def _presented(value: str | None, what: str) -> bytes:
    if value is None or not value.strip():
        raise BadSignature(f"{what} is missing")
    # surrogatepass: any str encodes, so a hostile header cannot raise instead of failing.
    return value.strip().encode("utf-8", "surrogatepass")


def _require_secrets(secrets: Sequence[str], source: WebhookSource) -> None:
    if not any(secrets):
        raise BadSignature(f"no active webhook secret for {source.value}: refusing unsigned traffic")


def _matches_any(presented: bytes, expected: Sequence[bytes]) -> bool:
    # Every candidate is compared (no early exit) so the time does not say which secret matched.
    matched = False
    for candidate in expected:
        matched |= hmac.compare_digest(presented, candidate)
    return matched


def verify_aftership(header: str | None, body: bytes, secrets: Sequence[str]) -> None:
    """Raise :class:`BadSignature` unless ``header`` signs ``body`` with an active secret."""
    _require_secrets(secrets, WebhookSource.aftership)
    presented = _presented(header, f"header {AFTERSHIP_HEADER}")
    expected = [sign_aftership(secret, body).encode() for secret in secrets if secret]
    if not _matches_any(presented, expected):
        raise BadSignature(f"header {AFTERSHIP_HEADER} does not match the body")


def verify_17track(header: str | None, body: bytes, secrets: Sequence[str]) -> None:
    """Raise :class:`BadSignature` unless ``header`` signs ``body`` with an active key."""
    _require_secrets(secrets, WebhookSource.seventeentrack)
    presented = _presented(header, f"header {SEVENTEENTRACK_HEADER}").lower()
    expected = [sign_17track(secret, body).encode() for secret in secrets if secret]
    if not _matches_any(presented, expected):
        raise BadSignature(f"header {SEVENTEENTRACK_HEADER} does not match the body")


def verify_kuaidi100(sign: str | None, param: str | None, secrets: Sequence[str]) -> None:
    """Raise :class:`BadSignature` unless form field ``sign`` signs ``param`` with an active salt.

    Kuaidi100 signs the ``param`` field's value (the JSON text), which is what a form decoder
    returns byte for byte; nothing is re-serialized. The hex case is not significant.
    """
    _require_secrets(secrets, WebhookSource.kuaidi100)
    presented = _presented(sign, "form field sign").upper()
    if param is None:
        raise BadSignature("form field param is missing")
    expected = [sign_kuaidi100(secret, param).encode() for secret in secrets if secret]
    if not _matches_any(presented, expected):
        raise BadSignature("form field sign does not match param")


def parse_generic_header(header: str | None) -> tuple[int, list[bytes]]:
    """The timestamp and ``v1`` signatures of an ``X-OrderWatch-Signature`` header."""
    presented = _presented(header, f"header {GENERIC_HEADER}").decode("utf-8", "surrogatepass")
    timestamp: int | None = None
    signatures: list[bytes] = []
    for part in presented.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isascii() and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif key == "v1" and value:
            # Lower-case hex as documented; not case-folded, so that any altered byte fails.
            signatures.append(value.encode("utf-8", "surrogatepass"))
    if timestamp is None or not signatures:
        raise BadSignature(f"header {GENERIC_HEADER} must read t=<unix seconds>,v1=<hex digest>")
    return timestamp, signatures


def verify_generic(
    header: str | None, body: bytes, secrets: Sequence[str], *, now: float, window_seconds: int
) -> None:
    """Raise :class:`BadSignature` unless ``header`` is a fresh signature of ``body``.

    The timestamp is checked after the signature, so that an attacker learns nothing about the
    window from unsigned requests; both failures are refusals.
    """
    _require_secrets(secrets, WebhookSource.generic)
    timestamp, presented = parse_generic_header(header)
    expected = [_generic_digest(secret, body, timestamp).encode() for secret in secrets if secret]
    if not any(_matches_any(signature, expected) for signature in presented):
        raise BadSignature(f"header {GENERIC_HEADER} does not match the body")
    if abs(now - timestamp) > window_seconds:
        raise BadSignature(
            f"header {GENERIC_HEADER} timestamp {timestamp} is outside the {window_seconds} s replay window"
        )
