"""The tables the bot's processes share about themselves: what each one runs (for /bridge status),
the per-group wake counters that carry a moderator's command to the process polling the group, and
the VRChat calls handed to the process holding an account."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models.base import Base, surrogate_id


class ProcessStateRow(Base):
    """One bot process, as it last said (bot.store.process_state): rewritten whole on every heartbeat,
    deleted when the process stops cleanly, purged a day after a crashed one fell silent."""

    __tablename__ = "process_states"

    owner: Mapped[str] = mapped_column(String, primary_key=True)  # host:pid:random, as in the leases
    role: Mapped[str] = mapped_column(String)  # 'all', 'gateway' or 'worker'
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
    # The group ids whose polling it runs, and its VRChat accounts (name, budget use, session,
    # pipeline, the group ids each serves there): JSON, as they are only ever read whole.
    groups: Mapped[list[Any]]
    accounts: Mapped[list[Any]]


class GroupWakeRow(Base):
    """How many times something was done in a group through the bot (bot.store.wakes): a process that
    polls the group and sees the count move looks at the group at the usual pace again."""

    __tablename__ = "group_wakes"

    group_id: Mapped[str] = mapped_column(String, primary_key=True)
    # A counter, not a time: compared for change only, it needs no synchronised clocks and no
    # commit order between processes.
    wakes: Mapped[int] = mapped_column(BigInteger)
    woken_at: Mapped[datetime]  # for purging rows of groups nobody touched for long


class VRChatCallRow(Base):
    """A VRChat call one process asks of the process holding the account (bot.accounts.desk): pending
    until the holder takes it (one UPDATE, so it runs at most once), then done with its outcome."""

    __tablename__ = "vrchat_calls"

    id: Mapped[int] = surrogate_id()
    account: Mapped[str] = mapped_column(String)  # the account's name in the config
    method: Mapped[str] = mapped_column(String)  # a VRChatClient method (bot.vrchat.remote)
    arguments: Mapped[str] = mapped_column(Text)  # JSON, by parameter name
    state: Mapped[str] = mapped_column(String(8))  # pending, taken, done, dropped (nobody took it)
    taken_by: Mapped[str | None] = mapped_column(String)  # the lease owner that ran it
    outcome: Mapped[str | None] = mapped_column(Text)  # JSON: {"result": …} or {"error": …}
    created_at: Mapped[datetime]
    taken_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    __table_args__ = (
        Index(None, "state", "account"),
        Index(None, "created_at"),
        CheckConstraint("state IN ('pending', 'taken', 'done', 'dropped')", name="state"),
        {"sqlite_autoincrement": True},  # a caller waits on its id: never another call's
    )
