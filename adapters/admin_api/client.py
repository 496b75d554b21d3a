"""The AdminApi port (application/golive/platform.py) over HTTP(S), with the standard library.

It reaches `serve` the way an operator does: at the public URL, logged in with an operator's
e-mail and password (a bearer token), and it logs out when closed so a check never keeps one of
the operator's three sessions. The password is never put in a message or a log.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from application.golive.platform import AdminApiError, BotView

_API = "/api/v1"


class AdminApiClient:
    def __init__(self, *, base_url: str, email: str, password: str, timeout_seconds: float = 10.0) -> None:
        self._base = base_url.rstrip("/")
        self._email = email
        self._password = password
        self._timeout = timeout_seconds
        self._token: str | None = None

    @property
    def base_url(self) -> str:
        return self._base

    def __repr__(self) -> str:
        return f"AdminApiClient(base_url={self._base!r}, email={self._email!r})"

    def health(self) -> float:
        started = time.monotonic()
        self._request("GET", "/health", authenticated=False)
        return time.monotonic() - started

    def bots(self) -> list[BotView]:
        rows = self._request("GET", f"{_API}/bots")
        return [BotView(account=str(r["account"]), bot=str(r["bot"]), state=str(r["state"]),
                        heartbeat_age_seconds=float(r["heartbeat_age_seconds"]), mode=str(r["mode"]),
                        desired=str(r.get("desired", "running"))) for r in rows]

    def stop_bot(self, *, account: str, bot: str, reason: str) -> str:
        return str(self._request("POST", f"{_API}/bots/{_segment(account)}/{_segment(bot)}/stop",
                                 body={"reason": reason})["desired"])

    def start_bot(self, *, account: str, bot: str, reason: str) -> str:
        return str(self._request("POST", f"{_API}/bots/{_segment(account)}/{_segment(bot)}/start",
                                 body={"reason": reason})["desired"])

    def close(self) -> None:
        """End the session the client opened (best effort: the token expires anyway)."""
        if self._token is not None:
            try:
                self._request("POST", f"{_API}/auth/logout")
            except AdminApiError:
                pass
            self._token = None

    def _log_in(self) -> str:
        if self._token is None:
            answer = self._request("POST", f"{_API}/auth/login", authenticated=False,
                                   body={"email": self._email, "password": self._password}, what="login")
            self._token = str(answer["token"])
        return self._token

    def _request(self, method: str, path: str, *, authenticated: bool = True, body: object = None,
                 what: str | None = None) -> Any:
        headers = {"Accept": "application/json"}
        if authenticated:
            headers["Authorization"] = f"Bearer {self._log_in()}"
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        label = what or f"{method} {path}"
        request = urllib.request.Request(self._base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310 - http(s) only
                raw = response.read()
        except urllib.error.HTTPError as exc:
            detail = _problem(exc)
            who = f" as {self._email}" if exc.code in (401, 403) else ""
            raise AdminApiError(f"{label}{who}: HTTP {exc.code}{detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise AdminApiError(f"{label}: cannot reach {self._base} ({reason})") from None
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise AdminApiError(f"{label}: the answer is not JSON") from None


def _segment(value: str) -> str:
    return urllib.request.quote(value, safe="")


def _problem(exc: urllib.error.HTTPError) -> str:
    try:
        detail = json.loads(exc.read()).get("detail")
    except (ValueError, AttributeError, OSError):
        return ""
    return f" ({detail})" if detail else ""
