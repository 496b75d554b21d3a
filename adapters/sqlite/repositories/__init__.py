"""SQLite implementations of the repository ports, one class per port."""

from adapters.sqlite.repositories.allocations import SqliteAllocations
from adapters.sqlite.repositories.corrections import SqliteFillCorrections, SqliteVenueCharges
from adapters.sqlite.repositories.operations import SqliteBotRuns, SqliteSettings, SqliteSnapshots, SqliteVenueHealth
from adapters.sqlite.repositories.book import SqliteAccounts, SqliteEquity, SqlitePositions
from adapters.sqlite.repositories.instances import SqliteInstances
from adapters.sqlite.repositories.leases import SqliteLeases
from adapters.sqlite.repositories.stops import SqliteStops
from adapters.sqlite.repositories.people import (
    SqliteInvitations,
    SqliteLoginAttempts,
    SqliteLoginSessions,
    SqliteUsers,
)
from adapters.sqlite.repositories.orders import SqliteFills, SqliteOrders, SqliteTrades
from adapters.sqlite.repositories.records import SqliteAuditLog, SqliteControl, SqliteHeartbeats, SqliteSessions

__all__ = [
    "SqliteFillCorrections",
    "SqliteVenueCharges",
    "SqliteAllocations",
    "SqliteBotRuns",
    "SqliteSettings",
    "SqliteSnapshots",
    "SqliteVenueHealth",
    "SqliteStops",
    "SqliteAccounts",
    "SqliteAuditLog",
    "SqliteControl",
    "SqliteEquity",
    "SqliteFills",
    "SqliteHeartbeats",
    "SqliteInstances",
    "SqliteLeases",
    "SqliteOrders",
    "SqlitePositions",
    "SqliteSessions",
    "SqliteTrades",
    "SqliteInvitations",
    "SqliteLoginAttempts",
    "SqliteLoginSessions",
    "SqliteUsers",
]
