"""`/vrc history`, `/vrc note` and the History button through the real bot on the Discord stand-in:
what a moderator reads, paging, the CSV, and the refusals. Nothing here asks VRChat."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from bot.desk.service import NOTE_MAX
from bot.sandbox.discord import DiscordStandIn
from bot.store import AuditEntryIn, Store
from bot.store.query import CSV_FIELDS
from tests.discord.conftest import (
    card_messages,
    click,
    command,
    component_id,
    components,
    first_reply,
    is_ephemeral,
    post_cards,
)
from tests.fixtures.discord_gateway import MEMBER_ID, MOD_ID
from tests.fixtures.vrchat_sim import SeededSim

pytestmark = pytest.mark.usefixtures("every_message_ephemeral_without_mentions")


async def mirror_history(store: Store, group_id: str, user_id: str, count: int) -> list[str]:
    """`count` entries about the user, one a minute, and one about someone else; descriptions newest first."""
    start = datetime.now(UTC) - timedelta(hours=2)
    types = ("group.request.create", "group.request.reject", "group.user.ban", "group.user.unban")
    entries = [
        AuditEntryIn(
            id=f"gaud_hist-{i:03d}",
            created_at=start + timedelta(minutes=i),
            event_type=types[i % len(types)],
            actor_id=user_id if i % len(types) == 0 else "usr_mod",
            actor_display_name="Alice",
            target_id=user_id,
            description=f"Entry number {i:03d}",
        )
        for i in range(count)
    ]
    entries.append(
        AuditEntryIn(
            "gaud_hist-other", start, "group.user.ban", "usr_mod", "Alice", "usr_other", "Not theirs"
        )
    )
    await store.ingest(group_id, entries, enqueue=False)
    return [e.description for e in reversed(entries[:-1])]


def field_lines(message: dict) -> list[str]:
    return [f["value"].split("\n")[0] for f in message["embeds"][0].get("fields", [])]


async def test_history_pages_newest_first_with_notes_and_summary(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    carol = seeded_sim.requester.id
    async with make_bot() as bot:
        newest_first = await mirror_history(bot.store, seeded_sim.group.id, carol, 14)
        requests = len(seeded_sim.sim.requests)
        noted = first_reply(
            await command(gateway_standin, "vrc", "note", {"user": carol, "text": "Asked politely **twice**"})
        )
        assert noted["content"].startswith("Noted about") and "\\*\\*twice\\*\\*" in noted["content"]
        shown = await command(
            gateway_standin, "vrc", "history", {"user": f"https://vrchat.com/home/user/{carol}"}
        )
        page = first_reply(shown)
        embed = page["embeds"][0]
        assert "page 1" in embed["title"] and "Test Group" in embed["title"]
        assert "4 requests, rejected 4 times" in embed["description"]
        assert "banned 3 times" in embed["description"] and "1 note" in embed["description"]
        assert field_lines(page) == ["Asked politely \\*\\*twice\\*\\*", *newest_first[:9]]
        message = shown.callback.message
        assert [c["label"] for c in components(message)] == ["◂ Prev", "Next ▸"]
        assert components(message)[0].get("disabled") is True
        second = await (await click(gateway_standin, component_id(message, "Next ▸"), message)).wait(10)
        assert second.type == 7 and "page 2" in second.data["embeds"][0]["title"]
        assert field_lines(second.data) == newest_first[9:]
        prev_button, next_button = components(second.message)
        assert next_button.get("disabled") is True and not prev_button.get("disabled")
        back = await (
            await click(gateway_standin, component_id(second.message, "◂ Prev"), second.message)
        ).wait(10)
        assert "page 1" in back.data["embeds"][0]["title"]
        # Someone else's click on the pager is told no, and pages nothing.
        other = await click(gateway_standin, component_id(message, "Next ▸"), message, who=MEMBER_ID)
        refusal = await other.wait(10)
        assert "Only the moderator who opened this history" in refusal.data["content"]
        assert len(seeded_sim.sim.requests) == requests  # straight from the database
        (added,) = await bot.store.list_actions(action="note.add")
        assert added.discord_user_id == MOD_ID and added.target_id == carol


async def test_history_as_csv_has_the_entries_and_the_notes(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    carol = seeded_sim.requester.id
    async with make_bot() as bot:
        newest_first = await mirror_history(bot.store, seeded_sim.group.id, carol, 3)
        await command(gateway_standin, "vrc", "note", {"user": carol, "text": "=cmd|' /C calc'!A0"})
        exported = await command(gateway_standin, "vrc", "history", {"user": carol, "csv": True})
    followup = exported.followups[0]
    assert is_ephemeral(followup.body)
    (attachment,) = followup.message.attachments
    assert attachment.filename.startswith(f"history-{carol}") and attachment.filename.endswith(".csv")
    rows = list(csv.reader(io.StringIO(attachment.data.decode("utf-8"))))
    assert tuple(rows[0]) == CSV_FIELDS
    described = [r[CSV_FIELDS.index("description")] for r in rows[1:]]
    assert described == ["'=cmd|' /C calc'!A0", *newest_first]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"user": "carol", "text": "x"}, "is not a VRChat user ID or profile link"),
        ({"user": "usr_c1644b5b-3ca4-45b4-97c6-a2a0de70d469", "text": "   "}, "A note needs some text."),
        (
            {"user": "usr_c1644b5b-3ca4-45b4-97c6-a2a0de70d469", "text": "y" * (NOTE_MAX + 1)},
            f"The note is {NOTE_MAX + 1:,} characters long; the limit is {NOTE_MAX:,}.",
        ),
    ],
)
async def test_a_bad_note_is_refused_in_one_line_and_nothing_is_kept(
    make_bot, gateway_standin: DiscordStandIn, options: dict, expected: str
) -> None:
    async with make_bot() as bot:
        reply = first_reply(await command(gateway_standin, "vrc", "note", options))
        assert expected in reply["content"] and "\n" not in reply["content"].strip()
        assert await bot.store.list_actions(action="note.add") == []


async def test_a_member_without_a_moderator_role_sees_no_history_and_writes_no_note(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    carol = seeded_sim.requester.id
    async with make_bot() as bot:
        await mirror_history(bot.store, seeded_sim.group.id, carol, 2)
        for sub, options in (("history", {"user": carol}), ("note", {"user": carol, "text": "hi"})):
            reply = first_reply(await command(gateway_standin, "vrc", sub, options, who=MEMBER_ID))
            assert "moderator roles" in reply["content"] and "embeds" not in reply
        assert await bot.store.note_count(1, seeded_sim.group.id, carol) == 0
        assert await bot.store.list_actions(action="note.add") == []


# ------------------------------------------------------------------ on the join-request card


async def test_the_card_sums_up_earlier_history_shows_the_latest_note_and_opens_the_history(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    carol = seeded_sim.requester.id
    earlier = datetime(2026, 3, 1, 12, tzinfo=UTC)
    async with make_bot() as bot:
        await bot.store.ingest(
            seeded_sim.group.id,
            [
                AuditEntryIn("gaud_old-1", earlier, "group.request.create", carol, "Carol", carol, "asked"),
                AuditEntryIn(
                    "gaud_old-2",
                    earlier + timedelta(days=1),
                    "group.request.reject",
                    "usr_m",
                    "M",
                    carol,
                    "no",
                ),
                AuditEntryIn(
                    "gaud_old-3", earlier + timedelta(days=2), "group.user.ban", "usr_m", "M", carol, "ban"
                ),
                AuditEntryIn(
                    "gaud_old-4", earlier + timedelta(days=32), "group.user.unban", "usr_m", "M", carol, "ok"
                ),
            ],
            enqueue=False,
        )
        await command(
            gateway_standin, "vrc", "note", {"user": carol, "text": "Talked to them <@&1> @everyone"}
        )
        (card,) = [m for m in await _cards(bot, gateway_standin)]
    fields = {f["name"]: f["value"] for f in card.embeds[0]["fields"]}
    assert fields["History here"] == (
        "1 earlier request, rejected once; banned 2026-03-03, unbanned 2026-04-02; 1 note"
    )
    assert fields["Latest note"].startswith("Talked to them <\u200b@\u200b&1> @\u200beveryone")
    assert [c["label"] for c in components(card)] == ["Approve", "Reject", "Reject & Block", "History"]
    # After a restart the button still opens the history, for a moderator only.
    async with make_bot():
        opened = first_reply(await _press(gateway_standin, card, MOD_ID))
        assert "History in Test Group" in opened["embeds"][0]["title"]
        assert [f["name"].split(" · ")[0] for f in opened["embeds"][0]["fields"]][:2] == [
            "📝 Note",
            "User unbanned",
        ]
        refused = first_reply(await _press(gateway_standin, card, MEMBER_ID))
        assert "moderator roles" in refused["content"] and "embeds" not in refused


async def _cards(bot, standin: DiscordStandIn) -> list:
    await post_cards(bot)
    return card_messages(standin)


async def _press(standin: DiscordStandIn, card, who: int):
    exchange = await click(standin, component_id(card, "History"), card, who=who)
    await exchange.wait_for(lambda ex: ex.callback is not None, timeout=10, what="an answer")
    return exchange


async def test_a_closed_card_keeps_its_history_button_for_moderators(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    group_id, carol = seeded_sim.group.id, seeded_sim.requester.id
    async with make_bot() as bot:
        await _cards(bot, gateway_standin)
        # Alice rejects in VRChat; the next round closes the card.
        seeded_sim.sim.state.respond_request(group_id, carol, seeded_sim.moderator.id, "reject")
        (card,) = await _cards(bot, gateway_standin)
        assert "Rejected" in str(card.embeds)
        assert [c["custom_id"] for c in components(card)] == [f"gb:uh:{group_id}:{carol}"]
        opened = first_reply(await _press(gateway_standin, card, MOD_ID))
        assert "History in Test Group" in opened["embeds"][0]["title"]
        refused = first_reply(await _press(gateway_standin, card, MEMBER_ID))
        assert "moderator roles" in refused["content"] and "embeds" not in refused
        await _cards(bot, gateway_standin)  # another round leaves the closed card as it is
    (again,) = [m for m in card_messages(gateway_standin) if m.id == card.id]  # replies are messages too
    assert again.embeds == card.embeds and components(again) == components(card)
