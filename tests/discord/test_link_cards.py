"""A join-request card names the requester's linked Discord member, and the `linked_in_server` rule
decides on it, failing closed, through the real bot."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from bot.sandbox.discord import DiscordStandIn
from bot.sandbox.discord.state import ApiError
from tests.discord.conftest import CLOSED_CARD, card_messages, command, components, first_reply, labels
from tests.discord.linking import link_through_bot
from tests.fixtures.discord_gateway import ADMIN_ID, GUILD_ID, MEMBER_ID
from tests.fixtures.vrchat_sim import SeededSim
from tests.store.helpers import link_directly

ELSEWHERE_ID = 1_500_000_000_000_000_088  # linked, but not in this server


def card_fields(message: object) -> dict[str, str]:
    return {f["name"]: f["value"] for f in message.embeds[0]["fields"]}  # type: ignore[attr-defined]


class _Refusing(dict[int, Any]):
    """A server whose member list Discord refuses to show (403 Missing Access)."""

    def get(self, key: int, default: Any = None) -> Any:
        raise ApiError(403, 50001, "Missing Access")


@contextmanager
def member_lookups_refused(standin: DiscordStandIn) -> Iterator[None]:
    guild = standin.state.guilds[GUILD_ID]
    members = guild.members
    guild.members = _Refusing(members)
    try:
        yield
    finally:
        guild.members = members


async def post_cards(bot: Any) -> None:
    await bot.get_cog("JoinRequests").sync_cards()


async def test_a_linked_member_of_this_server_is_named_on_the_card(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    async with make_bot() as bot:
        outcome = await link_through_bot(gateway_standin, seeded_sim, seeded_sim.requester.id, MEMBER_ID)
        assert outcome.startswith("Linked")
        await post_cards(bot)
    (card,) = card_messages(gateway_standin)
    assert card_fields(card)["Discord"] == f"<@{MEMBER_ID}> (in this server)"
    assert card.allowed_mentions == {"parse": []}
    lookups = gateway_standin.requests_to("GET", f"/guilds/{GUILD_ID}/members/{MEMBER_ID}")
    assert [r.status for r in lookups] == [200]


@pytest.mark.parametrize(
    ("linked_to", "line"),
    [
        (None, "not linked"),
        (ELSEWHERE_ID, "linked, not in this server"),
    ],
)
async def test_an_unlinked_requester_or_one_from_elsewhere_is_said_so_without_a_name(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, linked_to: int | None, line: str
) -> None:
    async with make_bot() as bot:
        if linked_to is not None:
            await link_directly(bot.store, linked_to, seeded_sim.requester.id)
        await post_cards(bot)
    (card,) = card_messages(gateway_standin)
    assert card_fields(card)["Discord"] == line
    assert str(ELSEWHERE_ID) not in str(card.embeds)


async def test_a_failed_member_lookup_says_so_on_the_card(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    async with make_bot() as bot:
        await link_directly(bot.store, MEMBER_ID, seeded_sim.requester.id)
        with member_lookups_refused(gateway_standin):
            await post_cards(bot)
    (card,) = card_messages(gateway_standin)
    assert card_fields(card)["Discord"] == "linked, but whether they are in this server could not be checked"


async def add_rule(standin: DiscordStandIn, condition: str, outcome: str) -> str:
    reply = first_reply(
        await command(
            standin, "bridge", "rules add", {"condition": condition, "outcome": outcome}, who=ADMIN_ID
        )
    )
    return str(reply["content"])


async def test_the_linked_in_server_rule_accepts_a_linked_member(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    async with make_bot() as bot:
        await link_directly(bot.store, MEMBER_ID, seeded_sim.requester.id)
        added = await add_rule(gateway_standin, "linked_in_server", "accept")
        assert added == "Added rule #1: linked and in this Discord server → accept."
        await post_cards(bot)
    (card,) = card_messages(gateway_standin)
    assert labels(card) == CLOSED_CARD
    assert (
        card_fields(card)["Rules"] == "Automatically accepted by rule #1 (linked and in this Discord server)."
    )
    assert seeded_sim.sim.state.is_member(seeded_sim.group.id, seeded_sim.requester.id)


@pytest.mark.parametrize("how", ["not linked", "elsewhere", "lookup fails"])
async def test_the_linked_in_server_rule_never_accepts_anyone_else(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, how: str
) -> None:
    async with make_bot() as bot:
        if how == "elsewhere":
            await link_directly(bot.store, ELSEWHERE_ID, seeded_sim.requester.id)
        if how == "lookup fails":
            await link_directly(bot.store, MEMBER_ID, seeded_sim.requester.id)
        await add_rule(gateway_standin, "linked_in_server", "accept")
        if how == "lookup fails":
            with member_lookups_refused(gateway_standin):
                await post_cards(bot)
        else:
            await post_cards(bot)
    (card,) = card_messages(gateway_standin)
    assert len(components(card)) == 4  # left to the moderators (3 + History, bot.desk)
    rules = card_fields(card)["Rules"]
    if how == "lookup fails":
        assert rules.startswith("Held for a moderator: rule #1 needs the Discord link")
    else:
        assert rules == "Held for a moderator: no rule matched."
    assert not seeded_sim.sim.state.is_member(seeded_sim.group.id, seeded_sim.requester.id)
    assert not seeded_sim.sim.requests_to("PUT", r"/requests/usr_")
