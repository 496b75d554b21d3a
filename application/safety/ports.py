"""Ports of safety: the durable trading switch and the trading lease."""

from __future__ import annotations

from typing import Protocol

from application.records import ControlState, Lease


class ControlRepository(Protocol):
    def get(self, scope: str) -> ControlState | None: ...

    def guard(self) -> None:
        """Serialise this (writing) transaction with every change of the switch, until it ends:
        a change in progress is waited for, so the reads after the guard see it, and a change
        waits (briefly, then lands anyway) for the guarded transactions in progress. The check
        just before an order is sent takes it (application/trading/trading_cycle.py)."""
        ...

    def set(self, state: ControlState) -> None:
        """Upsert the switch of state.scope."""
        ...

    def list(self) -> list[ControlState]: ...


class LeaseRepository(Protocol):
    """A bot's trading right: at most one holder at a time, for a limited time.

    Expiry is decided by the store's own clock (the database server's, for Postgres), so
    instances on machines with skewed clocks still agree on who holds a lease.
    """

    def acquire(self, *, account: str, bot: str, holder: str, ttl_seconds: float) -> Lease | None:
        """Take the lease if it is free, expired or already `holder`'s (then renew it).
        Returns the lease now held by `holder`, or None when another live holder has it."""
        ...

    def release(self, *, account: str, bot: str, holder: str) -> None:
        """Give the lease up at once (a clean stop), only if `holder` holds it."""
        ...

    def get(self, *, account: str, bot: str) -> Lease | None: ...

    def list(self, *, account: str | None = None) -> list[Lease]: ...
