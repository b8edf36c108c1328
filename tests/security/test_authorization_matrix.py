"""Every command and every component × {server admin, moderator of this binding, moderator of another
binding, plain member, a DM}: allowed exactly where it should be, and a refusal is an ephemeral
message that changes nothing in VRChat (the simulator saw no request at all) or in the database.

The commands and components come from what the running bot registered, so one added without an
entry in tests/security/matrix_cases.py fails here until someone decides who may use it.
"""

from __future__ import annotations

import importlib
import pkgutil
from datetime import UTC, datetime, timedelta
from typing import Any

import discord
import pytest
from discord import app_commands

import bot.banbridge
import bot.cogs
import bot.desk
import bot.instances
import bot.links
import bot.requests
import bot.roles
import bot.views
import bot.watchdog
from bot.bot import GroupBridgeBot
from bot.sandbox.discord import InteractionExchange, StandInMessage, button_click
from bot.store import AuditEntryIn, Store
from tests.discord.conftest import post_cards
from tests.fixtures.discord_gateway import GUILD_ID, REQUESTS_CHANNEL_ID
from tests.security.conftest import (
    GROUP_MOD_ID,
    ROLE_USER,
    ROLES,
    Role,
    World,
    answered,
    changed_tables,
    db_snapshot,
    dispatch_as,
    first_answer,
    reply_text,
    run_command,
)
from tests.security.matrix_cases import EXPECTED_COMMANDS, EXPECTED_ITEMS, CommandCase, is_refusal

pytestmark = pytest.mark.slow  # every command and button, as each kind of person, through the real bot

# ------------------------------------------------------------------ what the bot registered


def leaf_commands(client: GroupBridgeBot) -> dict[str, app_commands.Command[Any, ..., Any]]:
    return {c.qualified_name: c for c in client.tree.walk_commands() if isinstance(c, app_commands.Command)}


# Where the bot's Discord side lives (README, Architecture); views elsewhere (a demo) are not the bot's.
DISCORD_SIDE = (
    "bot.cogs.",
    "bot.roles.",
    "bot.views.",
    "bot.bot",
    "bot.links.",
    "bot.desk.",
    "bot.requests.",
    "bot.banbridge.",
    "bot.instances.",
    "bot.watchdog.",
)


def _subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def registered_items(client: GroupBridgeBot) -> set[str]:
    """Restart-safe items the bot dispatches by custom_id, and every button or select of the views the
    Discord side defines (they exist only once a reply carries them, so they are found by class)."""
    # discord.py has no public accessor for the dynamic items it routes clicks to.
    dynamic = client._connection._view_store._dynamic_items.values()
    keys = {item.__name__ for item in dynamic}
    for package in (
        bot.cogs,
        bot.roles,
        bot.views,
        bot.links,
        bot.desk,
        bot.requests,
        bot.banbridge,
        bot.instances,
        bot.watchdog,
    ):
        for module in pkgutil.iter_modules(package.__path__, f"{package.__name__}."):
            importlib.import_module(module.name)
    for view in _subclasses(discord.ui.View):
        if view.__module__.startswith(DISCORD_SIDE):
            keys |= {f"{view.__name__}.{name}" for name in view.__view_children_items__}
    return keys


async def test_every_registered_command_and_component_is_classified(make_security_bot) -> None:
    async with make_security_bot() as client:
        commands, items = set(leaf_commands(client)), registered_items(client)
    unclassified = sorted((commands - EXPECTED_COMMANDS.keys()) | (items - EXPECTED_ITEMS.keys()))
    assert not unclassified, f"classify these in tests/security/matrix_cases.py: {unclassified}"
    required = {name for name, case in EXPECTED_COMMANDS.items() if not case.optional}
    assert not required - commands, f"expected but not registered: {sorted(required - commands)}"
    assert not EXPECTED_ITEMS.keys() - items, f"gone: {sorted(EXPECTED_ITEMS.keys() - items)}"


async def test_discord_never_offers_the_commands_in_direct_messages(make_security_bot, world: World) -> None:
    async with make_security_bot():
        synced = world.standin.synced_commands(GUILD_ID)
    assert {c["name"] for c in synced} == {"vrc", "bridge", "audit", "rolesync", "link", "unlink", "whois"}
    for command in synced:
        assert command.get("dm_permission") is False or command.get("contexts") == [0], command


# ------------------------------------------------------------------ judging one cell


class Cell:
    """One person using one thing: snapshots before, problems found after."""

    def __init__(self, world: World, store: Store, role: Role, what: str) -> None:
        self.world, self.store, self.role, self.what = world, store, role, what
        self.problems: list[str] = []

    async def __aenter__(self) -> Cell:
        self.db = await db_snapshot(self.store)
        self.requests = len(self.world.seeded.sim.requests)
        return self

    async def __aexit__(self, *exc: object) -> None:
        pass

    def fail(self, why: str) -> None:
        self.problems.append(f"{self.what} × {self.role}: {why}")

    async def refused(self, exchange: InteractionExchange) -> None:
        """The person was told no, privately, and nothing happened anywhere."""
        callback = exchange.callback
        shown = [reply_text(first_answer(exchange))] + [reply_text(e.body) for e in exchange.edits]
        if not any(is_refusal(text) for text in shown):
            self.fail(f"expected a refusal, the bot answered {shown!r}")
        if callback is not None and callback.type in (4, 5) and not callback.data.get("flags", 0) & 64:
            self.fail("the refusal was not ephemeral")
        if (
            callback is not None
            and callback.type == 7
            and not (callback.message and callback.message.ephemeral)
        ):
            self.fail("the refusal updated a message everyone can see")
        sent = self.world.seeded.sim.requests[self.requests :]
        if sent:
            self.fail(f"VRChat was called: {[(r.method, r.path) for r in sent]}")
        changed = changed_tables(self.db, await db_snapshot(self.store))
        if changed:
            self.fail(f"the database changed: {changed}")

    def allowed(self, text: str, marker: str | None) -> None:
        if is_refusal(text):
            self.fail(f"refused: {text!r}")
        elif marker is not None and marker not in text:
            self.fail(f"expected {marker!r} in {text!r}")


async def click_as(
    world: World, role: Role, message: StandInMessage, custom_id: str, **kwargs: Any
) -> InteractionExchange:
    member = world.standin.member(GUILD_ID, ROLE_USER[role])
    exchange = await dispatch_as(
        world.standin, role, button_click(custom_id, message, member=member, **kwargs)
    )
    await exchange.wait_for(answered, timeout=10, what="an answer")
    return exchange


def labelled(message: StandInMessage, label: str) -> str:
    rows = message.components or []
    found = [c["custom_id"] for row in rows for c in row.get("components", []) if c.get("label") == label]
    assert found, f"no {label!r} on {message.content!r}"
    return found[0]


def prompt_of(exchange: InteractionExchange) -> StandInMessage:
    """The message a command answered with (after a deferral: the follow-up that replaced it)."""
    event = exchange.followups[-1] if exchange.followups else exchange.callback
    assert event is not None and event.message is not None, exchange
    return event.message


async def confirm_as(world: World, role: Role, prompt: StandInMessage, label: str) -> str:
    """Click `label` on a confirmation prompt; the text the prompt ends with."""
    clicked = await click_as(world, role, prompt, labelled(prompt, label))
    edit = await clicked.wait_for_edit(1, timeout=10)
    return reply_text(edit.body)


# ------------------------------------------------------------------ commands


def options_for(
    case: CommandCase, command: app_commands.Command[Any, ..., Any], world: World
) -> dict[str, Any]:
    known = {p.name for p in command.parameters}
    options = case.options(world)
    if case.optional:  # built by others: use what it has
        return {k: v for k, v in options.items() if k in known}
    assert set(options) <= known, f"/{command.qualified_name} has no option(s) {set(options) - known}"
    return options


async def use_command(
    world: World, store: Store, role: Role, name: str, command: app_commands.Command[Any, ..., Any]
) -> list[str]:
    case = EXPECTED_COMMANDS[name]
    if case.prepare is not None:
        await case.prepare(world, store)
    async with Cell(world, store, role, f"/{name}") as cell:
        exchange = await run_command(world.standin, role, name, options_for(case, command, world))
        answer = first_answer(exchange)
        if role not in case.allowed:
            await cell.refused(exchange)
        elif case.modal:
            if answer["type"] != 9:
                cell.fail(f"expected the modal, got {reply_text(answer)!r}")
        else:
            cell.allowed(reply_text(answer), case.marker)
            if case.confirm and not cell.problems:
                cell.allowed(await confirm_as(world, role, prompt_of(exchange), case.confirm), case.done)
    return cell.problems


@pytest.mark.parametrize("role", ROLES)
async def test_commands_allow_exactly_whom_they_should(
    role: Role, world: World, make_security_bot, security_store: Store
) -> None:
    problems: list[str] = []
    async with make_security_bot() as client:
        registered = leaf_commands(client)
        for name in EXPECTED_COMMANDS:
            if name in registered:
                problems += await use_command(world, security_store, role, name, registered[name])
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------ components


async def settle(cell: Cell, exchange: InteractionExchange) -> bool:
    """Wait for the answer (and, after "Working on it…", for the outcome); False: the person got none."""
    try:
        await exchange.wait_for(answered, timeout=5, what="an answer")
        if (
            exchange.callback is not None
            and exchange.callback.type == 7
            and "Working" in reply_text(exchange.callback.data)
        ):
            await exchange.wait_for(lambda ex: bool(ex.edits or ex.followups), timeout=10, what="an outcome")
    except AssertionError:
        cell.fail("the bot never answered (Discord shows 'This interaction failed')")
        return False
    return True


def last_text(exchange: InteractionExchange) -> str:
    """What the person reads in the end: the last edit, else the last follow-up, else the callback."""
    events = exchange.edits or exchange.followups or [exchange.callback]
    event = events[-1]
    assert event is not None
    return reply_text(event.data)


async def click_item(
    cell: Cell, message: StandInMessage, custom_id: str, **kwargs: Any
) -> InteractionExchange | None:
    world, role = cell.world, cell.role
    member = world.standin.member(GUILD_ID, ROLE_USER[role])
    payload = button_click(custom_id, message, member=member, **kwargs)
    exchange = await dispatch_as(world.standin, role, payload)
    return exchange if await settle(cell, exchange) else None


async def judge(cell: Cell, exchange: InteractionExchange | None, allowed: bool, marker: str) -> None:
    if exchange is None:
        return
    if allowed:
        cell.allowed(last_text(exchange), marker)
    else:
        await cell.refused(exchange)


async def cancel_if_open(world: World, prompt: StandInMessage | None) -> None:
    """End a confirmation still waiting for the admin, so no command is left hanging at close."""
    labels = [c.get("label") for row in (prompt.components if prompt else []) for c in row["components"]]
    if prompt is not None and "Cancel" in labels:
        await confirm_as(world, "admin", prompt, "Cancel")


DONE = {"accept": "was accepted", "reject": "was rejected", "block": "was blocked"}


@pytest.mark.parametrize("role", ROLES)
async def test_card_buttons_allow_exactly_whom_they_should(
    role: Role, world: World, make_security_bot, security_store: Store
) -> None:
    case = EXPECTED_ITEMS["RequestButton"]
    problems: list[str] = []
    async with make_security_bot() as client:
        await post_cards(client)
        cards = world.standin.messages(REQUESTS_CHANNEL_ID)
        for action, requester in zip(case.actions, world.requesters, strict=True):
            (card,) = [m for m in cards if requester.display_name in str(m.embeds)]
            async with Cell(world, security_store, role, f"{action} button") as cell:
                custom_id = f"gb:jr:{action}:{world.group_id}:{requester.id}"
                exchange = await click_item(cell, card, custom_id)
                allowed = role in case.allowed
                if exchange is not None and allowed and action == "block":
                    prompt = exchange.callback.message if exchange.callback else None
                    assert prompt is not None
                    exchange = await click_item(cell, prompt, labelled(prompt, "Reject & Block"))
                await judge(cell, exchange, allowed, DONE[action])
            problems += cell.problems
    assert not problems, "\n".join(problems)


async def _seed_audit_pages(world: World, store: Store) -> None:
    now = datetime.now(UTC)
    entries = [
        AuditEntryIn(f"gaud_{n:08d}-0000-4000-8000-000000000000", now - timedelta(minutes=n), "group.update")
        for n in range(12)
    ]
    await store.ingest(world.group_id, entries, enqueue=False)


@pytest.mark.parametrize("role", ROLES)
async def test_reply_components_serve_only_their_opener(
    role: Role, world: World, make_security_bot, security_store: Store
) -> None:
    """Confirmations, pagers and the post picker sit on the admin's ephemeral replies: the admin may use
    them (still checked as they are at the click), nobody else, and nobody from a DM."""
    problems: list[str] = []
    await _seed_audit_pages(world, security_store)
    seeded = world.seeded

    async def use(key: str, opened: StandInMessage, custom_id: str, marker: str, **kwargs: Any) -> None:
        async with Cell(world, security_store, role, key) as cell:
            exchange = await click_item(cell, opened, custom_id, **kwargs)
            await judge(cell, exchange, role in EXPECTED_ITEMS[key].allowed, marker)
        problems.extend(cell.problems)
        await cancel_if_open(world, opened)
        if exchange is not None and exchange.callback is not None:
            await cancel_if_open(world, exchange.callback.message)  # the post picker's own prompt

    async def open_as_admin(path: str, **options: Any) -> StandInMessage:
        return prompt_of(await run_command(world.standin, "admin", path, options))

    group = world.group_id
    async with make_security_bot():
        ban = await open_as_admin("vrc ban", user=seeded.outsider.id, group=group)
        await use("Confirm.confirm", ban, labelled(ban, "Ban"), "Banned Dave")
        kick = await open_as_admin("vrc kick", user=seeded.member.id, group=group)
        await use("Confirm.cancel", kick, labelled(kick, "Cancel"), "Cancelled")
        search = await open_as_admin("audit search", group=group)
        await use("Pager.older", search, labelled(search, "Older ▸"), "Audit log — page 2")
        lookup = await open_as_admin("vrc user", user=world.joiner.id)
        await use("GroupPager.next_page", lookup, labelled(lookup, "Next ▸"), "Groups 11–12 of 12")
        lookup = await open_as_admin("vrc user", user=world.joiner.id)
        await click_as(world, "admin", lookup, labelled(lookup, "Next ▸"))  # so Previous is enabled
        await use("GroupPager.previous_page", lookup, labelled(lookup, "◂ Previous"), "Groups 1–10 of 12")
        posts = await open_as_admin("vrc posts", group=group)
        (picker,) = [c["custom_id"] for row in posts.components for c in row["components"] if c["type"] == 3]
        await use("DeletePost.pick", posts, picker, f"Delete post {seeded.post.id}", values=[seeded.post.id])
    assert not problems, "\n".join(problems)


async def test_a_confirmation_checks_the_moderator_as_they_are_at_the_click(
    world: World, make_security_bot, security_store: Store
) -> None:
    """The moderator role is taken away while the kick waits for Confirm: the click is refused."""
    async with make_security_bot():
        kick = prompt_of(
            await run_command(
                world.standin,
                "moderator",
                "vrc kick",
                {"user": world.seeded.member.id, "group": world.group_id},
            )
        )
        member = world.standin.member(GUILD_ID, GROUP_MOD_ID)
        member.role_ids = ()
        world.standin.state.guilds[GUILD_ID].refresh_permissions()
        async with Cell(world, security_store, "moderator", "kick confirmed after demotion") as cell:
            exchange = await click_item(cell, kick, labelled(kick, "Kick"))
            await judge(cell, exchange, False, "")
    assert not cell.problems, "\n".join(cell.problems)
    assert world.seeded.sim.state.is_member(world.group_id, world.seeded.member.id)
