"""The drills wired to this deployment: the venue the drill asks about an order, and the
process killer of the failover drill. Shared by the CLI (entrypoints/cli/drill_command.py)
and whatever else runs a drill (the admin API)."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable

from adapters.simulated.journal_reader import JournalReader
from application.golive.drills import KillSwitchDrill, VenueOrders, killswitch_drill
from application.golive.failover import FailoverDrill, failover_drill
from application.records import AuditEntry
from domain.errors import ConfigurationError
from entrypoints.cli.paper_realtime import session_account, venue_bots
from entrypoints.container import SIMULATED_VENUE, Container, is_postgres, venue_journal_path
from entrypoints.venues import REAL_VENUES, build_venue

DRILL_VENUES = (SIMULATED_VENUE, *REAL_VENUES)


class SigKill:
    """ProcessKiller: SIGKILL on this host (its name as `quantshift paper` records it)."""

    @property
    def host(self) -> str:
        return socket.gethostname()

    def kill(self, pid: int) -> None:
        os.kill(pid, signal.SIGKILL)


def run_killswitch_drill(container: Container, *, bot: str | None, venue: str, actor: str,
                         config_hint: str = "") -> AuditEntry:
    """The kill-switch drill on `venue`'s paper account (Coinbase: its sandbox)."""
    if venue not in DRILL_VENUES:
        raise ConfigurationError(f"--broker {venue!r}: use {', '.join(DRILL_VENUES)}")
    account = session_account(container, venue, sandbox=venue == "coinbase")
    names = [b.name for b in venue_bots(container, venue)]
    name = bot or names[0]
    if name not in names:
        raise ConfigurationError(f"--bot {name}: not a bot the {venue} session trades (its bots: {', '.join(names)})")
    hint = "quantshift paper" + ("" if venue == SIMULATED_VENUE else f" --broker {venue}"
                                 + (" --sandbox" if venue == "coinbase" else "")) + config_hint
    orders, close = _venue_orders(container, venue, account=account)
    try:
        return killswitch_drill(
            KillSwitchDrill(account=account, bot=name, venue=venue, actor=actor, session_hint=hint),
            uow_factory=container.store(), clock=container.clock(), notifier=container.notifier(), venue=orders,
            sleep=time.sleep)
    finally:
        close()


def run_failover_drill(container: Container, *, actor: str, account: str = "paper") -> AuditEntry:
    if not is_postgres(container.settings().database_url):
        raise ConfigurationError("drill failover needs Postgres with a standby (SQLite runs one instance and has "
                                 "none); see docs/golive.md")
    return failover_drill(FailoverDrill(actor=actor, account=account), uow_factory=container.store(),
                          clock=container.clock(), killer=SigKill(), sleep=time.sleep)


def _venue_orders(container: Container, venue: str, *, account: str) -> tuple[VenueOrders, Callable[[], None]]:
    settings = container.settings()
    if venue == SIMULATED_VENUE:
        return JournalReader(path=venue_journal_path(settings, account=account)), lambda: None
    real = build_venue(venue, settings, environ=os.environ, clock=container.clock(),  # type: ignore[arg-type]
                       sandbox=venue == "coinbase")
    return real.broker, real.close
