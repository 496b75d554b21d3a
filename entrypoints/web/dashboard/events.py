"""GET /dashboard/events: the live part of a page as server-sent events.

Every `poll_seconds` the stream re-checks the session (Accounts.authenticate: a logout or a
revocation ends it within a poll), reads the store in a worker thread, re-renders the page's
live fragments and sends those whose HTML changed, each as an event named after the element
that swaps it in (htmx's SSE extension: sse-swap="bots", ...). Nothing changed for
`keepalive_seconds`: a comment line, so proxies keep the connection open.

A stream lasts `stream_seconds`, then ends; the browser reconnects by itself after `retry`.
A server that is shutting down waits for its open responses, so a stream without an end
would keep `quantshift serve` from stopping while a dashboard is open.
When the session is no longer live the last event is `session-ended` (the page shows it and
closes the stream: sse-close); a request with no session cookie at all gets 401.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence

import anyio
import anyio.to_thread
import attrs
from litestar import Controller, Request, Response, get
from litestar.response import ServerSentEvent, ServerSentEventMessage

from application.accounts.accounts import Accounts
from application.ports import Clock
from application.trading.bot import BotSpec
from domain.errors import AuthenticationError
from entrypoints.web.dashboard import views
from entrypoints.web.dashboard.pages import OptionalName
from entrypoints.web.dashboard.session import SESSION_COOKIE, DashboardSettings, SettingsDep, Viewer
from entrypoints.web.deps import BotsDep, ClockDep, Store, StoreDep

RETRY_MS = 1000  # how soon the browser reconnects after a stream ends


@attrs.define(kw_only=True)
class LiveFeed:
    """One stream's view (an account's overview, or one bot) and what it sent last."""

    accounts: Accounts
    store: Store
    clock: Clock
    specs: Sequence[BotSpec]
    settings: DashboardSettings
    token: str
    account: str | None
    bot: str | None
    sent: dict[str, str] = attrs.field(factory=dict)

    def fragments(self) -> dict[str, str] | None:
        """Sync (store reads, rendering): the live fragments, or None when the session ended."""
        try:
            principal = self.accounts.authenticate(self.token)
        except AuthenticationError:
            return None
        # Fragments need only what the person may do; the token and CSRF live in the page itself.
        viewer = Viewer(principal=principal, token="", csrf="")
        if self.bot is not None and self.account is not None:
            return self._bot_fragments(viewer, account=self.account, bot=self.bot)
        live = views.live_overview(self.store, self.clock, account=self.account, specs=self.specs)
        return {
            "banner": self._render("_banner.html", viewer=viewer, halt=live.halt, halted_bots=live.halted_bots),
            "cards": self._render("_cards.html", cards=live.cards),
            "bots": self._render("_bots.html", viewer=viewer, bots=live.bots),
            "positions": self._render("_positions.html", positions=live.positions),
        }

    def changed(self, fragments: dict[str, str]) -> list[tuple[str, str]]:
        fresh = [(name, html) for name, html in fragments.items() if self.sent.get(name) != html]
        self.sent.update(fresh)
        return fresh

    def ended(self) -> str:
        return self._render("_session_ended.html")

    def _bot_fragments(self, viewer: Viewer, *, account: str, bot: str) -> dict[str, str]:
        live = views.live_bot(self.store, self.clock, account=account, bot=bot)
        if live is None:
            return {"bot": '<p class="muted">This bot has no heartbeat any more.</p>'}
        return {
            "banner": self._render("_banner.html", viewer=viewer, halt=live.halt, halted_bots=[]),
            "bot": self._render("_bot_summary.html", viewer=viewer, bot=live.bot),
            "positions": self._render("_positions.html", positions=live.bot.positions),
        }

    def _render(self, name: str, **context: object) -> str:
        return self.settings.templates.get_template(name).render(**context)


async def stream(feed: LiveFeed) -> AsyncIterator[ServerSentEventMessage]:
    settings = feed.settings
    yield ServerSentEventMessage(data=None, retry=RETRY_MS)
    started = last_sent = time.monotonic()
    while time.monotonic() - started < settings.stream_seconds:
        fragments = await anyio.to_thread.run_sync(feed.fragments)
        if fragments is None:
            yield ServerSentEventMessage(event="session-ended", data=await anyio.to_thread.run_sync(feed.ended))
            return
        changed = feed.changed(fragments)
        for name, html in changed:
            yield ServerSentEventMessage(event=name, data=html)
        now = time.monotonic()
        if changed:
            last_sent = now
        elif now - last_sent >= settings.keepalive_seconds:
            yield ServerSentEventMessage(data=None, comment="keep-alive")
            last_sent = now
        await anyio.sleep(settings.poll_seconds)


class EventsController(Controller):
    path = "/events"

    @get("/")
    async def events(self, request: Request, dashboard: SettingsDep, store: StoreDep, clock: ClockDep,
                     bots: BotsDep, account: OptionalName = None, bot: OptionalName = None) -> Response:
        token = request.cookies.get(SESSION_COOKIE, "")
        if not token:
            return Response(content="log in first: /dashboard/login", status_code=401, media_type="text/plain")
        feed = LiveFeed(accounts=request.app.state.accounts, store=store, clock=clock, specs=bots.specs,
                        settings=dashboard, token=token, account=account, bot=bot)
        return ServerSentEvent(stream(feed))
