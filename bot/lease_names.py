"""The names of the leases (bot.leases) and what they stand for: the work behind each, told to operators.

`account:<account name>` (calling VRChat with that account: one process at a time, since VRChat ties
a session to the address that logged in; bot.accounts), `group:<group id>` (the group's audit-log
poller and its join-request cards), `channel:<channel id>` (delivering the channel's outbox: one
sender per channel keeps its order), `member:<owner>` (a process doing that work is alive: how many
share it), `gateway` (the one process connected to Discord's gateway, bot.bot).
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.store.vrchat_calls import ACCOUNT_LEASE

ACCOUNT = ACCOUNT_LEASE  # "account:"
GROUP = "group:"
CHANNEL = "channel:"
MEMBER = "member:"
GATEWAY_LEASE = "gateway"


def account_lease(name: str) -> str:
    return f"{ACCOUNT}{name}"


def group_lease(group_id: str) -> str:
    return f"{GROUP}{group_id}"


def channel_lease(channel_id: int) -> str:
    return f"{CHANNEL}{channel_id}"


def describe_work(names: Iterable[str]) -> str | None:
    """The work behind lease names, for operators: "the Discord gateway, the audit log and join
    requests of 2 groups (grp_…, grp_…) and the feed of 1 channel (123…)". A process's own member
    lease is no work: None when there is nothing else."""
    names = set(names)

    def listed(prefix: str, noun: str) -> str | None:
        ids = sorted(n.removeprefix(prefix) for n in names if n.startswith(prefix))
        if not ids:
            return None
        shown = ", ".join(ids[:3]) + (", …" if len(ids) > 3 else "")
        return f"{len(ids)} {noun}{'' if len(ids) == 1 else 's'} ({shown})"

    parts = []
    if accounts := listed(ACCOUNT, "VRChat account"):
        parts.append(f"the VRChat calls of {accounts}")
    if GATEWAY_LEASE in names:
        parts.append("the Discord gateway (slash commands and buttons)")
    if groups := listed(GROUP, "group"):
        parts.append(f"the audit-log polling and join-request cards of {groups}")
    if channels := listed(CHANNEL, "channel"):
        parts.append(f"the feed delivery to {channels}")
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
