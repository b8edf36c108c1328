"""Retention of the bot's own records, on SQLite and PostgreSQL: action-log records go once old,
except what the poller may still credit entries with and each server's newest link of a group;
decided ban prompts whose card shows it and resolved alerts whose message is up to date go; open,
automatic and in-flight prompts, unresolved, unposted and out-of-date alerts stay, whatever their age."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Literal

import pytest

import bot.store._base
from bot.store import ActionIn, BanPrompt, CursorUpdate, Store
from tests.store.helpers import GROUP, GUILD, OTHER_GROUP, T0, binding, count_rows, entry
from tests.store.test_ban_prompts_store import ANNA, BEN, open_prompt
from tests.store.test_moderator_alerts_store import episode

UNPOLLED_GROUP = "grp_00000000-0000-0000-0000-000000000003"
MARGIN = timedelta(days=1)
LINK = "binding.link"


def at(store: Store, when: object) -> None:
    store._clock = lambda: when  # type: ignore[assignment,return-value]


async def act(store: Store, action: str, group_id: str | None = GROUP, guild_id: int | None = GUILD) -> int:
    record = await store.record_action(
        ActionIn(
            guild_id=guild_id, discord_user_id=5, discord_user_name="ada", group_id=group_id, action=action
        )
    )
    return record.id


async def actions(store: Store) -> set[str]:
    return {a.action for a in await store.list_actions(limit=1000)}


async def test_old_actions_go_but_not_what_an_entry_may_still_be_credited_with(store: Store) -> None:
    # GROUP's poller has read up to T0 + 30 days; OTHER_GROUP's only up to T0 + 12 hours.
    await store.ingest(GROUP, [entry(0)], cursor_update=CursorUpdate("gaud_a", T0 + timedelta(days=30)))
    await store.ingest(
        OTHER_GROUP, [entry(1)], cursor_update=CursorUpdate("gaud_b", T0 + timedelta(hours=12))
    )
    at(store, T0)
    await act(store, "member.kick")  # old, long read past: goes
    await act(store, "link", group_id=None, guild_id=None)  # about no group: age alone decides
    await act(store, "member.ban", group_id=OTHER_GROUP)  # within a day of what its poller read: stays
    await act(store, "member.ban", group_id=UNPOLLED_GROUP)  # never polled: its backfill may credit it
    await act(store, LINK)  # superseded by the link below: goes
    newest_link = await act(store, LINK)
    await act(store, LINK, group_id=OTHER_GROUP)
    await act(store, LINK, guild_id=GUILD + 1)  # another server's link of GROUP: its newest too
    at(store, T0 + timedelta(days=20))
    await act(store, "request.accept")  # recent

    before = T0 + timedelta(days=10)
    assert await store.purge_actions(before, credit_margin=MARGIN, keep_latest=(LINK,)) == 3
    left = await store.list_actions(limit=1000)
    assert sorted((a.action, a.group_id) for a in left) == sorted(
        [
            ("member.ban", OTHER_GROUP),
            ("member.ban", UNPOLLED_GROUP),
            (LINK, GROUP),
            (LINK, OTHER_GROUP),
            (LINK, GROUP),
            ("request.accept", GROUP),
        ]
    )
    assert newest_link in {a.id for a in left}
    # Its poller read on: OTHER_GROUP's ban is now past the margin.
    await store.ingest(OTHER_GROUP, [entry(2)], cursor_update=CursorUpdate("gaud_c", T0 + timedelta(days=3)))
    assert await store.purge_actions(before, credit_margin=MARGIN, keep_latest=(LINK,)) == 1
    assert await store.purge_actions(before, credit_margin=MARGIN, keep_latest=(LINK,)) == 0


async def test_each_kept_action_keeps_its_own_newest_record(store: Store) -> None:
    await store.ingest(GROUP, [entry(0)], cursor_update=CursorUpdate("gaud_a", T0 + timedelta(days=30)))
    at(store, T0)
    link = await act(store, LINK)
    rules = await act(store, "binding.rules")  # newer than the link, but another action
    await act(store, "binding.rules")  # ...whose newest is this one
    kept = await act(store, "binding.rules")
    assert (
        await store.purge_actions(
            T0 + timedelta(days=10), credit_margin=MARGIN, keep_latest=(LINK, "binding.rules")
        )
        == 2
    )
    assert {a.id for a in await store.list_actions(limit=1000)} == {link, kept}
    assert rules not in {a.id for a in await store.list_actions(limit=1000)}


async def test_a_purge_larger_than_a_batch_goes_batch_by_batch(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.store._base, "IN_CHUNK", 4)
    await store.ingest(GROUP, [entry(0)], cursor_update=CursorUpdate("gaud_a", T0 + timedelta(days=30)))
    at(store, T0)
    for _ in range(9):
        await act(store, "member.kick")
    await act(store, "member.ban", group_id=UNPOLLED_GROUP)
    assert await store.purge_actions(T0 + timedelta(days=1), credit_margin=MARGIN) == 9
    assert await actions(store) == {"member.ban"}


async def prompted(
    store: Store, binding_id: int, who: int, state: Literal["auto", "open"] = "open"
) -> BanPrompt:
    prompt = await open_prompt(store, binding_id, who, state)
    assert prompt is not None
    return prompt


async def test_only_decided_prompts_whose_card_shows_it_go(store: Store) -> None:
    at(store, T0)
    b = await store.add_binding(binding(1))
    people = [1_000_000_000_000_000_100 + n for n in range(4)]
    open_, auto = await prompted(store, b.id, ANNA), await prompted(store, b.id, BEN, "auto")
    banning, banned, unposted, lifted = [await prompted(store, b.id, who) for who in people]
    for prompt in (open_, auto, banning, banned):
        assert await store.set_ban_prompt_message(prompt.id, prompt.round, 42)
    assert await store.move_ban_prompt(banning.id, 1, from_states=("open",), to="banning", by_discord_id=5)
    assert await store.move_ban_prompt(banned.id, 1, from_states=("open",), to="banned")
    assert await store.move_ban_prompt(unposted.id, 1, from_states=("open",), to="dismissed")
    await store.lift_ban_prompts(GUILD, lifted.discord_user_id)  # never posted, and never will be

    assert await store.purge_decided_ban_prompts(T0) == 0  # not older than the cutoff
    assert await store.purge_decided_ban_prompts(T0 + timedelta(days=1)) == 2
    kept = [open_, auto, banning, unposted]
    assert await count_rows(store, "ban_prompts") == len(kept)
    assert [await store.ban_prompt(p.id) is not None for p in kept] == [True] * len(kept)
    # The same member banned again is prompted anew.
    again = await prompted(store, b.id, lifted.discord_user_id)
    assert (again.round, again.state) == (1, "open")


async def test_only_resolved_alerts_shown_as_they_are_go(store: Store) -> None:
    at(store, T0 + timedelta(hours=1))
    b = await store.add_binding(binding(1))
    kinds = ("unresolved", "up_to_date", "behind", "unposted", "given_up")
    written = [dataclasses.replace(episode(b.id), actor_key=f"vrchat:usr_{kind}") for kind in kinds]
    ids = dict(zip(kinds, await store.record_episodes(written), strict=True))
    for kind in ("unresolved", "up_to_date", "behind"):
        assert await store.claim_alert(ids[kind], f"nonce-{kind}")
        await store.mark_alert_sent(ids[kind], 42)
    await store.record_episodes([dataclasses.replace(written[2], new=False)])  # grew since posted
    await store.mark_alert_failed(ids["given_up"], "no access", give_up=True)
    for kind in kinds[1:]:
        assert await store.resolve_alert(ids[kind], "dismissed", by=5)

    assert await store.purge_resolved_alerts(T0 + timedelta(hours=1)) == 0  # resolved at the cutoff
    assert await store.purge_resolved_alerts(T0 + timedelta(days=1)) == 2
    left = {kind for kind, alert_id in ids.items() if await store.get_alert(alert_id) is not None}
    assert left == {"unresolved", "behind", "unposted"}
