"""Where the crypto store lives: files under `HERMES_HOME/platforms/matrix/store/` (one gateway, state.db),
or, when the Hermes store is on PostgreSQL, a schema of that database shared by every replica
(`store_pg.py`). Nothing heavy is imported here: `hermes matrix status` reads it without python-olm.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from hermes.platforms.matrix.crypto.store_files import StorePaths

if TYPE_CHECKING:
    from hermes.platforms.matrix.options import MatrixOptions

SCHEMA = "matrix_crypto"
SECRET_TABLE = "hermes_pickle_secret"


@dataclass(frozen=True)
class StoreLocation:
    # Also where a single-host store is found to be moved into the database at the first start there.
    paths: StorePaths
    database_url: str | None = None
    pool_size: int = 4

    @classmethod
    def of(cls, options: MatrixOptions) -> StoreLocation:
        return cls(StorePaths.under(options.state_dir), options.database_url, options.database_pool_size)

    @property
    def label(self) -> str:
        return f"schema {SCHEMA} of the PostgreSQL store" if self.database_url else str(self.paths.db)

    @property
    def where(self) -> str:
        """The store, for messages: "the crypto store <where> belongs to ..."."""
        return f"in {self.label}" if self.database_url else self.label

    @property
    def secret_where(self) -> str:
        return f"{SCHEMA}.{SECRET_TABLE}" if self.database_url else str(self.paths.secret)

    @property
    def clearing(self) -> str:
        """The step that empties the store, for recovery instructions."""
        if self.database_url:
            return "empty the crypto store with `hermes matrix reset-crypto` (it keeps a backup)"
        return f"delete {self.paths.db}"

    @property
    def no_account(self) -> str:
        """Why a device the server knows has no identity in this store."""
        if self.database_url:
            return (
                f"the crypto store in schema {SCHEMA} has no account for it; if this bot ran on one host "
                "before, start the gateway on that host first: it moves that host's crypto store into "
                "the database"
            )
        return "the local crypto store has no account for it"
