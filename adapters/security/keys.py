"""The one rule every signing key here obeys."""

from __future__ import annotations

MIN_KEY_BYTES = 32  # 256 bits: as long as the SHA-256 output, so the key is never the weak link


def key_bytes(key: bytes | str, *, what: str) -> bytes:
    """`key` as bytes (a str is UTF-8), refused when shorter than MIN_KEY_BYTES.

    The message names the key but never shows it."""
    raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if len(raw) < MIN_KEY_BYTES:
        raise ValueError(f"{what} must be at least {MIN_KEY_BYTES} bytes, got {len(raw)}")
    return raw
