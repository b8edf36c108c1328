"""Account leases in the LeaseKeeper: each account held by one member, groups following the member
that holds their account, a gateway-only process holding none (bot.leases, bot.accounts)."""

from __future__ import annotations

import random

from bot.lease_names import account_lease, describe_work, group_lease
from bot.leases import LeaseKeeper, bound_lease_names
from bot.store import BindingIn, Store
from tests.scale.conftest import OpenStore

SERVING = {f"grp_{i:02d}": ("alpha" if i % 2 else "bravo") for i in range(8)}


async def bind_all(store: Store) -> None:
    await store.apply_config_bindings(
        [BindingIn(group_id=g, guild_id=1, feed_channel_id=100 + i) for i, g in enumerate(SERVING)]
    )


async def keeper(store: Store, owner: str, *, member: bool = True) -> LeaseKeeper:
    async def wanted() -> dict[str, str | None]:
        return await bound_lease_names(store, ["alpha", "bravo"], SERVING.get)

    return LeaseKeeper(store, wanted, ttl=30.0, owner=owner, member=member, rng=random.Random(owner))


async def test_each_account_goes_to_one_member_and_its_groups_follow(open_store: OpenStore) -> None:
    first = await open_store()
    await bind_all(first)
    a = await keeper(first, "a")
    b = await keeper(await open_store(), "b")
    gateway = await keeper(await open_store(), "gw", member=False)
    await a.tick()
    assert {account_lease("alpha"), account_lease("bravo")} <= a.held  # alone: both accounts
    for _ in range(4):
        for k in (a, b, gateway):
            await k.tick()
    accounts = {n: k.owner for k in (a, b, gateway) for n in k.held if n.startswith("account:")}
    assert sorted(accounts) == [account_lease("alpha"), account_lease("bravo")]
    assert sorted(accounts.values()) == ["a", "b"]  # one each; never the gateway
    assert not [n for n in gateway.held if n.startswith(("account:", "group:"))]
    # The groups went with their accounts where the fair share allowed (4 groups each).
    for k in (a, b):
        mine = next(n.removeprefix("account:") for n in k.held if n.startswith("account:"))
        groups = {n for n in k.held if n.startswith("group:")}
        assert groups == {group_lease(g) for g, name in SERVING.items() if name == mine}


async def test_without_accounts_groups_pair_with_nothing(open_store: OpenStore) -> None:
    store = await open_store()
    await bind_all(store)
    wanted = await bound_lease_names(store, (), SERVING.get)
    assert not [n for n in wanted if n.startswith("account:")]
    assert all(wanted[group_lease(g)] is None for g in SERVING)
    paired = await bound_lease_names(store, ["alpha", "bravo"], SERVING.get)
    assert paired[group_lease("grp_01")] == account_lease("alpha")


def test_the_work_names_the_accounts() -> None:
    assert describe_work([account_lease("alpha"), group_lease("grp_01")]) == (
        "the VRChat calls of 1 VRChat account (alpha) and the audit-log polling and join-request cards "
        "of 1 group (grp_01)"
    )
