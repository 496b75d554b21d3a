"""What handlers get injected: the store (SqliteStore and PostgresStore both fit), the
ports, the configured bots. Injected values skip Litestar's validation: they are ports
(Protocols), not wire data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from litestar.di import NamedDependency
from litestar.params import SkipValidation

from application.accounts.accounts import Accounts
from application.ports import Clock, Notifier, UnitOfWork
from application.trading.bot import BotSpec


class Store(Protocol):
    def __call__(self) -> UnitOfWork:
        """A read-write unit of work (the use cases' uow_factory)."""
        ...

    def unit_of_work(self, *, read_only: bool = False) -> UnitOfWork: ...

    def schema_version(self) -> int:
        """Touches the database: the health check's 'is the store reachable'."""
        ...


class BotCatalog:
    """The configured bots, as one dependency (a plain holder: Litestar validates injected
    values against their annotation, and BotSpec is no wire type)."""

    def __init__(self, specs: Sequence[BotSpec]) -> None:
        self.specs = tuple(specs)

    def strategy_names(self) -> dict[str, str]:
        return {spec.name: spec.strategy.name for spec in self.specs}

    def names(self) -> set[str]:
        return {spec.name for spec in self.specs}


StoreDep = NamedDependency[SkipValidation[Store]]
ClockDep = NamedDependency[SkipValidation[Clock]]
NotifierDep = NamedDependency[SkipValidation[Notifier]]
AccountsDep = NamedDependency[SkipValidation[Accounts]]
BotsDep = NamedDependency[SkipValidation[BotCatalog]]
