"""Tables of the signing service and its Database (own database, own outbox and inbox)."""

from runtime.db import Database, new_metadata, reliability_tables

metadata = new_metadata()
outbox, inbox = reliability_tables(metadata)


def make_database(url: str) -> Database:
    return Database(url, outbox, inbox)
