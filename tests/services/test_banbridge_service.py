"""BanBridgeService on the VRChat simulator and a real SQLite file: which bans become prompts, who may
decide them, the VRChat ban as the deciding moderator, the automatic mode, refusals that change nothing."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.banbridge.config_settings import apply_config_settings
from bot.banbridge.service import (
    BanBridgeService,
    PromptClosed,
    closed_text,
    was_already_banned,
    was_automatic,
    was_credited,
)
from bot.config import Config
from bot.sandbox.vrchat.faults import Fault
from bot.services.common import ActionLog, Actor, NotFoundError
from bot.services.registry import PermissionDenied, ServiceError, Services
from bot.store import BanPrompt, Store
from bot.vrchat import VRChatClient
from tests.fixtures.vrchat_sim import SeededSim
from tests.services.conftest import (
    ADA,
    EVE,
    GUILD,
    MAYA,
    OTHER_GUILD,
    REQUESTS,
    SAM,
    USER_AGENT,
    actions,
    writes,
)
from tests.store.helpers import link_directly

LINKED = 3_000_000_000_000_000_001
UNLINKED = 3_000_000_000_000_000_002
BOT = Actor(
    user_id=99,
    name="GroupBridge",
    guild_id=GUILD,
    role_ids=frozenset(),
    manage_guild=False,
)


@pytest.fixture
def banbridge(vrc: VRChatClient, bound: Store, services: Services) -> BanBridgeService:
    return BanBridgeService(vrc, bound, services.access, ActionLog(bound))


async def banned_linked(banbridge: BanBridgeService, store: Store, seeded: SeededSim) -> BanPrompt:
    await link_directly(store, LINKED, seeded.member.id)
    (prompt,) = await banbridge.on_ban(GUILD, LINKED)
    return prompt


def status(seeded: SeededSim, user_id: str) -> str | None:
    membership = seeded.sim.state.membership(seeded.group.id, user_id)
    return membership.status if membership is not None else None


async def test_only_a_linked_member_banned_in_a_bound_server_is_prompted_once(
    banbridge: BanBridgeService, bound: Store, seeded_sim: SeededSim
) -> None:
    assert await banbridge.on_ban(GUILD, UNLINKED) == []
    await link_directly(bound, LINKED, seeded_sim.member.id)
    assert await banbridge.on_ban(OTHER_GUILD, LINKED) == []  # no binding there
    (prompt,) = await banbridge.on_ban(GUILD, LINKED)
    assert (prompt.state, prompt.channel_id, prompt.vrchat_user_id) == (
        "open",
        REQUESTS,
        seeded_sim.member.id,
    )
    assert await banbridge.on_ban(GUILD, LINKED) == []  # the same ban again
    assert writes(seeded_sim) == []  # nothing asked of VRChat


async def test_confirm_bans_as_the_moderator_and_logs_it(
    banbridge: BanBridgeService, bound: Store, seeded_sim: SeededSim
) -> None:
    prompt = await banned_linked(banbridge, bound, seeded_sim)
    decision = await banbridge.confirm(MAYA, prompt.id, prompt.round)
    assert (decision.prompt.state, decision.prompt.handled_by_name, decision.already) == (
        "banned",
        "maya",
        False,
    )
    assert status(seeded_sim, seeded_sim.member.id) == "banned"
    (ban,) = await actions(bound, action="member.ban")
    assert (ban.discord_user_id, ban.target_id, ban.outcome) == (MAYA.user_id, seeded_sim.member.id, "ok")
    with pytest.raises(PromptClosed, match="Already banned in VRChat \\(by maya\\)"):
        await banbridge.dismiss(SAM, prompt.id, prompt.round)


async def test_a_closed_prompts_text_shows_the_deciders_name_inert(
    banbridge: BanBridgeService, bound: Store, seeded_sim: SeededSim
) -> None:
    prompt = await banned_linked(banbridge, bound, seeded_sim)
    text = closed_text(replace(prompt, state="dismissed", handled_by_name="**maya** [x](https://e.example)"))
    assert "**maya**" not in text and "\\*\\*maya\\*\\*" in text


async def test_refusals_change_nothing(
    banbridge: BanBridgeService, bound: Store, seeded_sim: SeededSim
) -> None:
    prompt = await banned_linked(banbridge, bound, seeded_sim)
    with pytest.raises(PermissionDenied):
        await banbridge.confirm(EVE, prompt.id, prompt.round)
    elsewhere = Actor(user_id=5, name="x", guild_id=OTHER_GUILD, role_ids=frozenset(), manage_guild=True)
    with pytest.raises(NotFoundError):
        await banbridge.confirm(elsewhere, prompt.id, prompt.round)
    with pytest.raises(NotFoundError):
        await banbridge.dismiss(MAYA, prompt.id + 1, 1)
    with pytest.raises(PromptClosed, match="out of date"):
        await banbridge.confirm(MAYA, prompt.id, prompt.round + 1)
    assert writes(seeded_sim) == []
    assert (await bound.ban_prompt(prompt.id)).state == "open"  # type: ignore[union-attr]
    assert await actions(bound) == []


async def test_a_vrchat_refusal_reopens_the_prompt(
    banbridge: BanBridgeService, bound: Store, seeded_sim: SeededSim
) -> None:
    prompt = await banned_linked(banbridge, bound, seeded_sim)
    seeded_sim.sim.faults.add(Fault(method="POST", path=r"^/groups/[^/]+/bans$", status=403, times=1))
    with pytest.raises(ServiceError, match="group-bans-manage"):
        await banbridge.confirm(ADA, prompt.id, prompt.round)
    assert (await bound.ban_prompt(prompt.id)).state == "open"  # type: ignore[union-attr]
    (failed,) = await actions(bound, action="member.ban")
    assert failed.outcome == "error"
    decision = await banbridge.confirm(SAM, prompt.id, prompt.round)  # the fault was used up
    assert decision.prompt.state == "banned"


async def test_already_banned_in_vrchat_counts_as_done(
    banbridge: BanBridgeService, bound: Store, seeded_sim: SeededSim
) -> None:
    prompt = await banned_linked(banbridge, bound, seeded_sim)
    seeded_sim.sim.state.ban(seeded_sim.group.id, seeded_sim.member.id, seeded_sim.moderator.id)
    decision = await banbridge.confirm(MAYA, prompt.id, prompt.round)
    assert decision.already and was_already_banned(decision.prompt)


async def automatic_prompt(banbridge: BanBridgeService, bound: Store, seeded_sim: SeededSim) -> BanPrompt:
    """The binding bans automatically, and its linked member was banned in Discord."""
    (binding,) = await bound.list_bindings(guild_id=GUILD)
    await bound.set_ban_setting(binding.id, "ban", None, by=ADA.user_id)
    return await banned_linked(banbridge, bound, seeded_sim)


async def test_automatic_mode_bans_as_the_bot(
    banbridge: BanBridgeService, bound: Store, seeded_sim: SeededSim
) -> None:
    prompt = await automatic_prompt(banbridge, bound, seeded_sim)
    assert prompt.state == "auto"
    done = await banbridge.ban_automatically(prompt, BOT, credited=False)
    assert was_automatic(done) and status(seeded_sim, seeded_sim.member.id) == "banned"
    assert not was_credited(done)
    (ban,) = await actions(bound, action="member.ban")
    assert (ban.discord_user_id, ban.discord_user_name) == (
        BOT.user_id,
        "GroupBridge (automatic: Discord ban)",
    )
    assert await banbridge.ban_automatically(done, BOT, credited=False) == done  # once


async def test_an_automatic_ban_credited_to_the_discord_moderator_names_them_but_needs_no_role(
    banbridge: BanBridgeService, bound: Store, seeded_sim: SeededSim
) -> None:
    prompt = await automatic_prompt(banbridge, bound, seeded_sim)
    stranger = Actor(user_id=77, name="Rin", guild_id=GUILD, role_ids=frozenset(), manage_guild=False)
    done = await banbridge.ban_automatically(prompt, stranger, credited=True)  # the admin's mode decides
    assert was_credited(done) and (done.handled_by_discord_id, done.handled_by_name) == (77, "Rin")
    (ban,) = await actions(bound, action="member.ban")
    assert (ban.discord_user_id, ban.discord_user_name) == (77, "Rin (automatic: Discord ban)")


async def test_an_automatic_ban_lifted_before_it_was_made_bans_nothing(
    banbridge: BanBridgeService, bound: Store, seeded_sim: SeededSim
) -> None:
    prompt = await automatic_prompt(banbridge, bound, seeded_sim)
    await banbridge.on_unban(GUILD, LINKED)  # while the cog waited for the audit entry
    done = await banbridge.ban_automatically(prompt, BOT, credited=False)
    assert done.state == "lifted" and writes(seeded_sim) == []


async def test_a_failed_automatic_ban_becomes_a_prompt(
    banbridge: BanBridgeService, bound: Store, seeded_sim: SeededSim
) -> None:
    prompt = await automatic_prompt(banbridge, bound, seeded_sim)
    seeded_sim.sim.faults.add(Fault(method="POST", path=r"^/groups/[^/]+/bans$", status=403, times=1))
    reopened = await banbridge.ban_automatically(prompt, BOT, credited=False)
    assert reopened.state == "open" and "The automatic ban failed" in (reopened.note or "")


async def test_off_and_the_setting_are_for_admins(
    banbridge: BanBridgeService, bound: Store, seeded_sim: SeededSim
) -> None:
    with pytest.raises(PermissionDenied, match="Manage Server"):
        await banbridge.configure(MAYA, GUILD, None, "off", None)
    view = await banbridge.configure(ADA, GUILD, None, "off", None)
    assert (view.setting.discord_ban, view.channel_id) == ("off", REQUESTS)
    await link_directly(bound, LINKED, seeded_sim.member.id)
    assert await banbridge.on_ban(GUILD, LINKED) == []
    view = await banbridge.configure(ADA, GUILD, None, None, 123)
    assert (view.setting.discord_ban, view.channel_id) == ("off", 123)


async def test_an_unban_lifts_the_prompt(
    banbridge: BanBridgeService, bound: Store, seeded_sim: SeededSim
) -> None:
    prompt = await banned_linked(banbridge, bound, seeded_sim)
    await banbridge.posted(prompt, 777)
    (lifted,) = await banbridge.on_unban(GUILD, LINKED)
    assert lifted.id == prompt.id
    with pytest.raises(PromptClosed, match="lifted"):
        await banbridge.confirm(MAYA, prompt.id, prompt.round)
    (again,) = await banbridge.on_ban(GUILD, LINKED)
    assert again.round == prompt.round + 1


async def test_kicks_prompt_only_where_the_binding_asks_and_never_ban_by_themselves(
    banbridge: BanBridgeService, bound: Store, seeded_sim: SeededSim
) -> None:
    await link_directly(bound, LINKED, seeded_sim.member.id)
    assert await banbridge.on_kick(GUILD, LINKED, 111) == []  # kicks are off by default
    await banbridge.configure(ADA, GUILD, None, "ban", None, kick="prompt")
    (prompt,) = await banbridge.on_kick(GUILD, LINKED, 111)
    assert (prompt.state, prompt.kicked) == ("open", True)  # "ban" is for bans; a kick asks
    assert await banbridge.on_kick(GUILD, LINKED, 111) == []
    with pytest.raises(ServiceError, match="kick setting must be one of off, prompt"):
        await banbridge.configure(ADA, GUILD, None, None, None, kick="ban")
    assert writes(seeded_sim) == []


async def test_config_bindings_set_what_they_declare_at_start(bound: Store, seeded_sim: SeededSim) -> None:
    (binding,) = await bound.list_bindings(guild_id=GUILD)
    await bound.set_ban_setting(binding.id, "off", 555, by=ADA.user_id, discord_kick="prompt")
    declared = {
        "group_id": seeded_sim.group.id,
        "guild_id": GUILD,
        "feed_channel_id": binding.feed_channel_id,
    }
    config = Config.model_validate(
        {
            "vrchat": {"user_agent": USER_AGENT},
            "discord": {},
            "groups": [{"id": seeded_sim.group.id}],
            "bindings": [{**declared, "discord_ban": "ban"}],
        }
    )
    assert await apply_config_settings(bound, config) == {GUILD}  # what bans do changed there
    setting = await bound.ban_setting(binding.id)
    assert (setting.discord_ban, setting.discord_kick, setting.prompt_channel_id) == ("ban", "prompt", 555)
    assert await apply_config_settings(bound, config) == set()  # the next start: nothing changes
    with pytest.raises(ValueError, match="discord_ban"):
        Config.model_validate({**config.model_dump(), "bindings": [{**declared, "discord_ban": "maybe"}]})
