"""Postgres implementations of the repository ports, one class per port."""

from adapters.postgres.repositories.allocations import PostgresAllocations
from adapters.postgres.repositories.corrections import PostgresFillCorrections, PostgresVenueCharges
from adapters.postgres.repositories.operations import PostgresBotRuns, PostgresSettings, PostgresSnapshots, PostgresVenueHealth
from adapters.postgres.repositories.book import PostgresAccounts, PostgresEquity, PostgresPositions
from adapters.postgres.repositories.instances import PostgresInstances
from adapters.postgres.repositories.leases import PostgresLeases
from adapters.postgres.repositories.stops import PostgresStops
from adapters.postgres.repositories.people import (
    PostgresInvitations,
    PostgresLoginAttempts,
    PostgresLoginSessions,
    PostgresUsers,
)
from adapters.postgres.repositories.orders import PostgresFills, PostgresOrders, PostgresTrades
from adapters.postgres.repositories.records import (
    PostgresAuditLog,
    PostgresControl,
    PostgresHeartbeats,
    PostgresSessions,
)

__all__ = [
    "PostgresFillCorrections",
    "PostgresVenueCharges",
    "PostgresAllocations",
    "PostgresBotRuns",
    "PostgresSettings",
    "PostgresSnapshots",
    "PostgresVenueHealth",
    "PostgresStops",
    "PostgresAccounts",
    "PostgresAuditLog",
    "PostgresControl",
    "PostgresEquity",
    "PostgresFills",
    "PostgresHeartbeats",
    "PostgresInstances",
    "PostgresLeases",
    "PostgresOrders",
    "PostgresPositions",
    "PostgresSessions",
    "PostgresTrades",
    "PostgresInvitations",
    "PostgresLoginAttempts",
    "PostgresLoginSessions",
    "PostgresUsers",
]
