"""`groupbridge run --dry-run` against the VRChat simulator: what it prints, what it asks VRChat, and
what it never touches (Discord, the database, VRChat writes, secrets)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot import logs
from bot.cli import main
from bot.config import Config, load_config
from bot.dryrun import dry_run
from bot.sandbox.discord import DiscordStandIn
from bot.sandbox.vrchat import SimGroup
from tests.fixtures.configs import config_toml
from tests.fixtures.discord_standin import TOKEN
from tests.fixtures.vrchat_sim import SeededSim, bot_client

FEED = 900_000_000_000_000_001
REQUESTS = 900_000_000_000_000_002
GUILD = 800_000_000_000_000_001
MARKUP = "[bold red]x[/]"
TODAY = date(2031, 5, 20)
FRESH_LOGIN = [("POST", "/auth/twofactorauth/totp/verify")]  # the one write a password login needs


@pytest.fixture(autouse=True)
def clean_logging() -> Iterator[None]:
    yield
    logs.reset_logging()
    logs.clear_secrets()


def write_config(
    tmp_path: Path,
    seeded: SeededSim,
    groups: list[str],
    *,
    password: str | None = None,
    totp: bool = True,
    discord: dict[str, str] | None = None,
) -> Path:
    """A config with the seeded group bound (feed + requests channel) and `groups` allow-listed."""
    vrchat = {
        "password": password or seeded.password,
        "totp_secret": seeded.totp_secret if totp else None,
        "requests_per_second": 10,
        "burst": 20,
    }
    binding = {
        "group_id": seeded.group.id,
        "guild_id": GUILD,
        "feed_channel_id": FEED,
        "requests_channel_id": REQUESTS,
        "events": ["members", "requests"],
    }
    text = config_toml(
        seeded,
        tmp_path,
        vrchat=vrchat,
        discord={"guild_ids": None, **(discord or {})},
        groups=[{"id": gid} for gid in groups],
        bindings=[binding],
    )
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load(path: Path) -> Config:
    return load_config(path, required=("vrchat.username",))


def at_noon() -> datetime:
    return datetime(TODAY.year, TODAY.month, TODAY.day, 12, tzinfo=UTC)


def add_entries(seeded: SeededSim, descriptions: list[str], *, start: datetime | None = None) -> list[str]:
    """Member-join entries a minute apart, oldest first; returns their ids."""
    start = start or datetime.now(UTC) - timedelta(hours=2)
    return [
        seeded.sim.state.add_audit_entry(
            seeded.group.id,
            "group.member.join",
            seeded.member.id,
            seeded.member.id,
            text,
            created_at=start + timedelta(minutes=i),
        ).id
        for i, text in enumerate(descriptions)
    ]


def writes(seeded: SeededSim) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in seeded.sim.requests if r.method != "GET"]


def hidden_group(seeded: SeededSim) -> SimGroup:
    """A group the bot account is not in: its public page is readable, its log and requests are not."""
    return seeded.sim.state.add_group("Other Group", short_code="OTHER", owner_id=seeded.outsider.id)


# --- one pass ------------------------------------------------------------------------------------------


async def test_prints_the_newest_entries_oldest_first_and_the_pending_request(
    seeded_sim: SeededSim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = seeded_sim.sim.state
    veteran = state.add_user(
        "Erin",
        tags=["system_trust_basic", "system_trust_known", "system_trust_trusted", "system_trust_veteran"],
        date_joined=TODAY - timedelta(days=400),
    )
    state.add_join_request(seeded_sim.group.id, veteran.id)
    ids = add_entries(seeded_sim, [f"entry {i:02d}" for i in range(12)])
    state.add_audit_entry(
        seeded_sim.group.id, "group.role.update", seeded_sim.bot.id, "grol_x", "role changed"
    )
    config = load(write_config(tmp_path, seeded_sim, [seeded_sim.group.id]))

    assert await dry_run(config, limit=5, clock=at_noon) == 0

    out = capsys.readouterr().out
    assert "Test Group (TESTG.1234)" in out
    assert "bot account: member · all permissions (*)" in out
    # The newest five of 13, oldest first; the role entry is newest but not in the binding's events.
    shown = [f"entry {i:02d}" for i in range(8, 12)]
    assert [line.strip() for line in out.splitlines() if line.strip().startswith("entry ")] == shown
    assert "entry 07" not in out
    assert "Audit log: newest 5 entries, oldest first (8 older not shown)" in out
    assert f"Member joined  → feed channel {FEED}" in out
    assert "Role updated  → filtered out by the binding's events" in out
    assert f"{ids[-1]} · group.member.join" in out  # the feed footer
    assert f"Actor: Bob ({seeded_sim.member.id})" in out  # the feed's profile link, readable
    # Both pending requests, as their cards would say, with where the cards would go.
    assert "Pending join requests: 2" in out
    assert f"Join request: Carol  → card in channel {REQUESTS}" in out
    assert f"Join request: Erin  → card in channel {REQUESTS}" in out
    erin = out[out.index("Join request: Erin") :]
    assert "Account age: 400 days" in erin and "Trust rank: Trusted User" in erin
    assert f"Profile: {veteran.id}" in erin
    assert "Summary: 1 group, all readable; 2 pending join requests; nothing was sent to Discord." in out
    # Only the login wrote anything; the dry run itself only read.
    assert writes(seeded_sim) == FRESH_LOGIN


async def test_reuses_the_saved_session_and_only_reads(
    seeded_sim: SeededSim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with bot_client(seeded_sim, tmp_path / "session.json") as client:
        await client.login()  # what `groupbridge login` leaves behind
    assert seeded_sim.sim.password_logins == 1
    seeded_sim.sim.requests.clear()
    add_entries(seeded_sim, ["one entry"])
    config = load(write_config(tmp_path, seeded_sim, [seeded_sim.group.id]))

    assert await dry_run(config) == 0

    out = capsys.readouterr().out
    assert seeded_sim.sim.password_logins == 1
    assert "reused the saved session" in out
    assert "one entry" in out
    assert seeded_sim.sim.requests and writes(seeded_sim) == []


async def test_a_group_the_bot_cannot_see_fails_alone(
    seeded_sim: SeededSim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = seeded_sim.sim.state
    other = hidden_group(seeded_sim)
    missing = "grp_00000000-0000-0000-0000-00000000beef"
    partial = state.add_group("Half Group", short_code="HALF", owner_id=seeded_sim.outsider.id)
    auditor = state.add_role(partial.id, "Auditor", permissions=["group-audit-view"])
    state.add_member(partial.id, seeded_sim.bot.id, [auditor.id])
    state.add_audit_entry(partial.id, "group.update", seeded_sim.outsider.id, partial.id, "half readable")
    add_entries(seeded_sim, ["still shown"])
    # The broken groups come first in the allow-list: the bound group is printed anyway.
    groups = [missing, other.id, partial.id, seeded_sim.group.id]
    config = load(write_config(tmp_path, seeded_sim, groups))

    assert await dry_run(config) == 1

    out = capsys.readouterr().out
    assert "still shown" in out and "Join request: Carol" in out
    section = out[out.index(other.id) :]
    assert "bot account: NOT a member" in section
    assert "cannot read the audit log: the bot's VRChat account is not a member of the group" in section
    assert "VRChat answered 403" in section
    assert "not bound: in [[groups]] only" in section
    gone = out[out.index(missing) :]
    assert "cannot read the group: VRChat has no such group" in gone
    half = out[out.index(partial.id) :]
    assert "bot account: member · permissions: group-audit-view · missing group-invites-manage" in half
    assert "half readable" in half
    assert (
        "cannot read the join requests: the bot's VRChat account is not a member of the group, or its "
        "group role lacks the group-invites-manage permission (join requests)"
    ) in half
    assert "Summary: 4 groups, 3 failed; 1 pending join request" in out
    assert writes(seeded_sim) == FRESH_LOGIN


async def test_user_text_is_printed_literally_and_secrets_never(
    seeded_sim: SeededSim, tmp_path: Path, capsys: pytest.CaptureFixture[str], secret_log_capture
) -> None:
    state = seeded_sim.sim.state
    sly = state.add_user(f"Mallory {MARKUP}\x1b[2J", bio=f"bio {MARKUP} @everyone")
    state.add_join_request(seeded_sim.group.id, sly.id)
    add_entries(seeded_sim, [f"said {MARKUP} **loud** <@123> :smile:"])
    config = load(write_config(tmp_path, seeded_sim, [seeded_sim.group.id]))

    assert await dry_run(config) == 0

    out, err = capsys.readouterr()
    # What a Discord reader would see: markdown escapes undone, nothing interpreted by rich.
    assert f"said {MARKUP} **loud** <@123> :smile:" in out
    assert f"Join request: Mallory {MARKUP}" in out
    assert f"Bio: bio {MARKUP} @everyone" in out
    assert "\x1b" not in out  # the display name's escape sequence never reaches the terminal
    for secret in (seeded_sim.password, seeded_sim.totp_secret, TOKEN):
        assert secret not in out and secret not in err
    secret_log_capture.assert_absent(seeded_sim.password, seeded_sim.totp_secret, TOKEN)


# --- logging in --------------------------------------------------------------------------------------


async def test_a_rejected_password_is_a_clear_failure(
    seeded_sim: SeededSim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = "not the password"
    config = load(write_config(tmp_path, seeded_sim, [seeded_sim.group.id], password=wrong))

    assert await dry_run(config) == 1

    out, err = capsys.readouterr()
    assert "Cannot log in to VRChat: VRChat rejected the username or password." in err
    assert wrong not in out + err
    assert not seeded_sim.sim.requests_to("GET", r"^/groups/")


async def test_two_factor_without_a_secret_asks_for_groupbridge_login(
    seeded_sim: SeededSim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = load(write_config(tmp_path, seeded_sim, [seeded_sim.group.id], totp=False))

    assert await dry_run(config) == 1

    err = capsys.readouterr().err
    assert "Cannot log in to VRChat: VRChat asks for two-factor authentication" in err
    assert "run `groupbridge login`" in err
    assert writes(seeded_sim) == []  # no code was guessed or sent
    assert not seeded_sim.sim.requests_to("GET", r"^/groups/")


# --- --follow ------------------------------------------------------------------------------------------


async def test_follow_prints_only_what_is_new(
    seeded_sim: SeededSim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_entries(seeded_sim, ["old one", "old two"])
    config = load(write_config(tmp_path, seeded_sim, [seeded_sim.group.id]))
    stop = asyncio.Event()
    waits: list[float] = []

    async def between_polls(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 1:  # after the first pass: something happens in the group
            add_entries(seeded_sim, ["new one"], start=datetime.now(UTC) - timedelta(minutes=1))
            newcomer = seeded_sim.sim.state.add_user("Frank")
            seeded_sim.sim.state.add_join_request(seeded_sim.group.id, newcomer.id)
        elif len(waits) == 3:  # a quiet poll in between, then Ctrl-C
            stop.set()

    assert await dry_run(config, follow=True, stop=stop, pause=between_polls) == 0

    out = capsys.readouterr().out
    assert waits == [config.feed.poll_interval_seconds] * 3
    before, after = out.split("Following: polling every 60 s", 1)
    assert "old one" in before and "old two" in before and "Join request: Carol" in before
    assert "new one" not in before
    assert after.count("new one") == 1 and "New join requests: 1" in after
    assert "Join request: Frank" in after
    assert "old one" not in after and "Carol" not in after
    assert after.count("Test Group (TESTG.1234)") == 1  # the quiet poll printed nothing
    assert "Stopped following after 3 polls." in after
    assert writes(seeded_sim) == FRESH_LOGIN


async def test_follow_reports_a_group_once_while_it_stays_broken(
    seeded_sim: SeededSim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = hidden_group(seeded_sim)
    config = load(write_config(tmp_path, seeded_sim, [other.id, seeded_sim.group.id]))
    stop = asyncio.Event()
    polls = 0

    async def between_polls(seconds: float) -> None:
        nonlocal polls
        polls += 1
        if polls == 2:  # someone gives the bot account a moderator role there: readable now
            role = seeded_sim.sim.state.add_role(other.id, "Bots", moderator=True)
            seeded_sim.sim.state.add_member(other.id, seeded_sim.bot.id, [role.id])
        if polls == 3:
            stop.set()

    code = await dry_run(config, follow=True, stop=stop, pause=between_polls)

    out = capsys.readouterr().out
    assert out.count("cannot read the audit log") == 1
    assert out.count("✓ readable again") == 1
    assert code == 0  # the last poll of every group succeeded


# --- the command line ----------------------------------------------------------------------------------


@pytest.mark.slow  # `groupbridge run --dry-run` as a real process
async def test_the_command_needs_no_discord_and_exits_1_on_a_failed_group(
    seeded_sim: SeededSim, discord_standin: DiscordStandIn, tmp_path: Path
) -> None:
    other = hidden_group(seeded_sim)
    add_entries(seeded_sim, [f"via the CLI {MARKUP}"])
    pointed = {"api_base_url": discord_standin.base_url}
    config = write_config(tmp_path, seeded_sim, [seeded_sim.group.id, other.id], discord=pointed)
    stdout, stderr = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with stdout.open("wb") as out, stderr.open("wb") as err:  # files: the child can never block on a pipe
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--dry-run",
            "--once",
            "-c",
            str(config),
            stdout=out,
            stderr=err,
        )
        try:
            await asyncio.wait_for(proc.wait(), timeout=60)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    printed, logged = stdout.read_text(), stderr.read_text()
    assert proc.returncode == 1, logged
    assert f"via the CLI {MARKUP}" in printed
    assert "Summary: 2 groups, 1 failed" in printed
    assert discord_standin.requests == []
    assert not (tmp_path / "bot.db").exists()  # the operator's database is never opened
    for secret in (seeded_sim.password, seeded_sim.totp_secret, TOKEN):
        assert secret not in printed and secret not in logged


def test_dry_run_options_are_checked_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "bot.dryrun", None)  # any import attempt would fail loudly
    path = tmp_path / "config.toml"
    path.write_text("[vrchat]\n", encoding="utf-8")

    assert main(["run", "--follow", "-c", str(path)]) == 2
    assert "--once, --follow and --limit go with --dry-run" in capsys.readouterr().err
    assert main(["run", "--dry-run", "--limit", "0", "-c", str(path)]) == 2
    assert "--limit: must be from 1 to 100, not 0" in capsys.readouterr().err
    assert main(["run", "--dry-run", "--once", "--follow", "-c", str(path)]) == 2
    assert "not allowed with argument" in capsys.readouterr().err
    # A bad config: exit 2 with the problems, like every other command.
    assert main(["run", "--dry-run", "-c", str(path)]) == 2
    assert "vrchat.user_agent" in capsys.readouterr().err


async def test_an_unreadable_entry_is_named_once_not_skipped(
    seeded_sim: SeededSim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The bot sets an entry it cannot read aside and posts a notice in its place; the dry run, which
    shows what the bot would do, says so instead of leaving it out without a word."""
    now = datetime.now(UTC)
    add_entries(seeded_sim, ["readable"], start=now - timedelta(minutes=5))
    broken = seeded_sim.sim.state.inject_unchecked_audit_entry(
        seeded_sim.group.id, {"created_at": "yesterday-ish"}, now - timedelta(minutes=4)
    ).id
    config = load(write_config(tmp_path, seeded_sim, [seeded_sim.group.id]))
    stop = asyncio.Event()
    waits: list[float] = []

    async def between_polls(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:
            stop.set()

    assert await dry_run(config, follow=True, stop=stop, pause=between_polls) == 0

    out = capsys.readouterr().out
    assert "readable" in out
    named = [line for line in out.splitlines() if f"Entry {broken} could not be read" in line]
    assert len(named) == 1, out  # the second pass does not name it again
    assert "sets it aside and posts a notice in its place" in named[0]
