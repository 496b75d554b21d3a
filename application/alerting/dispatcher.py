"""The one Notifier and AlertSink of a process: every alert goes through here.

Callers never wait: fire(), resolve() and notify() log the alert and put it on a bounded queue;
one background thread decides (lifecycle.py) and sends (the routes: the saved channels, the saved
e-mail recipients), then writes the ALERT audit entry with what was delivered where. A trading
loop that alerts while a channel hangs goes on trading.

The store is read for every event (the trail is the state every process shares). When it cannot
be read, the last states read are used for a few seconds before it is tried again, and the alert
is delivered anyway; entries that cannot be written are kept and written once it answers (and
logged if it never does by close()).

A resolve is held back for the group window: fired again within it, the alert goes on as one
(a flapping condition sends one "fired" and, once it stays clear, one "resolved").
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import attrs

from application.alerting.alert import Alert, AlertEvent, notice
from application.alerting.lifecycle import (
    AlertState,
    alert_entry,
    alert_states,
    apply_entry,
    decide_fire,
    due_repeats,
)
from application.alerting.ports import AlertRoute
from application.ports import AlertLevel, Clock, Notifier, UnitOfWorkFactory
from application.records import AuditEntry

log = logging.getLogger(__name__)

STORE_RETRY_SECONDS = 5.0  # after a failed read or write: the remembered states, the entries kept


@attrs.frozen
class _Fire:
    alert: Alert


@attrs.frozen(kw_only=True)
class _Resolve:
    key: str
    title: str
    body: str


@attrs.frozen
class _Repeat:
    state: AlertState


@attrs.frozen(kw_only=True)
class _Held:
    """A resolve waiting out the group window before it is final."""

    resolve: _Resolve
    at: datetime
    due: float  # monotonic


_STOP = object()


class AlertDispatcher:
    def __init__(self, *, uow_factory: UnitOfWorkFactory, clock: Clock, log_notifier: Notifier,
                 reads: UnitOfWorkFactory | None = None, routes: Sequence[AlertRoute] = (),
                 group: timedelta = timedelta(seconds=60),
                 link: Callable[[Alert], str] = lambda alert: "", queue_size: int = 1000,
                 close_seconds: float = 10.0, store_retry_seconds: float = STORE_RETRY_SECONDS,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._uow_factory = uow_factory
        # Read-only units where the store has them: a read must not queue behind a bot's write lock.
        self._reads = reads or uow_factory
        self._clock = clock
        self._log = log_notifier
        self._routes = tuple(routes)
        self._group = group
        self._link = link
        self._close_seconds = close_seconds
        self._store_retry_seconds = store_retry_seconds
        self._monotonic = monotonic
        self._queue: queue.Queue[object] = queue.Queue(maxsize=queue_size)
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        # Owned by the sender thread only:
        self._known: dict[str, AlertState] = {}
        self._held: dict[str, _Held] = {}
        self._unrecorded: dict[str, int] = {}  # occurrences counted, not written yet
        self._backlog: list[AuditEntry] = []  # entries the store did not take yet
        self._store_retry_at = 0.0  # monotonic: skip the store until then

    @property
    def routes(self) -> tuple[AlertRoute, ...]:
        return self._routes

    # --- the callers' side: never raises, never waits ------------------------------------------

    def notify(self, *, level: AlertLevel, title: str, body: str) -> None:
        """The Notifier port: a notice keyed by its title (alert.notice)."""
        try:
            self.fire(notice(level=level, title=title, body=body))
        except Exception:  # noqa: BLE001 - a bad title must not reach the trading loop
            log.exception("the alert %r could not be raised", title)

    def fire(self, alert: Alert) -> None:
        self._say(alert.level, alert.title, alert.body)
        self._put(_Fire(alert))

    def resolve(self, *, key: str, title: str, body: str = "", account: str = "", bot: str = "") -> None:
        # Said where the fire was said (the log shows warnings by default): the person who saw
        # "store unavailable: trading paused" must also see that it is over.
        self._say(AlertLevel.WARNING, title, body)
        self._put(_Resolve(key=key, title=title, body=body))

    def repeat(self, state: AlertState) -> None:
        """Send an open, unacknowledged critical alert again (the watchdog asks, lifecycle.due_repeats)."""
        self._put(_Repeat(state))

    def repeat_due(self, *, every: timedelta) -> int:
        """Queue the repeats due now; how many. Reads the store on the caller's thread."""
        with self._reads() as uow:
            due = due_repeats(uow, now=self._clock.now(), every=every)
        for state in due:
            self.repeat(state)
        return len(due)

    def flush(self, *, timeout: float = 5.0) -> bool:
        """Wait until everything queued before this call is handled (resolves still held back
        stay held); False when that took longer than `timeout`."""
        if self._thread is None:
            return True
        done = threading.Event()
        self._put(done)
        return done.wait(timeout)

    def close(self) -> None:
        """Deliver and record what is queued or held back, waiting at most `close_seconds`."""
        with self._start_lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        if thread is None:
            return
        deadline = time.monotonic() + self._close_seconds
        while True:  # the stop mark goes in after everything queued before it
            try:
                self._queue.put(_STOP, timeout=max(0.01, deadline - time.monotonic()))
                break
            except queue.Full:
                if time.monotonic() >= deadline:
                    break
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            log.error("alerts: %d still queued after %.0f s at exit, not sent", self._queue.qsize(),
                      self._close_seconds)

    def _say(self, level: AlertLevel, title: str, body: str) -> None:
        try:
            self._log.notify(level=level, title=title, body=body)
        except Exception:  # noqa: BLE001 - a broken log must not cost the alert
            log.exception("the log notifier failed")

    def _put(self, item: object) -> None:
        try:
            if self._closed:
                log.error("alert after close(), not sent: %s", item)
                return
            self._ensure_thread()
            self._queue.put_nowait(item)
        except queue.Full:
            log.error("alert queue full (%d): dropped %s", self._queue.maxsize, item)
        except Exception:  # noqa: BLE001 - never into the caller
            log.exception("the alert %s could not be queued", item)

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:  # started on the first alert: a process that never alerts has no thread
                self._thread = threading.Thread(target=self._run, name="alert-dispatcher", daemon=True)
                self._thread.start()

    # --- the sender thread -----------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            wait = min((h.due for h in self._held.values()), default=None)
            timeout = None if wait is None else max(0.0, wait - self._monotonic())
            if self._backlog:
                retry = self._store_retry_seconds
                timeout = min(timeout if timeout is not None else retry, retry)
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                item = None
            try:
                if item is _STOP:
                    self._finish()
                    return
                if item is not None:
                    self._handle(item)
                self._settle(final=False)
                self._write_backlog()
            except Exception:  # noqa: BLE001 - the thread must outlive any one alert
                log.exception("alert dispatcher: %s failed", item)

    def _handle(self, item: object) -> None:
        if isinstance(item, _Fire):
            self._on_fire(item.alert)
        elif isinstance(item, _Resolve):
            self._on_resolve(item)
        elif isinstance(item, _Repeat):
            self._on_repeat(item.state)
        elif isinstance(item, threading.Event):  # flush()
            item.set()

    def _on_fire(self, alert: Alert) -> None:
        now = self._clock.now()
        state = self._state(alert.key)
        self._held.pop(alert.key, None)  # it cleared, and came back within the window: still one alert
        decision = decide_fire(state, alert=alert, now=now, group=self._group,
                               unrecorded=self._unrecorded.get(alert.key, 0))
        if decision.send:
            entry = alert_entry(event=AlertEvent.FIRED, state=alert, now=now, count=decision.count,
                                deliveries=self._deliver(alert, now=now))
        elif decision.record is not None:
            assert state is not None
            entry = alert_entry(event=AlertEvent.DEDUPLICATED, state=state, now=now, count=decision.count,
                                title=alert.title, body=alert.body)
        else:
            self._unrecorded[alert.key] = self._unrecorded.get(alert.key, 0) + 1
            return
        self._record(entry)

    def _on_resolve(self, item: _Resolve) -> None:
        state = self._state(item.key)
        if state is None or not state.open:
            return  # nothing open under that key: nothing to say
        if item.key not in self._held:
            self._held[item.key] = _Held(resolve=item, at=self._clock.now(),
                                         due=self._monotonic() + self._group.total_seconds())

    def _on_repeat(self, listed: AlertState) -> None:
        now = self._clock.now()
        state = self._state(listed.key) or listed
        if not state.open or state.acked or state.level is not AlertLevel.CRITICAL:
            return  # acknowledged or resolved since it was found due
        alert = _as_alert(state, title=f"{state.title} (repeat {state.repeats + 1}: unacknowledged since "
                                       f"{state.since:%Y-%m-%d %H:%M:%S} UTC)")
        self._record(alert_entry(event=AlertEvent.REPEATED, state=state, now=now,
                                 count=state.count + self._unrecorded.get(state.key, 0),
                                 deliveries=self._deliver(alert, now=now)))

    def _settle(self, *, final: bool) -> None:
        """The held resolves whose window passed (all of them at close) become final."""
        clock = self._monotonic()
        for key, held in list(self._held.items()):
            if not final and held.due > clock:
                continue
            del self._held[key]
            state = self._state(key)
            if state is None or not state.open or state.last_entry > held.at:
                continue  # resolved elsewhere, or it occurred again (another process) after the clear
            alert = _as_alert(state, title=held.resolve.title, body=held.resolve.body)
            self._record(alert_entry(event=AlertEvent.RESOLVED, state=state, now=self._clock.now(),
                                     count=state.count + self._unrecorded.get(key, 0),
                                     deliveries=self._deliver(alert, now=self._clock.now()),
                                     title=held.resolve.title, body=held.resolve.body))

    def _finish(self) -> None:
        self._settle(final=True)
        now = self._clock.now()
        for key in list(self._unrecorded):  # the occurrences counted since the last entry
            state = self._known.get(key)
            if state is not None:
                self._record(alert_entry(event=AlertEvent.DEDUPLICATED, state=state, now=now,
                                         count=state.count + self._unrecorded[key]))
        self._store_retry_at = 0.0
        self._write_backlog()
        if self._backlog:
            for entry in self._backlog:
                log.error("alert not recorded (the store is unavailable): %s %s", entry.data.get("event"),
                          entry.data.get("key"))

    # --- delivery and the store --------------------------------------------------------------------

    def _deliver(self, alert: Alert, *, now: datetime) -> list[dict[str, object]]:
        link = ""
        try:
            link = self._link(alert)
        except Exception:  # noqa: BLE001 - a notice without its link still goes
            log.exception("alert link for %s", alert.key)
        deliveries: list[dict[str, object]] = []
        for route in self._routes:
            try:
                deliveries += [{"channel": d.channel, "delivered": d.delivered, "detail": d.detail}
                               for d in route.deliver(alert, now=now, link=link)]
            except Exception as exc:  # noqa: BLE001 - a route must not stop the others
                log.exception("alert route %s failed", type(route).__name__)
                deliveries.append({"channel": type(route).__name__, "delivered": False,
                                   "detail": f"unexpected {type(exc).__name__}"})
        return deliveries

    def _state(self, key: str) -> AlertState | None:
        if self._monotonic() >= self._store_retry_at:
            try:
                with self._reads() as uow:
                    self._known = alert_states(uow)
                for entry in self._backlog:  # not in the store yet, but they happened
                    apply_entry(self._known, entry)
            except Exception as exc:  # noqa: BLE001 - store down: decide on what was read last
                self._store_down("read", exc)
        return self._known.get(key)

    def _record(self, entry: AuditEntry) -> None:
        key = str(entry.data["key"])
        self._unrecorded.pop(key, None)
        apply_entry(self._known, entry)
        self._backlog.append(entry)
        self._write_backlog()

    def _write_backlog(self) -> None:
        if not self._backlog or self._monotonic() < self._store_retry_at:
            return
        try:
            with self._uow_factory() as uow:
                for entry in self._backlog:
                    uow.audit.append(entry)
                uow.commit()
            self._backlog.clear()
        except Exception as exc:  # noqa: BLE001 - kept, written when the store answers
            self._store_down("write", exc)

    def _store_down(self, what: str, exc: Exception) -> None:
        log.warning("alerts: the store could not %s (%s); delivering anyway, %d entr%s to record",
                    what, exc, len(self._backlog), "y" if len(self._backlog) == 1 else "ies")
        self._store_retry_at = self._monotonic() + self._store_retry_seconds


def _as_alert(state: AlertState, *, title: str, body: str | None = None) -> Alert:
    return Alert(key=state.key, level=state.level, title=title, body=state.body if body is None else body,
                 account=state.account, bot=state.bot, figures=state.figures, source=state.source)

