"""Credentials kept at rest (a mailbox's IMAP password): encrypted with Fernet (AES-128-CBC + HMAC).

The key is TIERDESK_CREDENTIALS_KEY when set (a Fernet key; rotate by re-saving the credentials),
otherwise derived from SECRET_KEY, so a database dump alone never reveals a password.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

from tierdesk.core.errors import DomainError


def _fernet() -> Fernet:
    key = getattr(settings, "TIERDESK_CREDENTIALS_KEY", "")
    if not key:
        digest = hashlib.sha256(b"tierdesk.credentials:" + settings.SECRET_KEY.encode()).digest()
        key = base64.urlsafe_b64encode(digest).decode()
    return Fernet(key)


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode("utf-8")).decode("ascii") if plain else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise DomainError("A stored credential cannot be decrypted: was the key changed? Enter it again.") from exc
