"""Errors raised by the state store. Every message names the database file it concerns."""

from __future__ import annotations

from pathlib import Path


class StoreError(Exception):
    """state.db could not do what was asked."""


class CorruptDatabaseError(StoreError):
    """The file is not a SQLite database, or fails its integrity check. It was left untouched."""

    def __init__(self, path: Path, detail: str) -> None:
        super().__init__(
            f"{path} is not a usable SQLite database ({detail}). Hermes left it untouched: "
            "move it aside (or restore a backup) and start again."
        )
        self.path = path


class ForeignDatabaseError(StoreError):
    """The file is a SQLite database, but not one written by this Hermes. It was left untouched."""

    def __init__(self, path: Path, application_id: int) -> None:
        super().__init__(
            f"{path} is a SQLite database that Hermes did not create (application_id {application_id}, "
            "no Hermes gateway schema). Hermes left it untouched: move it aside or point Hermes elsewhere."
        )
        self.path = path
        self.application_id = application_id


class NewerSchemaError(StoreError):
    """The database was written by a newer Hermes; older code must not guess at its shape."""

    def __init__(self, path: Path | str, found: int, supported: int) -> None:
        super().__init__(
            f"{path} has schema version {found}, newer than this Hermes supports ({supported}). "
            "Upgrade Hermes to use this database; it was left untouched."
        )
        self.path = path
        self.found = found
        self.supported = supported


class MigrationError(StoreError):
    """A schema migration failed; its transaction was rolled back."""


class LeaseLostError(StoreError):
    """This replica no longer holds the lease a write was fenced by; the current holder does the work."""


class NotFoundError(StoreError):
    """An operation referred to a row that does not exist."""
