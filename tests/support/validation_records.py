"""Records a paper-trading bot leaves in the store, written directly, so the validation clock's
tests move time through the records' timestamps (never a patched clock)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from application.golive.fingerprint import BotFingerprint
from application.ports import UnitOfWorkFactory
from application.records import AuditEntry, AuditKind, BotRunState, EquityPoint, Heartbeat
from domain.accounting.position import Direction, RoundTrip


def fingerprint(bot: str, **ingredients: object) -> BotFingerprint:
    return BotFingerprint(bot=bot, ingredients={"strategy": "ma_crossover", "params.fast": 10, "params.slow": 30,
                                                "quantshift_version": "1.0", **ingredients})


def trip(bot: str, *, opened: datetime, closed: datetime, pnl: int, symbol: str = "SPY") -> RoundTrip:
    return RoundTrip(bot=bot, symbol=symbol, direction=Direction.LONG, quantity=Decimal(1),
                     entry_price=Decimal(100), exit_price=Decimal(100 + pnl), opened_at=opened, closed_at=closed,
                     gross_pnl=Decimal(pnl), commission=Decimal(0), closing_fill_id=f"{bot}-{symbol}-{closed.isoformat()}")


def write(store: UnitOfWorkFactory, *, account: str = "paper", bot: str, points: Sequence[tuple[datetime, int]] = (),
          trips: Sequence[RoundTrip] = (), audit: Sequence[AuditEntry] = ()) -> None:
    with store() as uow:
        if points:
            uow.equity.add_many(account=account, bot=bot,
                                points=[EquityPoint(ts=ts, equity=Decimal(e)) for ts, e in points])
        for t in trips:
            uow.trades.add(t, account=account)
        for entry in audit:
            uow.audit.append(entry)
        uow.commit()


def beat(store: UnitOfWorkFactory, *, bot: str, started: datetime, last: datetime, account: str = "paper",
         pid: int = 4242, running: bool = True, interval: float = 5.0) -> None:
    with store() as uow:
        uow.heartbeats.beat(Heartbeat(account=account, bot=bot, pid=pid, host="elsewhere", mode="paper",
                                      started_at=started, beat_at=last, interval_seconds=interval,
                                      run_state=BotRunState.RUNNING if running else BotRunState.STOPPED))
        uow.commit()


def critical(ts: datetime, message: str, *, bot: str = "", account: str = "paper", kind: AuditKind = AuditKind.ERROR,
             actor: str | None = None) -> AuditEntry:
    return AuditEntry(ts=ts, kind=kind, severity="critical", account=account, bot=bot, message=message,
                      data={"actor": actor} if actor is not None else {})


def hourly(start: datetime, hours: int) -> list[datetime]:
    return [start + timedelta(hours=h) for h in range(hours)]
