"""/vrc instances with several VRChat accounts: each group's instances as its serving account sees
them, a group only the second account is in included, a group both are in listed once."""

from __future__ import annotations

from bot.services.registry import Services
from bot.store import BindingIn, Store
from bot.vrchat.router import GroupRouter
from tests.fixtures.vrchat_accounts import TwoAccounts
from tests.services.conftest import FEED, GUILD, MAYA, MOD_ROLE, make_config


async def test_each_group_is_listed_through_its_serving_account(
    two: TwoAccounts, two_router: GroupRouter, sqlite_store: Store
) -> None:
    groups = [two.only_a, two.only_b, two.both]
    for n, group in enumerate(groups):
        two.sim.state.add_instance(group.id, f"World of {group.name}", "eu", 16)
        await sqlite_store.add_binding(
            BindingIn(
                group_id=group.id, guild_id=GUILD, feed_channel_id=FEED + n, moderator_role_ids=(MOD_ROLE,)
            )
        )
    await two_router.pool.assign(g.id for g in groups)
    services = Services(two_router, sqlite_store, make_config(*(g.id for g in groups)))

    found = await services.lookups.instances(MAYA)

    assert sorted((g.group_id, len(g.instances)) for g in found) == sorted((g.id, 1) for g in groups)
    asked = {r.path for r in two.sim.requests_to("GET", r"/instances/groups$")}
    served = {two_router.pool.serving(g.id).client.user_id for g in groups}  # type: ignore[union-attr]
    assert asked == {f"/users/{user_id}/instances/groups" for user_id in served}
    assert two.bravo.id in served  # the second account was asked: only it is in Only Bravo
