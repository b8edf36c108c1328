"""More of the bot through the real gateway and REST: confirmations, posts, audit search, linking,
and the error funnel. Every message the bot sends is checked by the stand-in (mentions disabled)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from bot.bot import GroupBridgeBot
from bot.sandbox.discord import DiscordStandIn, InteractionExchange
from bot.sandbox.vrchat.faults import Fault
from bot.store import AuditEntryIn, BindingIn, Store
from bot.store.query import CSV_FIELDS
from bot.views.confirm import Confirm
from bot.views.errors import UNEXPECTED
from tests.discord.conftest import (
    CLOSED_CARD,
    HELPER_ROLE_ID,
    OTHER_FEED_ID,
    card_messages,
    click,
    command,
    component_id,
    components,
    first_reply,
    is_ephemeral,
    labels,
    link,
    posted_card,
)
from tests.fixtures.discord_gateway import GUILD_ID, MEMBER_ID, MOD_ID
from tests.fixtures.vrchat_sim import SeededSim

pytestmark = pytest.mark.usefixtures("every_message_without_mentions")


def no_leaks(text: str) -> None:
    for needle in ("Traceback", "RuntimeError", "boom", "secret-ish", 'File "'):
        assert needle not in text, text


# ------------------------------------------------------------------ Reject & Block


async def ask_to_block(bot: GroupBridgeBot, standin: DiscordStandIn) -> InteractionExchange:
    """A moderator's click on Reject & Block on Carol's card, which asks before it acts."""
    card = await posted_card(bot, standin)
    return await click(standin, component_id(card, "Reject & Block"), card)


async def test_reject_and_block_asks_first_cancel_changes_nothing(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    async with make_bot() as bot:
        asked = await ask_to_block(bot, gateway_standin)
        prompt = (await asked.wait(timeout=10)).message
        assert prompt is not None and prompt.ephemeral and "block" in prompt.content.lower()
        assert [c["label"] for c in components(prompt)] == ["Reject & Block", "Cancel"]
        cancel = await click(gateway_standin, component_id(prompt, "Cancel"), prompt)
        await cancel.wait_for_edit(1, timeout=10)
    assert "Nothing was changed" in cancel.edits[-1].body["content"]
    assert seeded_sim.sim.requests_to("PUT", r"/requests/usr_") == []
    assert seeded_sim.sim.state.membership(seeded_sim.group.id, seeded_sim.requester.id).status == "requested"
    assert (
        len(components(card_messages(gateway_standin)[0])) == 4
    )  # the card still has its buttons (+ History)


async def test_reject_and_block_confirmed_blocks_and_closes_the_card(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    group_id, carol = seeded_sim.group.id, seeded_sim.requester.id
    async with make_bot() as bot:
        asked = await ask_to_block(bot, gateway_standin)
        prompt = (await asked.wait(timeout=10)).message
        assert seeded_sim.sim.requests_to("PUT", r"/requests/usr_") == []  # nothing before Confirm
        confirmed = await click(gateway_standin, component_id(prompt, "Reject & Block"), prompt)
        done = await confirmed.wait_for_followup(1, timeout=10)
        blocked = await bot.vrchat.list_join_requests(group_id, blocked=True)
        pending = await bot.vrchat.list_join_requests(group_id)
    assert is_ephemeral(done.body) and done.body["content"].startswith("Done: Carol was blocked")
    assert [r.user_id for r in blocked] == [carol] and pending == []
    assert len(seeded_sim.sim.requests_to("PUT", r"/requests/usr_")) == 1
    (closed,) = card_messages(gateway_standin)
    assert labels(closed) == CLOSED_CARD
    assert "Blocked" in str(closed.embeds) and "via Discord" in str(closed.embeds)


async def test_block_confirmed_after_vrchat_handled_it_closes_the_card_with_the_real_outcome(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    async with make_bot() as bot:
        asked = await ask_to_block(bot, gateway_standin)
        prompt = (await asked.wait(timeout=10)).message
        # Meanwhile Alice rejects it in VRChat itself; the card poller has not run yet.
        seeded_sim.sim.state.respond_request(
            seeded_sim.group.id, seeded_sim.requester.id, seeded_sim.moderator.id, "reject"
        )
        confirmed = await click(gateway_standin, component_id(prompt, "Reject & Block"), prompt)
        answer = await confirmed.wait_for_followup(1, timeout=10)
    assert answer.body["content"].startswith("Already rejected by Alice")
    assert seeded_sim.sim.state.membership(seeded_sim.group.id, seeded_sim.requester.id) is None
    (closed,) = card_messages(gateway_standin)
    assert labels(closed) == CLOSED_CARD  # the card, not the prompt, shows how it ended
    assert "Rejected" in str(closed.embeds) and "Alice" in str(closed.embeds)


async def test_an_unanswered_confirmation_expires_and_says_so(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(Confirm.__init__.__kwdefaults__, "timeout", 0.2)
    async with make_bot() as bot:
        asked = await ask_to_block(bot, gateway_standin)
        await asked.wait_for_edit(1, timeout=10)  # nobody answers: the prompt is replaced
    expired = asked.edits[-1]
    assert "No answer in time" in expired.body["content"] and expired.body["components"] == []
    assert seeded_sim.sim.requests_to("PUT", r"/requests/usr_") == []
    assert len(components(card_messages(gateway_standin)[0])) == 4  # 3 + History (bot.desk)


# ------------------------------------------------------------------ posts


async def test_posts_lists_and_deletes_after_confirmation(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    post_id = seeded_sim.post.id
    async with make_bot() as bot:
        listed = await command(gateway_standin, "vrc", "posts", {})
        listing = listed.followups[0]
        assert is_ephemeral(listing.body) and "Welcome" in str(listing.body["embeds"])
        (select,) = components(listing.message)
        assert [o["value"] for o in select["options"]] == [post_id]
        picked = await click(gateway_standin, select["custom_id"], listing.message, values=[post_id])
        prompt = (await picked.wait(timeout=10)).message
        assert prompt is not None and prompt.ephemeral and post_id in prompt.content
        assert seeded_sim.sim.requests_to("DELETE", r"/posts/") == []  # nothing before Delete
        confirmed = await click(gateway_standin, component_id(prompt, "Delete"), prompt)
        await confirmed.wait_for_edit(1, timeout=10)
        actions = await bot.store.list_actions(group_id=seeded_sim.group.id)
    assert f"Deleted post {post_id}" in confirmed.edits[-1].body["content"]
    assert len(seeded_sim.sim.requests_to("DELETE", rf"/posts/{post_id}$")) == 1
    assert [(a.action, a.target_id, a.discord_user_id, a.outcome) for a in actions] == [
        ("post.delete", post_id, MOD_ID, "ok")
    ]


async def test_posts_offers_only_real_post_ids_for_delete(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    """VRChat's JSON may call anything an ID: one over Discord's 100 characters for a select value
    made the whole listing fail (found by tests/hostile/test_poison_cards.py)."""
    state, group = seeded_sim.sim.state, seeded_sim.group
    odd = state.add_post(group.id, seeded_sim.bot.id, "Odd one", "text")
    odd.unchecked_json = {"id": "not_" + "x" * 150}
    async with make_bot():
        listed = await command(gateway_standin, "vrc", "posts", {})
        listing = listed.followups[0]
        assert "Odd one" in str(listing.body["embeds"]) and "Welcome" in str(listing.body["embeds"])
        (select,) = components(listing.message)
        assert [o["value"] for o in select["options"]] == [seeded_sim.post.id]
        del state.groups[group.id].posts[seeded_sim.post.id]
        only_odd = (await command(gateway_standin, "vrc", "posts", {})).followups[0]
    assert "Odd one" in str(only_odd.body["embeds"]) and components(only_odd.message) == []


# ------------------------------------------------------------------ audit search


async def mirror_entries(store: Store, group_id: str, count: int) -> list[str]:
    """`count` mirrored entries, one a minute, newest last; returns their descriptions newest first."""
    start = datetime.now(UTC) - timedelta(hours=2)
    entries = [
        AuditEntryIn(
            id=f"gaud_test-{i:03d}",
            created_at=start + timedelta(minutes=i),
            event_type="group.user.ban" if i % 2 else "group.member.join",
            actor_id="usr_actor",
            actor_display_name="Alice",
            target_id=f"usr_target-{i}",
            description=f"Entry number {i:03d}",
            data={"n": i},
        )
        for i in range(count)
    ]
    await store.ingest(group_id, entries, enqueue=False)
    return [e.description for e in reversed(entries)]


def field_values(message: dict) -> list[str]:
    return [f["value"].split("\n")[0] for f in message["embeds"][0].get("fields", [])]


async def test_audit_search_pages_on(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    async with make_bot() as bot:
        newest_first = await mirror_entries(bot.store, seeded_sim.group.id, 13)
        searched = await command(gateway_standin, "audit", "search", {})
        page = searched.followups[0]
        assert is_ephemeral(page.body) and "page 1" in page.body["embeds"][0]["title"]
        assert field_values(page.body) == newest_first[:10]
        older = await click(gateway_standin, component_id(page.message, "Older ▸"), page.message)
        second = await older.wait(timeout=10)
    assert second.type == 7 and "page 2" in second.data["embeds"][0]["title"]
    assert field_values(second.data) == newest_first[10:]
    (button,) = components(second.message)
    assert button.get("disabled") is True  # nothing older


async def test_audit_search_as_csv(make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim) -> None:
    async with make_bot() as bot:
        newest_first = await mirror_entries(bot.store, seeded_sim.group.id, 3)
        exported = await command(
            gateway_standin, "audit", "search", {"csv": True, "event_type": "group.user"}
        )
    followup = exported.followups[0]
    assert is_ephemeral(followup.body)
    (attachment,) = followup.message.attachments
    assert attachment.filename.endswith(".csv")
    rows = list(csv.reader(io.StringIO(attachment.data.decode("utf-8"))))
    assert tuple(rows[0]) == CSV_FIELDS
    ban_rows = [d for d in newest_first if int(d[-3:]) % 2]
    assert [r[CSV_FIELDS.index("description")] for r in rows[1:]] == ban_rows


# ------------------------------------------------------------------ /bridge link


async def test_an_admin_links_an_allowed_group(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, other_feed
) -> None:
    async with make_bot() as bot:
        linked = first_reply(await link(gateway_standin, seeded_sim.group.id, other_feed))
        bindings = await bot.store.list_bindings(channel_id=OTHER_FEED_ID)
    assert is_ephemeral(linked) and linked["content"].startswith("Linked Test Group")
    assert f"<#{OTHER_FEED_ID}>" in linked["content"]
    assert [(b.group_id, b.guild_id) for b in bindings] == [(seeded_sim.group.id, GUILD_ID)]


async def test_a_moderator_without_manage_server_cannot_link(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, bot_store: Store, helper, other_feed
) -> None:
    (binding,) = await bot_store.list_bindings()
    await bot_store.remove_binding(binding.id)
    await bot_store.add_binding(
        BindingIn(
            binding.group_id,
            binding.guild_id,
            binding.feed_channel_id,
            binding.requests_channel_id,
            (*binding.moderator_role_ids, HELPER_ROLE_ID),
        )
    )
    async with make_bot() as bot:
        as_moderator = first_reply(await command(gateway_standin, "vrc", "requests", {}, who=helper))
        refused = first_reply(
            await link(gateway_standin, seeded_sim.group.id, other_feed, who=helper, force=True)
        )
        bindings = await bot.store.list_bindings(channel_id=OTHER_FEED_ID)
    assert "Carol" in str(as_moderator.get("embeds"))  # a moderator of the group indeed
    assert is_ephemeral(refused) and "Manage Server" in refused["content"]
    assert bindings == []


async def test_linking_a_group_not_in_the_config_is_refused(
    make_bot, gateway_standin: DiscordStandIn, other_feed
) -> None:
    stranger = "grp_00000000-0000-0000-0000-0000000000bb"
    async with make_bot() as bot:
        refused = first_reply(await link(gateway_standin, stranger, other_feed))
        bindings = await bot.store.list_bindings(group_id=stranger)
    assert is_ephemeral(refused) and "not one of the groups this bot may manage" in refused["content"]
    assert bindings == []


# ------------------------------------------------------------------ the error funnel


async def test_an_unexpected_error_is_logged_not_shown(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, other_feed, secret_log_capture
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom secret-ish")

    async with make_bot() as bot:
        bot.services.bindings.link = broken  # type: ignore[method-assign]
        exchange = await link(gateway_standin, seeded_sim.group.id, other_feed)
        message = first_reply(exchange)
    assert is_ephemeral(message) and message["content"] == UNEXPECTED
    for event in exchange.events:
        no_leaks(str(event.body))
    log = secret_log_capture.text()
    assert "Traceback" in log and "RuntimeError: boom secret-ish" in log
    assert "Unhandled error in interaction" in log and "bridge link" in log


async def test_a_vrchat_server_error_gets_its_own_message(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, other_feed
) -> None:
    async with make_bot() as bot:
        seeded_sim.sim.faults.add(Fault(method="GET", path=r"^/groups/grp_", status=500))
        message = first_reply(await link(gateway_standin, seeded_sim.group.id, other_feed))
        seeded_sim.sim.faults.clear()
        bindings = await bot.store.list_bindings(channel_id=OTHER_FEED_ID)
    assert is_ephemeral(message) and "VRChat" in message["content"]
    assert "refused" not in message["content"] and "try again" in message["content"]
    no_leaks(message["content"])
    assert bindings == []


async def test_a_plain_member_cannot_use_the_delete_list(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    async with make_bot():
        refused = first_reply(await command(gateway_standin, "vrc", "posts", {}, who=MEMBER_ID))
    assert is_ephemeral(refused) and "moderator" in refused["content"].lower()
    assert "Welcome" not in str(refused)
