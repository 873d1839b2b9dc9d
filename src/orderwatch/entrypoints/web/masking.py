"""Customer personal data on staff pages, masked for roles without ``customers:read_pii`` (D13).

Logistics and supply-chain staff need where a parcel goes (city, region, postal prefix), not
who the customer is or how to reach them, so name, e-mail, phone and street are masked for them.
Masking happens before the template sees the data: a template cannot leak what it never got.
"""

from __future__ import annotations

from typing import Any

MASK = "***"
PII_FIELDS = ("name", "email", "phone", "address_line")


def mask_email(email: str) -> str:
    """``ana.souza@example.com`` → ``a***@example.com`` (the domain helps spot typos)."""
    local, at, domain = email.partition("@")
    if not at:
        return MASK
    return f"{local[:1]}{MASK}@{domain}"


def mask_name(name: str) -> str:
    """``Ana Souza`` → ``A***``."""
    stripped = name.strip()
    return f"{stripped[:1]}{MASK}" if stripped else MASK


def mask_phone(phone: str) -> str:
    """Keep the last two digits, so a caller can confirm a number they already know."""
    digits = [c for c in phone if c.isdigit()]
    return f"{MASK}{''.join(digits[-2:])}" if len(digits) >= 6 else MASK


def mask_address(_address: str) -> str:
    """A street address says who the customer is; nothing of it is kept."""
    return MASK


_MASKERS = {"name": mask_name, "email": mask_email, "phone": mask_phone, "address_line": mask_address}


def customer_view(customer: dict[str, Any] | None, *, can_read_pii: bool) -> dict[str, Any] | None:
    """``customer`` as the page may show it, with ``masked`` telling the template why."""
    if customer is None:
        return None
    if can_read_pii:
        return {**customer, "masked": False}
    shown = dict(customer)
    for key in PII_FIELDS:
        value = shown.get(key)
        shown[key] = _MASKERS[key](value) if value else value
    shown["masked"] = True
    return shown
