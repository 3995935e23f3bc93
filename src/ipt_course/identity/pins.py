"""How a PIN is stored: salted PBKDF2, written by the roster and checked at sign-in with this one function."""

from __future__ import annotations

import hashlib
import hmac


def hash_pin(pin: str, salt: str) -> str:
    """The stored form of a PIN."""
    return hashlib.pbkdf2_hmac("sha256", pin.encode(), bytes.fromhex(salt), 100_000).hex()


def pin_matches(pin: str, salt: str, pin_hash: str) -> bool:
    """Whether `pin` is the one stored as (salt, pin_hash), compared in constant time."""
    return hmac.compare_digest(hash_pin(pin.strip(), salt), pin_hash)
