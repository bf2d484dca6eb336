"""Masked forms of contact details for people without the "view personal data" permission."""

from __future__ import annotations

MASK = "•••"


def mask_email(email: str | None) -> str:
    if not email:
        return ""
    local, _, domain = email.partition("@")
    return f"{local[:1]}{MASK}@{domain}" if domain else f"{email[:1]}{MASK}"


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    return f"{phone[:3]}{MASK}{phone[-2:]}" if len(phone) > 6 else MASK


def mask_name(name: str | None) -> str:
    if not name:
        return ""
    return f"{name[:1]}{MASK}"


def mask_text(text: str | None) -> str:
    return MASK if text else ""
