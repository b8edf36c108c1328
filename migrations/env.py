"""Alembic environment for GroupBridge, async-capable and independent of the working directory.

How the database is chosen, first match wins:
1. config.attributes["connection"]: a sync Connection (bot.store.migrate passes one from
   AsyncConnection.run_sync); we run on it and leave the transaction to the caller.
2. config.attributes["url"], `alembic -x url=...`, the ini's sqlalchemy.url, or
   $GROUPBRIDGE_DATABASE_URL: we open our own async engine and drive it through run_sync.
"""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

from bot.store.engine import create_engine, normalise_url
from bot.store.models import metadata

config = context.config

# Only the alembic CLI has an ini file; when the bot migrates, its own logging setup stays in charge.
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name)


def _url() -> str:
    url = (
        config.attributes.get("url")
        or context.get_x_argument(as_dictionary=True).get("url")
        or config.get_main_option("sqlalchemy.url")
        or os.environ.get("GROUPBRIDGE_DATABASE_URL")
    )
    if not url:
        raise RuntimeError("no database URL: set sqlalchemy.url or GROUPBRIDGE_DATABASE_URL")
    return normalise_url(url).render_as_string(hide_password=False)


def do_run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things; batch mode rewrites such changes as copy-and-swap.
        render_as_batch=connection.dialect.name == "sqlite",
        # Our SQLite connections BEGIN explicitly (bot.store.engine), so DDL there is transactional
        # too: a failed migration rolls back instead of leaving a half-built schema.
        transactional_ddl=True if connection.dialect.name == "sqlite" else None,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    url = _url()
    context.configure(
        url=url,
        target_metadata=metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    # Foreign keys off on SQLite: see bot.store.migrate._migrate_sync for why.
    engine = create_engine(_url(), foreign_keys=False)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
    else:
        asyncio.run(run_async_migrations())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
