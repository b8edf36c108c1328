"""Ban prompts and ban settings on SQLite and PostgreSQL: one prompt per ban, first decision wins, a lifted
ban starts the row over in a new round, and a binding's removal takes its prompts and setting along."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Literal

import pytest

from bot.store import BanPrompt, Store
from tests.store.helpers import GROUP, GUILD, T0, binding, count_rows

ANNA, BEN = 1_000_000_000_000_000_001, 1_000_000_000_000_000_002
VR_A = "usr_00000000-0000-4000-8000-00000000000a"
CHANNEL = 222_222_222_222_222_222


async def open_prompt(
    store: Store, binding_id: int, who: int = ANNA, state: Literal["auto", "open"] = "open"
) -> BanPrompt | None:
    return await store.open_ban_prompt(
        binding_id=binding_id,
        guild_id=GUILD,
        group_id=GROUP,
        discord_user_id=who,
        vrchat_user_id=VR_A,
        channel_id=CHANNEL,
        state=state,
    )


async def test_a_ban_is_prompted_once(store: Store) -> None:
    b = await store.add_binding(binding(1))
    first = await open_prompt(store, b.id)
    assert first is not None and (first.state, first.round, first.message_id) == ("open", 1, None)
    assert await open_prompt(store, b.id) is None  # the same ban seen again
    assert await store.unposted_ban_prompts() == [first]
    assert await store.set_ban_prompt_message(first.id, first.round, 42)
    assert await store.unposted_ban_prompts() == []
    assert (await store.ban_prompt(first.id)).message_id == 42  # type: ignore[union-attr]


async def test_the_first_decision_wins(store: Store) -> None:
    b = await store.add_binding(binding(1))
    prompt = await open_prompt(store, b.id)
    assert prompt is not None

    async def claim(who: int) -> bool:
        return await store.move_ban_prompt(
            prompt.id, prompt.round, from_states=("open",), to="banning", by_discord_id=who, by_name=str(who)
        )

    results = await asyncio.gather(claim(ANNA), claim(BEN))
    assert sorted(results) == [False, True]
    stored = await store.ban_prompt(prompt.id)
    assert stored is not None and stored.state == "banning"
    winner = ANNA if results[0] else BEN
    assert stored.handled_by_discord_id == winner
    assert not await store.move_ban_prompt(prompt.id, prompt.round, from_states=("open",), to="dismissed")
    assert not await store.move_ban_prompt(prompt.id, prompt.round + 1, from_states=("banning",), to="banned")


async def test_a_stale_claim_can_be_taken_over(store: Store) -> None:
    b = await store.add_binding(binding(1))
    prompt = await open_prompt(store, b.id)
    assert prompt is not None
    assert await store.move_ban_prompt(
        prompt.id, 1, from_states=("open",), to="banning", by_discord_id=ANNA, by_name="anna"
    )
    later = (await store.ban_prompt(prompt.id)).handled_at  # type: ignore[union-attr]
    assert later is not None
    assert not await store.move_ban_prompt(
        prompt.id, 1, from_states=("open",), to="banning", by_discord_id=BEN, stale_before=later
    )
    assert await store.move_ban_prompt(
        prompt.id,
        1,
        from_states=("open",),
        to="banning",
        by_discord_id=BEN,
        by_name="ben",
        stale_before=later + timedelta(seconds=1),
    )
    assert (await store.ban_prompt(prompt.id)).handled_by_discord_id == BEN  # type: ignore[union-attr]


async def test_a_lifted_ban_starts_the_row_over_in_a_new_round(store: Store) -> None:
    b = await store.add_binding(binding(1))
    first = await open_prompt(store, b.id)
    assert first is not None
    await store.set_ban_prompt_message(first.id, 1, 42)
    assert await store.move_ban_prompt(first.id, 1, from_states=("open",), to="dismissed", by_discord_id=BEN)
    lifted = await store.lift_ban_prompts(GUILD, ANNA)
    assert [(p.id, p.state) for p in lifted] == [(first.id, "dismissed")]
    assert await store.lift_ban_prompts(GUILD, ANNA) == []
    again = await open_prompt(store, b.id, state="auto")
    assert again is not None and again.id == first.id
    assert (again.round, again.state, again.message_id, again.handled_by_discord_id) == (
        2,
        "auto",
        None,
        None,
    )
    assert await count_rows(store, "ban_prompts") == 1


async def test_settings_default_to_prompt_and_go_with_their_binding(store: Store) -> None:
    b = await store.add_binding(binding(1))
    default = await store.ban_setting(b.id)
    assert (default.discord_ban, default.prompt_channel_id) == ("prompt", None)
    await store.set_ban_setting(b.id, "ban", CHANNEL, by=ANNA)
    await store.set_ban_setting(b.id, "off", None, by=BEN)
    changed = await store.ban_setting(b.id)
    assert (changed.discord_ban, changed.prompt_channel_id) == ("off", None)
    with pytest.raises(ValueError, match="discord_ban"):
        await store.set_ban_setting(b.id, "maybe", None, by=ANNA)  # type: ignore[arg-type]
    await open_prompt(store, b.id)
    await store.remove_binding(b.id)
    assert await count_rows(store, "ban_prompts") == 0
    assert await count_rows(store, "ban_settings") == 0


async def test_times_are_the_stores_clock(store: Store) -> None:
    b = await store.add_binding(binding(1))
    prompt = await open_prompt(store, b.id)
    assert prompt is not None and prompt.created_at.tzinfo is not None
    assert prompt.created_at > T0


async def test_each_kick_is_its_own_event_and_a_ban_after_a_dismissed_kick_prompts(store: Store) -> None:
    b = await store.add_binding(binding(1))

    async def kicked(entry: int, state: Literal["auto", "open"] = "open") -> BanPrompt | None:
        return await store.open_ban_prompt(
            binding_id=b.id,
            guild_id=GUILD,
            group_id=GROUP,
            discord_user_id=ANNA,
            vrchat_user_id=VR_A,
            channel_id=CHANNEL,
            state=state,
            trigger=f"kick:{entry}",
        )

    first = await kicked(1)
    assert first is not None and first.kicked and first.trigger == "kick:1"
    assert await kicked(1) is None  # the same audit entry again
    assert await kicked(2) is None  # still waiting for a decision: one card at a time
    assert await store.move_ban_prompt(first.id, 1, from_states=("open",), to="dismissed", by_discord_id=BEN)
    assert await kicked(1) is None  # a replay of the dismissed kick
    second = await kicked(2)  # kicked again after rejoining
    assert second is not None and (second.round, second.trigger) == (2, "kick:2")
    assert await store.move_ban_prompt(second.id, 2, from_states=("open",), to="dismissed", by_discord_id=BEN)
    banned = await open_prompt(store, b.id)  # then banned: a ban is more than the kick they dismissed
    assert banned is not None and (banned.round, banned.trigger, banned.kicked) == (3, "ban", False)


async def test_kick_setting_defaults_to_off_and_is_kept_apart(store: Store) -> None:
    b = await store.add_binding(binding(1))
    assert (await store.ban_setting(b.id)).discord_kick == "off"
    await store.set_ban_setting(b.id, "ban", None, by=ANNA, discord_kick="prompt")
    setting = await store.ban_setting(b.id)
    assert (setting.discord_ban, setting.discord_kick) == ("ban", "prompt")
    with pytest.raises(ValueError, match="discord_kick"):
        await store.set_ban_setting(b.id, "ban", None, by=ANNA, discord_kick="ban")  # type: ignore[arg-type]


async def test_the_audit_mark_moves_forward_only(store: Store) -> None:
    assert await store.audit_mark(7) is None
    await store.move_audit_mark(7, 100)
    await store.move_audit_mark(7, 90)  # a slower caller with an older entry
    assert await store.audit_mark(7) == 100
    await store.move_audit_mark(7, 120)
    assert (await store.audit_mark(7), await store.audit_mark(8)) == (120, None)
