"""`/bridge rules` and rule decisions on join-request cards, through the real bot."""

from __future__ import annotations

import pytest

from bot.sandbox.discord import DiscordStandIn
from bot.sandbox.vrchat.faults import Fault
from tests.discord.conftest import (
    CLOSED_CARD,
    card_messages,
    command,
    components,
    first_reply,
    labels,
    post_cards,
)
from tests.fixtures.discord_gateway import ADMIN_ID, MEMBER_ID
from tests.fixtures.vrchat_sim import SeededSim

KNOWN = ["system_trust_basic", "system_trust_known"]


pytestmark = pytest.mark.usefixtures("every_reply_ephemeral_without_mentions")


def puts_to_requests(seeded: SeededSim) -> int:
    return len(seeded.sim.requests_to("PUT", r"/requests/usr_"))


def rules_field(message: object) -> str:
    fields = {f["name"]: f["value"] for f in message.embeds[0]["fields"]}  # type: ignore[attr-defined]
    return fields["Rules"]


async def add_rule(standin: DiscordStandIn, **options: str) -> dict:
    return first_reply(await command(standin, "bridge", "rules add", options, who=ADMIN_ID))


async def test_a_rule_accepts_and_the_card_is_posted_closed(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    seeded_sim.requester.tags = KNOWN
    async with make_bot() as bot:
        added = await add_rule(
            gateway_standin, condition="trust_at_least", parameter="new user", outcome="accept"
        )
        assert "Added rule #1" in added["content"]
        listing = first_reply(await command(gateway_standin, "bridge", "rules list", {}, who=ADMIN_ID))
        assert "#1 trust at least New User" in listing["embeds"][0]["description"]
        await post_cards(bot)
    (card,) = card_messages(gateway_standin)
    assert labels(card) == CLOSED_CARD  # nothing left to click
    assert rules_field(card) == "Automatically accepted by rule #1 (trust at least New User: was User)."
    assert seeded_sim.sim.state.is_member(seeded_sim.group.id, seeded_sim.requester.id)
    assert puts_to_requests(seeded_sim) == 1


async def test_shadow_mode_posts_what_would_happen_and_changes_nothing(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    seeded_sim.requester.tags = KNOWN
    async with make_bot() as bot:
        await add_rule(gateway_standin, condition="trust_at_least", parameter="User", outcome="reject")
        reply = first_reply(
            await command(gateway_standin, "bridge", "rules shadow", {"on": True}, who=ADMIN_ID)
        )
        assert "Shadow mode is on" in reply["content"]
        await post_cards(bot)
    (card,) = card_messages(gateway_standin)
    assert len(components(card)) == 4  # still for the moderators (3 + History)
    assert rules_field(card).startswith("Shadow mode: rule #1 would have rejected")
    assert puts_to_requests(seeded_sim) == 0


async def test_a_profile_lookup_failure_holds_the_request(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    async with make_bot() as bot:
        await add_rule(
            gateway_standin, condition="account_age_days_at_least", parameter="0", outcome="accept"
        )
        seeded_sim.sim.faults.add(
            Fault(method="GET", path=rf"^/users/{seeded_sim.requester.id}$", status=500)
        )
        await post_cards(bot)
    (card,) = card_messages(gateway_standin)
    assert len(components(card)) == 4  # 3 + History (bot.desk)
    assert rules_field(card).startswith("Held for a moderator: a lookup failed")
    assert puts_to_requests(seeded_sim) == 0


async def test_rules_are_for_admins_only(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    async with make_bot() as bot:
        reply = first_reply(
            await command(
                gateway_standin,
                "bridge",
                "rules add",
                {"condition": "age_verified", "outcome": "accept"},
                who=MEMBER_ID,
                force=True,
            )
        )
        assert "Manage Server" in reply["content"]
        assert await bot.store.list_rules([b.id for b in await bot.store.list_bindings()]) == []
