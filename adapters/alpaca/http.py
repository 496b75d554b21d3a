"""The HTTP side every Alpaca REST client of one key shares: pacing, timeout, 429 pauses,
error translation and the retry policy of reads.

alpaca-py sets no HTTP timeout and retries 429/504 itself with a fixed 3 s sleep. Both are
switched off here: a transport adapter mounted on the SDK client's requests session adds the
timeout, passes every request through the key's RequestGovernor (DELETE = a cancel, which
may use the headroom) and pauses the governor until the venue's reset on a 429; the retry
decisions are ours (submit: same client_order_id only; reads: tenacity).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import TypeVar

import requests
import tenacity
from alpaca.common.rest import RESTClient
from requests.adapters import HTTPAdapter

from adapters.alpaca.errors import VENUE, should_retry, translate
from application.venues.request_governor import Priority, RequestGovernor
from domain.errors import VenueUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")

# A status Alpaca never answers: the SDK's own retry loop then never triggers.
_NEVER_RETRIED_BY_THE_SDK = [599]
_DEFAULT_PAUSE = 1.0  # a 429 without reset headers
_MAX_PAUSE = 60.0  # Alpaca's window is a minute: a reset further out is a bad header


def pause_after_429(headers: requests.structures.CaseInsensitiveDict, *, now: float) -> float:
    """Seconds to hold the key after a 429: Retry-After when present, else X-RateLimit-Reset
    (a unix time in seconds) minus now; bounded to [0, 60]."""
    retry_after = headers.get("Retry-After")
    if retry_after:
        try:
            return min(max(float(retry_after), 0.0), _MAX_PAUSE)
        except ValueError:
            try:
                return min(max(parsedate_to_datetime(retry_after).timestamp() - now, 0.0), _MAX_PAUSE)
            except (TypeError, ValueError):
                pass
    reset = headers.get("X-RateLimit-Reset")
    if reset:
        try:
            return min(max(float(reset) - now, 0.0), _MAX_PAUSE)
        except ValueError:
            pass
    return _DEFAULT_PAUSE


class GovernedTransport(HTTPAdapter):
    """requests transport with a default timeout, the key's governor and 429 pauses."""

    def __init__(self, *, governor: RequestGovernor, timeout: float, wall_clock: Callable[[], float]) -> None:
        super().__init__()
        self._governor = governor
        self._timeout = timeout
        self._wall_clock = wall_clock

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):  # type: ignore[override]
        priority = Priority.CANCEL if request.method == "DELETE" else Priority.NORMAL
        self._governor.acquire(priority=priority)
        response = super().send(request, stream=stream, timeout=timeout if timeout is not None else self._timeout,
                                verify=verify, cert=cert, proxies=proxies)
        if response.status_code == 429:
            seconds = pause_after_429(response.headers, now=self._wall_clock())
            log.warning("alpaca answered 429 to %s %s; pausing the key for %.2fs",
                        request.method, request.path_url.split("?")[0], seconds)
            self._governor.pause(seconds)
        return response


def govern(client: RESTClient, *, governor: RequestGovernor, timeout: float,
           wall_clock: Callable[[], float] = time.time) -> RESTClient:
    """Make an SDK REST client ours: timeout, pacing, no SDK retries."""
    transport = GovernedTransport(governor=governor, timeout=timeout, wall_clock=wall_clock)
    # The SDK exposes no constructor argument for these on TradingClient; they are plain
    # attributes of its RESTClient base.
    client._session.mount("https://", transport)
    client._session.mount("http://", transport)
    client._retry = 0
    client._retry_codes = _NEVER_RETRIED_BY_THE_SDK
    return client


def call(name: str, fn: Callable[[], T]) -> T:
    """One attempt; whatever fails comes out as a domain error naming the call."""
    try:
        return fn()
    except Exception as error:  # noqa: BLE001 - translated, never swallowed
        raise translate(error, call=name) from error


class ReadPolicy:
    """Reads are idempotent: retry transient failures with short exponential backoff and
    jitter, bounded by attempts and total time, each attempt through the governor (the
    transport). After the last attempt: VenueUnavailable naming the venue and the call."""

    def __init__(self, *, attempts: int = 3, wait: float = 0.5, max_total: float = 30.0) -> None:
        if attempts < 1:
            raise ValueError("a read needs at least one attempt")
        self._attempts = attempts
        self._wait = wait
        self._max_total = max_total

    def read(self, name: str, fn: Callable[[], T]) -> T:
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self._attempts) | tenacity.stop_after_delay(self._max_total),
            wait=tenacity.wait_exponential_jitter(multiplier=self._wait, max=self._wait * 8, jitter=self._wait),
            retry=tenacity.retry_if_exception(should_retry),
            reraise=True,
        )
        try:
            return retrying(call, name, fn)
        except VenueUnavailable as error:
            raise VenueUnavailable(
                f"{VENUE} {name}: no usable answer after {self._attempts} attempts: {error}") from error
