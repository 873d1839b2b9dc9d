"""Unguessable tracking-page links (D3): an order id signed with the secret key (HMAC-SHA256).

The token names one order and cannot be forged or walked (changing a character breaks the
signature), so the link in a message opens that order and no other without a login.
"""

from __future__ import annotations

import hashlib

from itsdangerous import BadSignature, URLSafeSerializer

SALT = "orderwatch.tracking.v1"


class TrackingTokens:
    """Makes and reads tracking tokens for one secret key."""

    def __init__(self, secret_key: str) -> None:
        self._serializer = URLSafeSerializer(
            secret_key, salt=SALT, signer_kwargs={"digest_method": hashlib.sha256}
        )

    def token_for(self, order_id: int) -> str:
        return str(self._serializer.dumps(order_id))

    def order_id(self, token: str) -> int | None:
        """The order id a token names, or None for anything forged, altered or malformed."""
        try:
            value = self._serializer.loads(token)
        except BadSignature:
            return None
        return value if isinstance(value, int) and not isinstance(value, bool) else None
