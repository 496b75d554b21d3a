"""Alpaca's failures translated once into the one hierarchy (domain/errors.py).

What the caller must do decides the class: a 429 or a 5xx, a timeout, a dropped connection
or a body that is not what Alpaca sends are "unknown / try later" (VenueUnavailable); any
other 4xx is the venue refusing the request as it stands (VenueRefused); 401 means the keys
are wrong, which only a person can fix (ConfigurationError).
"""

from __future__ import annotations

import json

import requests
from alpaca.common.exceptions import APIError

from domain.errors import ConfigurationError, QuantShiftError, RejectedError, TransientError, VenueUnavailable

VENUE = "alpaca"


class RateLimited(VenueUnavailable):
    """HTTP 429: the request was not processed; the key's governor is paused until the reset."""


class MalformedResponse(VenueUnavailable):
    """The venue answered something we cannot read: the outcome is unknown, reconcile later."""


class VenueRefused(RejectedError):
    """A 4xx other than 401/429: the venue refused the request as it stands."""

    def __init__(self, message: str, *, status: int, code: int | None, venue_message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.venue_message = venue_message

    @property
    def not_found(self) -> bool:
        return self.status == 404


# Alpaca's answer to a second POST with a known client_order_id (code 40010001, HTTP 422).
_DUPLICATE_MARKER = "client_order_id must be unique"


def is_duplicate_client_order_id(error: VenueRefused) -> bool:
    return error.status == 422 and _DUPLICATE_MARKER in error.venue_message.lower()


def should_retry(error: BaseException) -> bool:
    """Reads retry on these; an order POST never does (submit resolves them by lookup)."""
    return isinstance(error, TransientError)


def _venue_words(error: APIError) -> tuple[int | None, str]:
    text = str(error)
    try:
        body = json.loads(text)
    except ValueError:
        return None, text.strip()[:300]
    if not isinstance(body, dict):
        return None, text.strip()[:300]
    code = body.get("code")
    return (code if isinstance(code, int) else None), str(body.get("message", text))[:300]


def translate(error: Exception, *, call: str) -> QuantShiftError:
    """The domain error for what an SDK call raised. `call` names it in the message."""
    where = f"{VENUE} {call}"
    if isinstance(error, QuantShiftError):
        return error  # already ours (e.g. the governor could not find a slot)
    if isinstance(error, APIError):
        status = error.status_code or 0
        code, message = _venue_words(error)
        if status == 429:
            return RateLimited(f"{where}: rate limited (429): {message}")
        if status >= 500:
            return VenueUnavailable(f"{where}: server error {status}: {message}")
        if status == 401:
            return ConfigurationError(f"{where}: the API key is not accepted (401): {message}; "
                                      "check the Alpaca key id and secret (paper keys for paper)")
        return VenueRefused(f"{where}: refused ({status}): {message}", status=status, code=code,
                            venue_message=message)
    if isinstance(error, requests.exceptions.JSONDecodeError):
        return MalformedResponse(f"{where}: the response body is not JSON ({error})")
    if isinstance(error, requests.exceptions.Timeout):
        return VenueUnavailable(f"{where}: no answer within the timeout ({error})")
    if isinstance(error, requests.exceptions.RequestException):
        return VenueUnavailable(f"{where}: connection failed ({error})")
    if isinstance(error, (ValueError, KeyError, TypeError, AttributeError)):
        # The SDK raises these on bodies it cannot take apart (e.g. market data pages).
        return MalformedResponse(f"{where}: unreadable response ({type(error).__name__}: {error})")
    raise error
