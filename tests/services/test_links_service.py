"""The link service on SQLite and PostgreSQL with the VRChat simulator: verifications racing for one
account, and the refusals that must write nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.links.service import LinkRefused, LinkService
from bot.services.common import ActionLog
from bot.services.registry import Services
from bot.store import BindingIn, Store
from bot.vrchat import VRChatClient
from tests.fixtures.vrchat_profiles import edit_profile
from tests.fixtures.vrchat_sim import SeededSim
from tests.services.conftest import ADA, EVE, FEED, GUILD, MAYA, MOD_ROLE, REQUESTS, make_config
from tests.store.helpers import count_rows


@pytest.fixture
async def links(store: Store, vrc: VRChatClient, seeded_sim: SeededSim) -> AsyncIterator[LinkService]:
    await store.add_binding(BindingIn(seeded_sim.group.id, GUILD, FEED, REQUESTS, (MOD_ROLE,)))
    services = Services(vrc, store, make_config(seeded_sim.group.id))
    yield LinkService(vrc, store, services.lookups, ActionLog(store))


async def test_two_people_verifying_one_account_at_once_both_succeed_in_turn(
    links: LinkService, store: Store, seeded_sim: SeededSim
) -> None:
    """The account's owner put both codes in the bio; both press Verify together. The database lets
    one link commit first; the other is tried again and replaces it, as a moment later it would have.
    Never two links to one account, never an error for either person."""
    dave = seeded_sim.outsider.id
    for _ in range(3):
        first, second = await links.issue(MAYA, dave), await links.issue(ADA, dave)
        edit_profile(seeded_sim.sim, dave, bio=f"{first.code} {second.code}")
        done = await asyncio.gather(links.verify(MAYA, first.code_id), links.verify(ADA, second.code_id))
        assert {c.link.discord_user_id for c in done} == {MAYA.user_id, ADA.user_id}
        assert await count_rows(store, "discord_links") == 1
        winner = await store.link_of_vrchat(dave)
        assert winner is not None and winner.discord_user_id in (MAYA.user_id, ADA.user_id)
        await links.unlink_self(MAYA)
        await links.unlink_self(ADA)


async def test_refusals_before_vrchat_write_nothing(
    links: LinkService, store: Store, seeded_sim: SeededSim
) -> None:
    issued = await links.issue(MAYA, seeded_sim.outsider.id)
    before = [
        await count_rows(store, t) for t in ("link_codes", "link_attempts", "discord_links", "action_log")
    ]
    requests = len(seeded_sim.sim.requests)
    with pytest.raises(LinkRefused, match="issued to another Discord account"):
        await links.verify(EVE, issued.code_id)
    with pytest.raises(LinkRefused, match="no longer valid"):
        await links.verify(MAYA, issued.code_id + 1000)
    after = [
        await count_rows(store, t) for t in ("link_codes", "link_attempts", "discord_links", "action_log")
    ]
    assert after == before
    assert len(seeded_sim.sim.requests) == requests
