"""Encryption of contact details at rest (AES-GCM) and keyed blind indexes (HMAC-SHA256).

Ciphertext layout: ``version (1 byte) | key id (4 bytes) | nonce (12 bytes) | ciphertext+tag``.
The key id is the first four bytes of the key's SHA-256, so old keys keep decrypting after a
rotation (``FIELD_ENCRYPTION_KEYS`` lists the newest key first). Each value is bound to its
column through AES-GCM's associated data, so a ciphertext copied into another column does not
decrypt.

A blind index is an HMAC of the normalised value under ``BLIND_INDEX_KEY`` with a purpose
prefix, so equal emails match without the database ever holding the email itself.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import os
import re
import unicodedata

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

from privacy.core.registry import Registry

FORMAT_VERSION = 1
_HEADER = 1 + 4 + 12
INDEX_LENGTH = 32  # hex characters (128 bits) kept of each HMAC


class DecryptionError(Exception):
    """The value was not made by any configured key, or was tampered with."""


class Keyring:
    def __init__(self, encoded_keys: list[str], index_key: str) -> None:
        if not encoded_keys:
            raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must name at least one key.")
        if not index_key:
            raise ImproperlyConfigured("BLIND_INDEX_KEY must be set.")
        self._ciphers: dict[bytes, AESGCM] = {}
        self.current_key_id = b""
        for position, encoded in enumerate(encoded_keys):
            try:
                key = base64.b64decode(encoded, validate=True)
            except binascii.Error as error:
                raise ImproperlyConfigured(
                    f"FIELD_ENCRYPTION_KEYS entry {position + 1} is not base64."
                ) from error
            if len(key) != 32:
                raise ImproperlyConfigured(
                    f"FIELD_ENCRYPTION_KEYS entry {position + 1} must decode to 32 bytes."
                )
            key_id = hashlib.sha256(key).digest()[:4]
            self._ciphers[key_id] = AESGCM(key)
            if position == 0:
                self.current_key_id = key_id
        self._index_key = index_key.encode()

    def encrypt(self, plaintext: str, *, context: str) -> bytes:
        return self.encrypt_bytes(plaintext.encode(), context=context)

    def decrypt(self, token: bytes, *, context: str) -> str:
        return self.decrypt_bytes(token, context=context).decode()

    def encrypt_bytes(self, data: bytes, *, context: str) -> bytes:
        nonce = os.urandom(12)
        sealed = self._ciphers[self.current_key_id].encrypt(nonce, data, context.encode())
        return bytes([FORMAT_VERSION]) + self.current_key_id + nonce + sealed

    def decrypt_bytes(self, token: bytes, *, context: str) -> bytes:
        token = bytes(token)
        if len(token) <= _HEADER or token[0] != FORMAT_VERSION:
            raise DecryptionError("Not an encrypted value of a known format.")
        cipher = self._ciphers.get(token[1:5])
        if cipher is None:
            raise DecryptionError("Encrypted with a key that is no longer configured.")
        try:
            return cipher.decrypt(token[5:17], token[17:], context.encode())
        except InvalidTag as error:
            raise DecryptionError("The value does not authenticate for this column.") from error

    def is_current(self, token: bytes) -> bool:
        return bytes(token[1:5]) == self.current_key_id

    def blind_index(self, value: str, *, purpose: str) -> str:
        digest = hmac.new(self._index_key, f"{purpose}:{value}".encode(), hashlib.sha256)
        return digest.hexdigest()[:INDEX_LENGTH]


@functools.cache
def keyring() -> Keyring:
    return Keyring(list(settings.FIELD_ENCRYPTION_KEYS), settings.BLIND_INDEX_KEY)


@receiver(setting_changed)
def _reset_keyring(*, setting, **kwargs) -> None:
    if setting in {"FIELD_ENCRYPTION_KEYS", "BLIND_INDEX_KEY"}:
        keyring.cache_clear()


def encrypt(plaintext: str, *, context: str) -> bytes:
    return keyring().encrypt(plaintext, context=context)


def decrypt(token: bytes, *, context: str) -> str:
    return keyring().decrypt(token, context=context)


def blind_index(value: str, *, purpose: str) -> str:
    """Keyed index of an already normalised value (an email, an E.164 phone, a name token)."""
    return keyring().blind_index(value, purpose=purpose)


_TOKEN_SPLIT = re.compile(r"[\s\-'\u2019.\u00b7\u30fb,]+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def name_tokens(*parts: str) -> list[str]:
    """Normalised tokens of a person's name, for keyed name search.

    Latin names split on spaces and hyphens; CJK names (written without spaces) also yield
    the whole name, so "王秀华" is found by its full form and by family and given name.
    """
    tokens: list[str] = []
    for part in parts:
        if not part:
            continue
        folded = unicodedata.normalize("NFKC", part).casefold().strip()
        for token in _TOKEN_SPLIT.split(folded):
            if token and token not in tokens:
                tokens.append(token)
    whole = "".join(unicodedata.normalize("NFKC", p).strip() for p in parts[::-1] if p)
    if whole and _CJK.search(whole) and whole.casefold() not in tokens:
        tokens.append(whole.casefold())
    return tokens


def name_index(*parts: str) -> list[str]:
    return [blind_index(token, purpose="name") for token in name_tokens(*parts)]


# Apps register how to rebuild their blind indexes from plaintext after BLIND_INDEX_KEY changes:
# a callable taking a batch size and returning the number of rows re-indexed.
_reindexers: Registry[object] = Registry("blind index re-indexers")


def register_reindexer(label: str, reindex) -> None:
    _reindexers.register(label, reindex)


def reindexers() -> dict[str, object]:
    return dict(_reindexers)
