"""The PostgreSQL store: asyncpg, its schema and the state gateway processes share through it."""

from gateway.store.postgresql.shared import AdvisoryLock, PostgresSharedState, advisory_lock
from gateway.store.postgresql.store import (
    PostgresStore,
    PostgresWriteTxn,
    ReadOnlyDatabaseError,
    StoreUnavailableError,
    dollar_params,
)

__all__ = [
    "AdvisoryLock",
    "PostgresSharedState",
    "PostgresStore",
    "PostgresWriteTxn",
    "ReadOnlyDatabaseError",
    "StoreUnavailableError",
    "advisory_lock",
    "dollar_params",
]
