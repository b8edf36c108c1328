"""`/vrc note-edit` and `/vrc note-delete` through the real bot and the Discord stand-in: the note is
picked from the autocomplete's choices, and only its author or an admin can change it."""

from __future__ import annotations

import pytest

from bot.sandbox.discord import DiscordStandIn, autocomplete
from tests.discord.conftest import command, first_reply, is_ephemeral
from tests.fixtures.discord_gateway import ADMIN_ID, FEED_CHANNEL_ID, GUILD_ID, MEMBER_ID, MOD_ID
from tests.fixtures.vrchat_sim import SeededSim

pytestmark = pytest.mark.usefixtures("every_message_ephemeral_without_mentions")


async def choices(standin: DiscordStandIn, sub: str, typed: str, who: int) -> list[dict[str, str]]:
    member = standin.member(GUILD_ID, who)
    exchange = await standin.dispatch_interaction(
        autocomplete("vrc", "note", typed, channel_id=FEED_CHANNEL_ID, member=member, subcommand=sub)
    )
    callback = await exchange.wait(timeout=10)
    assert callback.body["type"] == 8
    return list(callback.body["data"]["choices"])


async def test_a_note_is_picked_edited_and_deleted(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    carol = seeded_sim.requester.id
    async with make_bot() as bot:
        await command(gateway_standin, "vrc", "note", {"user": carol, "text": "asked **twice** @everyone"})
        (offered,) = await choices(gateway_standin, "note-edit", "twice", MOD_ID)
        assert offered["name"].startswith(carol) and "asked **twice**" in offered["name"]
        assert await choices(gateway_standin, "note-edit", "", MEMBER_ID) == []  # not a moderator

        refused = first_reply(
            await command(
                gateway_standin, "vrc", "note-edit", {"note": offered["value"], "text": "x"}, who=MEMBER_ID
            )
        )
        assert is_ephemeral(refused) and (await bot.store.get_note(int(offered["value"]))).text != "x"

        changed = first_reply(
            await command(
                gateway_standin, "vrc", "note-edit", {"note": offered["value"], "text": "asked 3 times"}
            )
        )
        assert "changed: asked 3 times" in changed["content"]
        history = first_reply(await command(gateway_standin, "vrc", "history", {"user": carol}))
        assert "(edited" in str(history["embeds"])

        deleted = first_reply(
            await command(gateway_standin, "vrc", "note-delete", {"note": offered["value"]}, who=ADMIN_ID)
        )
        assert "Deleted the note" in deleted["content"]
        assert await bot.store.note_count(GUILD_ID, seeded_sim.group.id, carol) == 0
        (logged,) = await bot.store.list_actions(action="note.delete")
        assert logged.discord_user_id == ADMIN_ID and logged.details["text"] == "asked 3 times"
