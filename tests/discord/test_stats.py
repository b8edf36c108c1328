"""`/vrc stats` through the real bot, the gateway stand-in and a real SQLite file."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from matplotlib.image import imread

from bot.cogs.stats import CHART_FILE
from bot.config import Config
from bot.sandbox.discord import DiscordStandIn, InteractionExchange
from bot.store import AuditEntryIn, Store
from tests.discord.conftest import (
    command,
    first_reply,
    is_ephemeral,
)
from tests.fixtures.bridge import bot_config
from tests.fixtures.discord_gateway import MEMBER_ID
from tests.fixtures.vrchat_sim import SeededSim
from tests.store.helpers import count_rows

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ELSEWHERE = "grp_00000000-0000-0000-0000-000000000099"


pytestmark = pytest.mark.usefixtures("every_message_ephemeral_without_mentions")


async def seed(store: Store, group_id: str, *items: tuple[str, float]) -> None:
    """(event type, days ago) pairs, mirrored as the poller would store them."""
    now = datetime.now(UTC)
    entries = [
        AuditEntryIn(
            id=f"gaud_stats-{group_id[-4:]}-{n:03d}",
            created_at=now - timedelta(days=days_ago),
            event_type=event_type,
            actor_id="usr_actor",
            actor_display_name="@everyone",
            description="<@&1> **not markdown**",
        )
        for n, (event_type, days_ago) in enumerate(items)
    ]
    await store.ingest(group_id, entries, enqueue=False)


async def a_month_of_activity(store: Store, group_id: str) -> None:
    await seed(
        store,
        group_id,
        ("group.member.join", 0),
        ("group.member.join", 2),
        ("group.member.join", 12),
        ("group.member.leave", 3),
        ("group.request.accept", 2),
        ("group.request.accept", 12),
        ("group.request.reject", 5),
        ("group.request.block", 20),
        ("group.user.ban", 1),
        ("group.user.ban", 25),
        ("group.member.remove", 1),  # a kick: not one of the charted series
        ("group.user.ban", 45),  # older than the chart
    )
    await seed(store, ELSEWHERE, ("group.user.ban", 1), ("group.member.join", 1))


def fields(message: dict) -> dict[str, str]:
    (embed,) = message["embeds"]
    return {f["name"]: f["value"] for f in embed["fields"]}


def chart_of(exchange: InteractionExchange) -> bytes:
    (followup,) = exchange.followups
    assert followup.message is not None
    (attachment,) = followup.message.attachments
    assert attachment.filename == CHART_FILE
    return attachment.data


def sent_files(standin: DiscordStandIn) -> int:
    return sum(
        len(e.message.attachments) for x in standin.exchanges for e in x.events if e.message is not None
    )


async def test_stats_attach_a_png_chart_and_total_the_last_30_days(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    async with make_bot() as bot:
        await a_month_of_activity(bot.store, seeded_sim.group.id)
        exchange = await command(gateway_standin, "vrc", "stats", {})
    reply = first_reply(exchange)
    assert is_ephemeral(reply)
    assert fields(reply) == {
        "Joins": "3",
        "Leaves": "1",
        "Requests accepted": "2",
        "Requests rejected": "2",
        "Bans": "2",
    }
    (embed,) = reply["embeds"]
    assert embed["title"] == "Test Group — the last 30 days"
    assert embed["image"]["url"] == f"attachment://{CHART_FILE}"  # the chart shows inside the embed
    png = chart_of(exchange)
    assert png.startswith(PNG_SIGNATURE)
    height, width, _ = imread(io.BytesIO(png), format="png").shape
    assert width > 500 and height > 200


async def test_days_narrows_the_window_and_the_group_can_be_named(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    async with make_bot() as bot:
        await a_month_of_activity(bot.store, seeded_sim.group.id)
        week = await command(gateway_standin, "vrc", "stats", {"days": 7, "group": seeded_sim.group.id})
        today = await command(gateway_standin, "vrc", "stats", {"days": 1})
    assert fields(first_reply(week)) == {
        "Joins": "2",
        "Leaves": "1",
        "Requests accepted": "1",
        "Requests rejected": "1",
        "Bans": "1",
    }
    assert first_reply(week)["embeds"][0]["title"] == "Test Group — the last 7 days"
    assert first_reply(today)["embeds"][0]["title"] == "Test Group — today (UTC)"
    assert fields(first_reply(today))["Joins"] == "1"
    assert chart_of(week) != chart_of(today)


async def test_a_quiet_month_says_so_without_a_chart(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    async with make_bot() as bot:
        await seed(bot.store, seeded_sim.group.id, ("group.member.remove", 1), ("group.user.ban", 31))
        exchange = await command(gateway_standin, "vrc", "stats", {})
    reply = first_reply(exchange)
    assert is_ephemeral(reply) and not reply.get("embeds")
    assert reply["content"].startswith("Nothing to chart for Test Group in the last 30 days")
    assert sent_files(gateway_standin) == 0


async def test_a_plain_member_is_refused_and_sees_no_numbers(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, bot_store: Store
) -> None:
    async with make_bot() as bot:
        await a_month_of_activity(bot.store, seeded_sim.group.id)
        actions = await count_rows(bot_store, "action_log")
        entries = await count_rows(bot_store, "audit_entries")
        exchange = await command(gateway_standin, "vrc", "stats", {}, who=MEMBER_ID)
    reply = first_reply(exchange)
    assert is_ephemeral(reply) and "moderator" in reply["content"].lower()
    assert not reply.get("embeds") and not exchange.followups
    assert sent_files(gateway_standin) == 0
    assert await count_rows(bot_store, "action_log") == actions
    assert await count_rows(bot_store, "audit_entries") == entries


async def test_a_group_this_server_is_not_linked_to_is_refused(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    async with make_bot() as bot:
        await a_month_of_activity(bot.store, seeded_sim.group.id)
        exchange = await command(gateway_standin, "vrc", "stats", {"group": ELSEWHERE})
    reply = first_reply(exchange)
    assert is_ephemeral(reply) and not reply.get("embeds")
    assert "not one of the groups this bot may manage" in reply["content"]
    assert sent_files(gateway_standin) == 0


async def test_days_outside_1_to_90_are_refused(make_bot, gateway_standin: DiscordStandIn) -> None:
    # Discord's client enforces the option's range; the service checks again for any other client.
    async with make_bot():
        replies = [
            first_reply(await command(gateway_standin, "vrc", "stats", {"days": days})) for days in (0, 91)
        ]
    for reply in replies:
        assert is_ephemeral(reply) and reply["content"] == "Statistics cover between 1 and 90 days."
    assert sent_files(gateway_standin) == 0


# ------------------------------------------------------------------ a hostile group name


HOSTILE_NAME = "@everyone **Mods** <@&1> [x](https://e.x) $\\nosuchmacro$"  # both $ within the clip


@pytest.fixture
def hostile_config(seeded_sim: SeededSim, tmp_path: Path) -> Config:
    """The config.toml group name tries mentions, markdown, a link and TeX."""
    plain = bot_config(seeded_sim, tmp_path)
    return plain.model_copy(
        update={"groups": [g.model_copy(update={"name": HOSTILE_NAME}) for g in plain.groups]}
    )


async def test_the_group_name_is_inert_in_the_reply_and_plain_in_the_chart(
    make_bot, hostile_config: Config, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    async with make_bot(hostile_config) as bot:
        await a_month_of_activity(bot.store, seeded_sim.group.id)
        charted = await command(gateway_standin, "vrc", "stats", {})
        await bot.store.purge_older_than(0)
        quiet = await command(gateway_standin, "vrc", "stats", {})
    title = first_reply(charted)["embeds"][0]["title"]
    content = first_reply(quiet)["content"]
    for text in (title, content):
        assert "@everyone" not in text and "<@&1>" not in text, text
        assert "**Mods**" not in text and "[x](" not in text, text
    assert chart_of(charted).startswith(PNG_SIGNATURE)  # the TeX-looking name did not break drawing
