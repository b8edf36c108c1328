"""What ``make demo`` prints: each Discord channel as the bot left it, then the summary table.

Everything shown here came from the stand-in's record of what the bot sent, and from the
simulator's audit log; text written by VRChat users is printed with rich markup escaped.
"""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from bot.demo.scenario import DemoResult
from bot.sandbox.discord import StandInMessage
from bot.sandbox.world import SandboxWorld

FEED_ROWS_SHOWN = 12  # the first and last messages of the feed; the middle is summarised


def _feed_row(number: int, message: StandInMessage, started: float) -> tuple[str, str, str, str]:
    titles = Counter(str(e.get("title", "")) for e in message.embeds)
    summary = ", ".join(f"{t} ×{n}" if n > 1 else t for t, n in titles.most_common())
    return (str(number), f"+{message.timestamp - started:5.1f}s", str(len(message.embeds)), escape(summary))


def feed_table(world: SandboxWorld, started: float) -> Table:
    messages = world.feed_messages()
    table = Table(title="#audit-feed (what the channel received)", title_justify="left", expand=True)
    table.add_column("msg", justify="right", style="dim")
    table.add_column("at", justify="right")
    table.add_column("entries", justify="right")
    table.add_column("embeds in the message")
    half = FEED_ROWS_SHOWN // 2
    for number, message in enumerate(messages, 1):
        if len(messages) > FEED_ROWS_SHOWN and half < number <= len(messages) - half:
            if number == half + 1:
                hidden = messages[half:-half]
                entries = sum(len(m.embeds) for m in hidden)
                table.add_row("…", "", str(entries), f"[dim]{len(hidden)} more messages like these[/dim]")
            continue
        table.add_row(*_feed_row(number, message, started))
    return table


def _card_state(message: StandInMessage) -> str:
    labels = [c.get("label", "") for row in message.components or [] for c in row.get("components", [])]
    if set(labels) - {"History"}:  # a closed join-request card keeps its History button
        return "open: " + " / ".join(labels)
    embed = message.embeds[0]
    fields = {str(f.get("name", "")): str(f.get("value", "")) for f in embed.get("fields", [])}
    outcome = next((v for k, v in fields.items() if k.lower() in ("outcome", "status", "handled")), "")
    return "closed" + (f": {outcome}" if outcome else "")


def cards_table(world: SandboxWorld, started: float) -> Table:
    table = Table(
        title="#join-requests (cards as they stand now, the Discord-ban card and the alert too)",
        title_justify="left",
        expand=True,
    )
    table.add_column("at", justify="right")
    table.add_column("card")
    table.add_column("state")
    table.add_column("edits", justify="right")
    for message in world.cards():
        title = str(message.embeds[0].get("title", ""))
        edited = 1 if message.edited_at is not None else 0
        table.add_row(
            f"+{message.timestamp - started:5.1f}s", escape(title), escape(_card_state(message)), str(edited)
        )
    return table


def replies_table(result: DemoResult) -> Table:
    table = Table(title="What the moderator saw (ephemeral replies)", title_justify="left", expand=True)
    table.add_column("action")
    table.add_column("reply")
    for action, reply in result.replies:
        table.add_row(escape(action), escape(reply))
    return table


def _yes_no(*flags: bool) -> str:
    return "; ".join("yes" if f else "no" for f in flags)


def summary_table(result: DemoResult) -> Table:
    def mark(good: bool) -> str:
        return "[green]✔[/green]" if good else "[red]✘[/red]"

    scene, desk = result.ban_scene, result.desk
    rows = [
        ("entries in VRChat's audit log", str(len(result.audit_ids)), ""),
        ("mirrored in the database", str(result.stored), mark(result.stored == len(result.audit_ids))),
        ("posted to #audit-feed", str(len(set(result.feed_ids))), ""),
        ("duplicates", str(result.duplicates), mark(result.duplicates == 0)),
        ("lost", str(result.lost), mark(result.lost == 0)),
        ("out of order", "yes" if result.out_of_order else "no", mark(not result.out_of_order)),
        (
            "join requests handled",
            f"{len(result.approved)} approved, {len(result.blocked)} blocked",
            "",
        ),
        ("join requests still open", ", ".join(result.still_pending) or "none", ""),
        (
            "player linked; got the membership role; VRChat role reached Discord",
            _yes_no(scene.linked, scene.membership_role, scene.vrchat_role_in_discord),
            mark(scene.linked and scene.membership_role and scene.vrchat_role_in_discord),
        ),
        (
            "Discord ban prompted; banned in VRChat",
            _yes_no(scene.prompted, scene.banned_in_vrchat),
            mark(scene.prompted and scene.banned_in_vrchat),
        ),
        (
            "runaway moderator alerted; kill switch removed their roles",
            _yes_no(desk.alerted, desk.roles_removed),
            mark(desk.alerted and desk.roles_removed),
        ),
        ("entries in the banned player's history", str(len(desk.history)), mark(desk.history_complete)),
        ("Ban from a feed entry reached VRChat", _yes_no(desk.banned_from_feed), mark(desk.banned_from_feed)),
        ("bot killed with SIGKILL and restarted", str(result.restarts), ""),
        (
            "VRChat requests by the bot",
            ", ".join(f"{m} {n}" for m, n in sorted(result.vrchat_requests.items())),
            "",
        ),
        ("VRChat spec violations", str(len(result.vrchat_violations)), mark(not result.vrchat_violations)),
        ("Discord API violations", str(len(result.discord_violations)), mark(not result.discord_violations)),
        ("bot exit status (SIGTERM)", str(result.bot_exit_status), mark(result.bot_exit_status == 0)),
        ("wall time", f"{result.finished_at - result.started_at:.1f} s", ""),
    ]
    table = Table(title="Summary", title_justify="left")
    table.add_column("")
    table.add_column("", justify="right")
    table.add_column("")
    for row in rows:
        table.add_row(*row)
    return table


def print_report(console: Console, world: SandboxWorld, result: DemoResult, started_wall: float) -> None:
    console.rule("What Discord received")
    console.print(cards_table(world, started_wall))
    console.print(feed_table(world, started_wall))
    console.print(replies_table(result))
    console.rule("Summary")
    console.print(summary_table(result))
    for violation in result.vrchat_violations + result.discord_violations:
        console.print(f"[red]violation:[/red] {escape(violation)}")
    verdict = (
        "[green]Every audit entry reached Discord exactly once, in order, across a SIGKILL.[/green]"
        if result.ok
        else "[red]The demo found a problem: see the marks above and the bot log.[/red]"
    )
    console.print(Panel(verdict, expand=False))
