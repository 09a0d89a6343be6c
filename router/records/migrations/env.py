"""Alembic's environment for the records, run programmatically by
router.records.store (no alembic.ini): the caller passes an open connection
in `config.attributes["connection"]`."""

from alembic import context

from router.records.schema import VERSION_TABLE, metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
