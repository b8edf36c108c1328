"""`/bridge watchlist` and the watchlist hits on join-request cards, through the real bot."""

from __future__ import annotations

from typing import Any

import pytest

from bot.sandbox.discord import DiscordStandIn
from bot.sandbox.vrchat.faults import Fault
from tests.discord.conftest import card_messages, command, first_reply, post_cards
from tests.fixtures.discord_gateway import ADMIN_ID, MEMBER_ID
from tests.fixtures.vrchat_sim import SeededSim

pytestmark = pytest.mark.usefixtures("every_reply_ephemeral_without_mentions")


def fields(message: object) -> dict[str, str]:
    return {f["name"]: f["value"] for f in message.embeds[0]["fields"]}  # type: ignore[attr-defined]


async def watch(
    standin: DiscordStandIn, who: int = ADMIN_ID, *, force: bool = False, **options: str
) -> dict[str, Any]:
    """`/bridge watchlist add options` by `who` (the server's owner unless told): the first reply."""
    return first_reply(await command(standin, "bridge", "watchlist add", options, who=who, force=force))


def raiders(seeded: SeededSim, name: str = "Raiders") -> str:
    state = seeded.sim.state
    group = state.add_group(name, short_code="RAID", discriminator="6666", owner_id=seeded.outsider.id)
    state.add_member(group.id, seeded.requester.id)
    return group.id


async def test_a_watchlisted_group_is_flagged_on_the_card(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    watched = raiders(seeded_sim, "**Raiders** @everyone")
    async with make_bot() as bot:
        reply = await watch(
            gateway_standin, watched=f"https://vrchat.com/home/group/{watched}", note="raided us <@&1>"
        )
        assert "Added" in reply["content"]
        listing = first_reply(await command(gateway_standin, "bridge", "watchlist list", {}, who=ADMIN_ID))
        assert "raided us" in listing["embeds"][0]["description"]
        await post_cards(bot)
    (card,) = card_messages(gateway_standin)
    shown = fields(card)
    assert shown["Groups"].startswith("1 group: ")
    flagged = shown["⚠️ On this server's watchlist"]
    assert "raided us" in flagged and watched.replace("_", "\\_") in flagged
    assert "**Raiders**" not in flagged and "@everyone" not in flagged and "<@&1>" not in flagged
    assert card.allowed_mentions == {"parse": []}


async def test_no_hit_no_flag_and_a_failed_lookup_says_unavailable(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    raiders(seeded_sim)  # Carol is in it, but nobody watches it
    async with make_bot() as bot:
        await post_cards(bot)
        erin = seeded_sim.sim.state.add_user("Erin")
        seeded_sim.sim.state.add_join_request(seeded_sim.group.id, erin.id)
        seeded_sim.sim.faults.add(Fault(method="GET", path=rf"^/users/{erin.id}/groups$", status=500))
        await post_cards(bot)
    carol, erin_card = card_messages(gateway_standin)
    assert fields(carol)["Groups"] == "1 group: Raiders"
    assert not any("watchlist" in name for name in fields(carol))
    assert fields(erin_card)["Groups"] == "groups unavailable"


async def test_members_without_manage_server_cannot_use_the_watchlist(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    async with make_bot() as bot:
        reply = await watch(gateway_standin, MEMBER_ID, force=True, watched=raiders(seeded_sim))
        assert "Manage Server" in reply["content"]
        assert await bot.store.list_watch([b.id for b in await bot.store.list_bindings()]) == []


async def test_a_short_code_is_looked_up_in_discord(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    watched = raiders(seeded_sim)
    async with make_bot() as bot:
        missing = await watch(gateway_standin, watched="RAID.6667")
        assert "finds no group RAID.6667" in missing["content"]
        assert await bot.store.list_watch([b.id for b in await bot.store.list_bindings()]) == []
        await watch(gateway_standin, watched="RAID.6666", note="raid crew")
        (entry,) = await bot.store.list_watch([b.id for b in await bot.store.list_bindings()])
    assert (entry.group_id, entry.note) == (watched, "raid crew")
