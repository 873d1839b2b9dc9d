"""Staff password hashing with Argon2id (D13), through argon2-cffi.

argon2-cffi is the library the Argon2 authors point to for Python; its default parameters
follow RFC 9106's low-memory profile (64 MiB, 3 passes), about 0.1 s per hash here, which is
what a login may cost. Hashes carry their parameters, so raising them later only needs
:func:`needs_rehash` at the next successful login.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_LENGTH = 10

_hasher = PasswordHasher()
# Verifying against this when the username is unknown makes "no such user" take as long as
# "wrong password", so response times do not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash("orderwatch-timing-equalizer")


def check_password_strength(password: str) -> None:
    """Raise ``ValueError`` naming the problem when ``password`` is too weak to store."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password: must be at least {MIN_PASSWORD_LENGTH} characters (got {len(password)})")
    if password.strip() != password:
        raise ValueError("password: must not start or end with whitespace")


def hash_password(password: str) -> str:
    """The Argon2id hash of ``password`` (salted, with its parameters encoded)."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; ``None`` (unknown user) is always False.

    A malformed stored hash counts as a mismatch rather than an error: a login page must not
    tell an attacker that an account's hash is broken.
    """
    try:
        _hasher.verify(password_hash or _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    """Whether ``password_hash`` was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)
