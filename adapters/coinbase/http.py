"""The one REST client of a Coinbase key: construction, pacing and error classification.

Every REST call of the adapter goes through `CoinbaseRest.call`: the key's RequestGovernor first,
then the SDK, then the classification below, so the rest of the folder never sees a requests or
SDK exception:

- 401/403 -> ConfigurationError naming the key (a person must fix it);
- 429 -> the governor pauses until the venue's reset, then RateLimited (the caller decides);
- 5xx, timeout, connection error -> VenueUnavailable (outcome unknown);
- a body that is not the JSON the SDK expects -> MalformedResponse (a VenueUnavailable);
- other 4xx -> VenueHttpError with the status and the venue's error text.

Reads are retried with tenacity on transient errors (short waits, bounded by attempts);
an order POST is never retried here: the broker decides what a failed submit means.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from typing import Any, TypeVar

import requests
import requests.adapters
import tenacity
from coinbase.rest import RESTClient

from application.venues.request_governor import Priority, RequestGovernor
from domain.errors import ConfigurationError, VenueUnavailable

VENUE = "coinbase"
T = TypeVar("T")


class RateLimited(VenueUnavailable):
    """429: the key is paused until the reset; the request was not taken."""

    def __init__(self, message: str, *, reset_seconds: float) -> None:
        super().__init__(message)
        self.reset_seconds = reset_seconds


class MalformedResponse(VenueUnavailable):
    """The venue answered, but not with what it documents: treat as unknown, reconcile later."""


class VenueHttpError(VenueUnavailable):
    """A 4xx other than 401/403/429: the venue refused this request as it stands."""

    def __init__(self, message: str, *, status: int, body: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


def reset_seconds(response: requests.Response, *, default: float, now: Callable[[], float] = time.time) -> float:
    """Seconds until the venue lifts a 429: Retry-After (seconds or HTTP date) or
    x-ratelimit-reset (epoch seconds, or seconds from now when small)."""
    retry_after = response.headers.get("Retry-After")
    if retry_after:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            try:
                return max(0.0, email.utils.parsedate_to_datetime(retry_after).timestamp() - now())
            except (TypeError, ValueError):
                return default
    reset = response.headers.get("x-ratelimit-reset")
    if reset:
        try:
            value = float(reset)
        except ValueError:
            return default
        # An epoch timestamp is large; a small number is already a delay.
        return max(0.0, value - now()) if value > 1_000_000_000 else max(0.0, value)
    return default


class CoinbaseRest:
    """The SDK's RESTClient for one key, behind the key's governor."""

    def __init__(
        self,
        *,
        api_key: str,
        api_secret: str,
        host: str,
        governor: RequestGovernor,
        ca_bundle: str | None = None,
        timeout: float = 10.0,
        retry_attempts: int = 3,
        retry_wait: float = 0.5,
        default_rate_limit_pause: float = 1.0,
    ) -> None:
        if not api_key or not api_secret:
            raise ConfigurationError("coinbase: the API key and secret are required (COINBASE_API_KEY, COINBASE_API_SECRET)")
        try:
            self.client = RESTClient(api_key=api_key, api_secret=api_secret, base_url=host, timeout=timeout)
        except Exception as error:  # the SDK raises a bare Exception for an unusable key
            raise ConfigurationError(f"coinbase: the API key cannot be used: {error}") from None
        if ca_bundle is not None:
            # The CA to trust (a corporate proxy's CA, or a test venue's throwaway CA). Set on the
            # transport: requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override session.verify.
            self.client.session.verify = ca_bundle
            self.client.session.mount("https://", _TrustingAdapter(ca_bundle))
        self.host = host
        self.governor = governor
        self.retry_attempts = max(1, retry_attempts)
        self.retry_wait = retry_wait
        self.default_rate_limit_pause = default_rate_limit_pause

    def close(self) -> None:
        self.client.session.close()

    def call(self, what: str, fn: Callable[[RESTClient], Any], *, priority: Priority = Priority.NORMAL) -> dict:
        """One request, no retry. Returns the response as a plain dict."""
        self.governor.acquire(priority=priority)
        try:
            response = fn(self.client)
        except requests.HTTPError as error:
            raise self._classify_http(what, error) from None
        except requests.Timeout:
            raise VenueUnavailable(f"{VENUE}: {what} timed out") from None
        except requests.ConnectionError as error:
            raise VenueUnavailable(f"{VENUE}: {what}: connection failed ({type(error).__name__})") from None
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            # Not JSON, or JSON the SDK's response types cannot take (a list where an object goes).
            raise MalformedResponse(f"{VENUE}: {what}: malformed response ({type(error).__name__}: {error})") from None
        body = response.to_dict() if hasattr(response, "to_dict") else response
        if not isinstance(body, dict):
            raise MalformedResponse(f"{VENUE}: {what}: malformed response (not an object)")
        return body

    def read(self, what: str, fn: Callable[[RESTClient], Any], *, priority: Priority = Priority.NORMAL) -> dict:
        """A read: retried on transient errors (429 included, after the pause); after the
        attempts, VenueUnavailable naming the venue and the call."""
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(_retryable),
            stop=tenacity.stop_after_attempt(self.retry_attempts),
            wait=tenacity.wait_exponential_jitter(multiplier=self.retry_wait, max=max(self.retry_wait * 8, 0.001),
                                                  jitter=self.retry_wait / 2),
            reraise=True,
        )
        try:
            return retrying(self.call, what, fn, priority=priority)
        except (VenueHttpError, ConfigurationError):
            raise
        except VenueUnavailable as error:
            raise VenueUnavailable(f"{VENUE}: {what} failed after {self.retry_attempts} attempts: {error}") from None

    def _classify_http(self, what: str, error: requests.HTTPError) -> Exception:
        response = error.response
        status = response.status_code if response is not None else 0
        text = (response.text if response is not None else "")[:300]
        if status in (401, 403):
            return ConfigurationError(
                f"{VENUE}: the API key was refused ({status}) on {what}: check COINBASE_API_KEY / "
                f"COINBASE_API_SECRET and the key's permissions")
        if status == 429:
            pause = reset_seconds(response, default=self.default_rate_limit_pause)
            self.governor.pause(pause)
            return RateLimited(f"{VENUE}: {what}: rate limited (429), paused {pause:g}s", reset_seconds=pause)
        if status >= 500:
            return VenueUnavailable(f"{VENUE}: {what}: server error {status}")
        return VenueHttpError(f"{VENUE}: {what}: HTTP {status}: {text}", status=status, body=text)


class _TrustingAdapter(requests.adapters.HTTPAdapter):
    def __init__(self, ca_bundle: str) -> None:
        super().__init__()
        self._ca_bundle = ca_bundle

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        kwargs["verify"] = self._ca_bundle
        return super().send(request, **kwargs)


def _retryable(error: BaseException) -> bool:
    return isinstance(error, VenueUnavailable) and not isinstance(error, VenueHttpError)
