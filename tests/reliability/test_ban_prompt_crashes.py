"""A Discord ban of a linked member, with the real bot process SIGKILLed where a card could be lost or
posted twice: after the prompt is stored (no card yet), and after the card is posted (its message id
not stored). After each restart the ban has exactly one card, and Confirm still bans in VRChat. An
automatic ban killed before its moderator was known is made once, after the restart, credited to them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.crashpoints import ENV_VAR
from bot.demo.ban_scene import CONFIRM, ban_cards, link_player
from bot.sandbox.discord.guilds import VIEW_AUDIT_LOG
from bot.sandbox.world import ADMIN_ID, GUILD_ID, MEMBER_ID, MOD_ID, BotProcess, SandboxWorld, WorldSettings

# SIGKILLs the real bot process in the Discord-ban card flow.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bot-process")]

WAIT = 60.0  # generous: these run beside other bot processes on loaded machines


def open_cards(world: SandboxWorld) -> int:
    return sum(1 for card in ban_cards(world) if card.components)


async def up(world: SandboxWorld, bot: BotProcess, env: dict[str, str] | None = None) -> None:
    """Start the bot and wait until it answers interactions (it is connected and has the server)."""
    await bot.start(env=env)
    synced = lambda: bool(world.discord.synced_commands(GUILD_ID))  # noqa: E731
    await world.wait_for(synced, "the slash commands", WAIT, process=bot)
    await world.discord.gateway.wait_connected(WAIT)
    await world.status(timeout=WAIT)


async def ban_and_die(world: SandboxWorld, bot: BotProcess, point: str, by: int | None = None) -> None:
    await bot.stop()
    await up(world, bot, {ENV_VAR: f"{point}:1"})
    await world.discord.ban(GUILD_ID, MEMBER_ID, by=by)
    assert await bot.wait_exit(WAIT) == -9, bot.log()[-3000:]
    assert f"crash point {point} reached" in bot.log()


async def test_a_ban_is_prompted_once_across_crashes(tmp_path: Path) -> None:
    async with SandboxWorld(tmp_path, WorldSettings(poll_interval=0.5)) as world:
        player = world.players.named("Ben")
        bot = world.bot_process()
        await up(world, bot)
        assert (await link_player(world, player, MEMBER_ID, WAIT)).startswith("Linked")

        await ban_and_die(world, bot, "banbridge.after_store")
        assert ban_cards(world) == []  # stored, never posted
        await up(world, bot)
        await world.wait_for(lambda: open_cards(world) == 1, "the stored prompt's card", WAIT, process=bot)

        await world.discord.unban(GUILD_ID, MEMBER_ID)  # closes the card: a new ban asks again
        await world.wait_for(
            lambda: open_cards(world) == 0, "the card closed by the unban", WAIT, process=bot
        )
        await world.discord.join(GUILD_ID, MEMBER_ID, "member")

        await ban_and_die(world, bot, "banbridge.after_post")
        assert open_cards(world) == 1  # posted; the bot died before it stored the message id
        await up(world, bot)
        (card,) = [c for c in ban_cards(world) if c.components]
        confirm = await world.click(card, CONFIRM)
        await confirm.wait_for(lambda x: bool(x.followups), timeout=WAIT, what="the outcome of Confirm")
        assert len(ban_cards(world)) == 2 and open_cards(world) == 0  # one per ban, never two
        membership = world.community.group.memberships.get(player.id)
        assert membership is not None and membership.status == "banned"
        assert await bot.stop() == 0
        assert not world.discord.violations and not world.sim.violations


async def test_an_automatic_ban_cut_short_before_its_moderator_was_known_bans_once_credited(
    tmp_path: Path,
) -> None:
    async with SandboxWorld(tmp_path, WorldSettings(poll_interval=0.5)) as world:
        role = world.discord.top_role(GUILD_ID, world.discord.bot_user.id)
        assert role is not None
        role.permissions |= VIEW_AUDIT_LOG  # the audit entry, naming the moderator, reaches the bot
        world.discord.state.guilds[GUILD_ID].refresh_permissions()
        player = world.players.named("Ben")
        bot = world.bot_process()
        await up(world, bot)
        assert (await link_player(world, player, MEMBER_ID, WAIT)).startswith("Linked")
        setting = await world.command("bridge", "bans", {"mode": "ban"}, who=ADMIN_ID)
        await setting.wait_for(lambda x: any(e.ok for e in x.events), WAIT, "the setting's answer")

        # Killed with the prompt stored, before the audit entry came: nothing banned yet.
        await ban_and_die(world, bot, "banbridge.after_store", by=MOD_ID)
        membership = world.community.group.memberships[player.id]
        assert membership.status != "banned" and ban_cards(world) == []
        await up(world, bot)
        await world.wait_for(
            lambda: len(ban_cards(world)) == 1, "the automatic ban's card", WAIT, process=bot
        )
        (card,) = ban_cards(world)
        assert "because moderator banned them in Discord" in str(card.embeds), card.embeds
        assert world.community.group.memberships[player.id].status == "banned"
        bans = [r for r in world.sim.requests if r.method == "POST" and r.path.endswith("/bans")]
        assert len(bans) == 1
        assert await bot.stop() == 0
        assert not world.discord.violations and not world.sim.violations
