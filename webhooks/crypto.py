"""Signing secrets: made here, kept encrypted at rest, decrypted only to sign a delivery.

A secret is `whsec_` + base64 of 32 random bytes, the form the Standard Webhooks
libraries read. The database holds Fernet tokens of secrets (AES-128-CBC with
HMAC-SHA256), so a copy of the database alone does not let anyone sign as us.
"""

import base64
import hashlib
import secrets
from functools import cache

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings

SECRET_PREFIX = "whsec_"  # noqa: S105 (a public marker, not a secret)
SECRET_BYTES = 32


def secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_encrypt(secret: str) -> str:
    return (
        _fernet(settings.WEBHOOKS_SECRET_KEY, settings.SECRET_KEY).encrypt(secret.encode()).decode()
    )


def secret_decrypt(token: str) -> str:
    return (
        _fernet(settings.WEBHOOKS_SECRET_KEY, settings.SECRET_KEY).decrypt(token.encode()).decode()
    )


@cache
def _fernet(keys: str, django_secret_key: str) -> MultiFernet:
    """WEBHOOKS_SECRET_KEY's keys (the first encrypts, any decrypts), or else one derived
    from SECRET_KEY under a purpose of its own, so that it is no other key of Django's."""
    if keys.strip():
        return MultiFernet([Fernet(key.strip()) for key in keys.split(",") if key.strip()])
    derived = hashlib.sha256(b"flownally.webhooks.secrets:" + django_secret_key.encode()).digest()
    return MultiFernet([Fernet(base64.urlsafe_b64encode(derived))])
