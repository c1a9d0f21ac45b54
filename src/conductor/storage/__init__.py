"""Persistence of the service's records on PostgreSQL or SQLite, behind one async `Store`."""

from conductor.storage.migrate import current_revision, head_revision, upgrade
from conductor.storage.store import StorageUnavailable, Store
from conductor.storage.urls import normalize_url, sync_url

__all__ = [
    "StorageUnavailable",
    "Store",
    "current_revision",
    "head_revision",
    "normalize_url",
    "sync_url",
    "upgrade",
]
