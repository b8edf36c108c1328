"""Bot-side overhead of a slash command and of a button: interaction in → VRChat call → reply out.

The real GroupBridgeBot runs over the stand-in's gateway with a real SQLite file, like the Discord
tests. Each iteration is timed on the stand-in's clock, from the moment it hands INTERACTION_CREATE
to the gateway to the moment it receives the bot's HTTP calls for that interaction: the first
response (the deferral Discord wants within 3 s) and the reply the moderator reads (the follow-up).

- `/vrc invite user:<id>`: defer, look the user up, POST the invite to VRChat, reply.
- Approve on a join-request card: defer, claim the card, PUT the request to VRChat, close the card
  (a PATCH of the card message), reply.

Every iteration acts on a different VRChat user, so nothing is answered from a cache. The
simulator does not validate (validate=False): its OpenAPI checks cost milliseconds per call, which
belong to the simulator, not the bot; the Discord and VRChat tests run the same calls validated.
The stand-in's buckets are widened for the same reason: Discord's pacing is not the bot's work.
Everything shares one process and event loop, so the figures include the stand-ins' handling of
the requests (small, and the same for every iteration): read them as an upper bound.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.bot import GroupBridgeBot
from bot.sandbox.discord import DiscordStandIn, InteractionExchange, button_click, slash_command
from bot.sandbox.vrchat import VRChatSimulator
from tests.bench.support import ErrorCount, Report, percentile, sqlite_store
from tests.discord.conftest import card_messages, component_id, post_cards
from tests.fixtures.bridge import bot_config, guild_binding
from tests.fixtures.discord_gateway import (
    FEED_CHANNEL_ID,
    GUILD_ID,
    MOD_ID,
    connected_bot,
    populate_guild,
)
from tests.fixtures.discord_standin import running_standin
from tests.fixtures.vrchat_sim import SeededSim, bot_client, seed_basic

WARMUP = 3  # first iterations compile SQL statements and warm discord.py's caches: not counted
WIDE_BUCKET = (100_000, 1.0)
REPLY_TIMEOUT = 15.0


@dataclass
class Timings:
    """Seconds from dispatch, per measured iteration."""

    first_response: list[float] = field(default_factory=list)
    reply: list[float] = field(default_factory=list)
    failed: int = 0  # no reply, or VRChat's state not changed as asked


@dataclass
class InteractionRun:
    iterations: int
    slash: Timings
    button: Timings
    errors: list[str]
    violations: list[str]


def exchange_times(standin: DiscordStandIn, exchange: InteractionExchange) -> tuple[float, float]:
    """(first response, reply) in seconds after dispatch, from the stand-in's own request log."""
    dispatched = standin.desk.pending[exchange.id].created_at
    ours = [
        r for r in standin.requests if exchange.token in r.path and r.status is not None and r.status < 300
    ]
    callback = next(r.at for r in ours if r.path.endswith("/callback"))
    reply = next(r.at for r in ours if r.method == "POST" and r.path.startswith("/webhooks/"))
    return callback - dispatched, reply - dispatched


async def answered(
    standin: DiscordStandIn, payload: dict[str, object], timings: Timings, *, keep: bool
) -> None:
    exchange = await standin.dispatch_interaction(payload)
    try:
        await exchange.wait_for(lambda ex: bool(ex.followups), REPLY_TIMEOUT, "a reply")
    except AssertionError:
        timings.failed += 1
        return
    if keep:
        first, reply = exchange_times(standin, exchange)
        timings.first_response.append(first)
        timings.reply.append(reply)


def add_users(seeded: SeededSim, prefix: str, count: int, *, requesting: bool) -> list[str]:
    ids = []
    for i in range(count):
        user = seeded.sim.state.add_user(f"{prefix} {i}", bio="benchmark user")
        if requesting:
            seeded.sim.state.add_join_request(seeded.group.id, user.id)
        ids.append(user.id)
    return ids


async def run_interactions(
    tmp: Path, *, iterations: int, on_progress: Callable[[int], None] | None = None
) -> InteractionRun:
    total = iterations + WARMUP
    sim = VRChatSimulator(validate=False)
    await sim.start(host="127.0.0.1", port=0)
    try:
        seeded = seed_basic(sim)
        invitees = add_users(seeded, "Invitee", total, requesting=False)
        requesters = add_users(seeded, "Requester", total, requesting=True)
        errors = ErrorCount()
        slash, button = Timings(), Timings()
        async with (
            running_standin(rate_limit=WIDE_BUCKET, other_rate_limit=WIDE_BUCKET) as standin,
            sqlite_store(tmp / "interactions.db") as store,
            bot_client(seeded, tmp / "interactions-session.json") as vrc,
        ):
            populate_guild(standin)
            await vrc.login()
            await store.add_binding(guild_binding(seeded.group.id))
            bot = GroupBridgeBot(bot_config(seeded, tmp), vrc, store, run_feed=False)
            with errors.attached("discord"), errors.attached("bot"):
                async with connected_bot(standin, bot, fail_on_errors=False):
                    await post_cards(bot)
                    cards = {c.embeds[0].get("url", "").rsplit("/", 1)[-1]: c for c in card_messages(standin)}
                    moderator = standin.member(GUILD_ID, MOD_ID)
                    for n, user_id in enumerate(invitees):
                        command = slash_command(
                            "vrc",
                            {"user": user_id},
                            channel_id=FEED_CHANNEL_ID,
                            member=moderator,
                            subcommand="invite",
                        )
                        await answered(standin, command, slash, keep=n >= WARMUP)
                        if on_progress is not None:
                            on_progress(n + 1)
                    for n, user_id in enumerate(requesters):
                        card = cards.get(user_id)
                        if card is None:
                            button.failed += 1
                            continue
                        click = button_click(component_id(card, "Approve"), card, member=moderator)
                        await answered(standin, click, button, keep=n >= WARMUP)
                        if on_progress is not None:
                            on_progress(total + n + 1)
            violations = list(standin.violations)
        state = sim.state
        measured = slice(WARMUP, None)
        invited = [state.membership(seeded.group.id, u) for u in invitees[measured]]
        slash.failed += sum(1 for record in invited if record is None or record.status != "invited")
        button.failed += sum(1 for u in requesters[measured] if not state.is_member(seeded.group.id, u))
        return InteractionRun(iterations, slash, button, errors.lines, violations)
    finally:
        await sim.close()


def report_timings(report: Report, what: str, key: str, timings: Timings, path: str) -> None:
    for label, values, beside in (
        ("first response", timings.first_response, "the deferral: Discord wants one within 3 s"),
        ("reply", timings.reply, path),
    ):
        for q in (50, 99):
            report.add(
                "interactions",
                f"{what}: {label} p{q}",
                percentile(values, q) * 1000,
                "ms",
                beside if q == 50 else "",
                key=f"{key}.{label.replace(' ', '_')}_p{q}_ms",
            )
    report.add("interactions", f"{what}: failed", timings.failed, "", "expected 0", key=f"{key}.failed")


async def run(report: Report, tmp: Path, *, iterations: int) -> InteractionRun:
    report.note(
        f"Interactions: the real GroupBridgeBot over the gateway stand-in, {iterations} iterations "
        f"each after {WARMUP} warm-up ones, every one on a different VRChat user; timed on the "
        "stand-in's clock from handing INTERACTION_CREATE to the gateway to receiving the bot's "
        "callback and follow-up. Simulator validation off, stand-in buckets widened, one process: "
        "an upper bound on the bot's own overhead."
    )
    with report.steps("interactions", 2 * (iterations + WARMUP)) as step:
        result = await run_interactions(tmp, iterations=iterations, on_progress=step)
    report_timings(
        report, "/vrc invite", "interactions.slash", result.slash, "user lookup + VRChat POST → follow-up"
    )
    report_timings(
        report,
        "Approve button",
        "interactions.button",
        result.button,
        "claim + VRChat PUT + card edit → follow-up",
    )
    measured = len(result.slash.reply) + len(result.button.reply)
    if result.slash.failed or result.button.failed or result.errors or result.violations:
        report.problem(
            f"interactions: {result.slash.failed} slash and {result.button.failed} button iterations "
            f"failed, {len(result.errors)} logged errors {result.errors[:3]}, "
            f"{len(result.violations)} stand-in violations {result.violations[:3]}"
        )
    elif measured != 2 * iterations:
        report.problem(f"interactions: measured {measured} of {2 * iterations} iterations")
    return result
