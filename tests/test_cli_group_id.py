"""`groupbridge group-id REF` against the VRChat simulator, run as the command line runs it (bot.cli.main,
in a thread: it runs its own event loop while the simulator serves in the test's), and the config's
messages for the short codes and links it exists for."""

from __future__ import annotations

import asyncio
import getpass
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import logs
from bot.cli import main
from tests.fixtures.configs import config_toml
from tests.fixtures.vrchat_sim import SeededSim, bot_client

QUOTED_NAME = 'The "Quiet" Club \\ Lounge'
ABSENT_GROUP = "grp_0a1b2c3d-4e5f-6789-abcd-ef0123456789"


@pytest.fixture(autouse=True)
def clean_logging() -> Iterator[None]:
    yield
    logs.reset_logging()
    logs.clear_secrets()


@pytest.fixture(autouse=True)
def nobody_at_the_keyboard(monkeypatch: pytest.MonkeyPatch) -> None:
    """group-id never asks: a prompt for a password or a code fails the test."""

    def refuse(*_args: Any, **_kwargs: Any) -> str:
        raise AssertionError("group-id asked the terminal for something")

    monkeypatch.setattr(getpass, "getpass", refuse)
    monkeypatch.setattr("builtins.input", refuse)


def write_config(tmp_path: Path, seeded: SeededSim, groups: list[dict[str, Any]] | None = None) -> Path:
    """The seeded bot account with neither password nor TOTP secret: only a saved session logs it in."""
    text = config_toml(seeded, tmp_path, vrchat={"password": None, "totp_secret": None}, groups=groups)
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def save_session(seeded: SeededSim, tmp_path: Path) -> None:
    """What `groupbridge login` leaves behind; then the simulator's request log starts empty."""
    async with bot_client(seeded, tmp_path / "session.json") as client:
        await client.login()
    seeded.sim.requests.clear()


async def group_id(config: Path, ref: str) -> int:
    return await asyncio.to_thread(main, ["group-id", ref, "-c", str(config)])


async def look_up_with_a_saved_session(seeded: SeededSim, tmp_path: Path, ref: str) -> int:
    await save_session(seeded, tmp_path)
    return await group_id(write_config(tmp_path, seeded), ref)


def pasted_entry(out: str) -> dict[str, Any]:
    """The [[groups]] entry printed, read back as TOML would read it from config.toml."""
    snippet = out[out.index("[[groups]]") :]
    (entry,) = tomllib.loads(snippet)["groups"]
    return dict(entry)


@pytest.mark.parametrize(
    "ref",
    [
        "{id}",
        "https://vrchat.com/home/group/{id}",
        "https://vrc.group/TESTG.1234",
        "testg.1234",
    ],
    ids=["id", "vrchat.com link", "vrc.group link", "short code"],
)
async def test_each_form_prints_the_id_and_a_groups_entry(
    ref: str, seeded_sim: SeededSim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await look_up_with_a_saved_session(seeded_sim, tmp_path, ref.format(id=seeded_sim.group.id)) == 0

    captured = capsys.readouterr()
    assert f"ID:    {seeded_sim.group.id}" in captured.out
    assert "Group: Test Group (TESTG.1234)" in captured.out
    assert pasted_entry(captured.out) == {"id": seeded_sim.group.id, "name": "Test Group"}
    assert "reused the saved session" in captured.err
    assert seeded_sim.sim.password_logins == 1  # only save_session's
    assert all(r.method == "GET" for r in seeded_sim.sim.requests)
    searched = any(r.path == "/groups" for r in seeded_sim.sim.requests)
    assert searched == ref.endswith("1234")  # only a short code needs VRChat's search


async def test_a_name_with_quotes_and_a_backslash_reads_back_from_the_entry(
    seeded_sim: SeededSim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    club = seeded_sim.sim.state.add_group(
        QUOTED_NAME, short_code="QUIET", discriminator="0042", owner_id=seeded_sim.outsider.id
    )
    assert await look_up_with_a_saved_session(seeded_sim, tmp_path, "QUIET.0042") == 0

    assert pasted_entry(capsys.readouterr().out) == {"id": club.id, "name": QUOTED_NAME}


async def test_the_config_may_still_hold_the_short_code_being_looked_up(
    seeded_sim: SeededSim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The config error for a short code says to run group-id: that must work on the same file."""
    await save_session(seeded_sim, tmp_path)
    config = write_config(tmp_path, seeded_sim, groups=[{"id": "TESTG.1234"}])
    assert await asyncio.to_thread(main, ["check-config", str(config)]) == 2
    capsys.readouterr()

    assert await group_id(config, "TESTG.1234") == 0

    assert pasted_entry(capsys.readouterr().out)["id"] == seeded_sim.group.id


@pytest.mark.parametrize("ref", ["not a group", "https://vrchat.com/home/user/usr_x", "grp_123"])
async def test_a_bad_ref_exits_2_and_sends_nothing(
    ref: str, seeded_sim: SeededSim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await look_up_with_a_saved_session(seeded_sim, tmp_path, ref) == 2

    captured = capsys.readouterr()
    assert "is not a VRChat group ID, short code or link" in captured.err
    assert captured.out == ""
    assert seeded_sim.sim.requests == []


@pytest.mark.parametrize("ref", ["NOPE.9999", ABSENT_GROUP], ids=["short code", "id"])
async def test_a_group_vrchat_does_not_have_exits_1(
    ref: str, seeded_sim: SeededSim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await look_up_with_a_saved_session(seeded_sim, tmp_path, ref) == 1

    captured = capsys.readouterr()
    expected = "VRChat's group search finds no group NOPE.9999" if "." in ref else f"no group {ABSENT_GROUP}"
    assert expected in captured.err
    assert "[[groups]]" not in captured.out


async def test_without_a_saved_session_it_points_at_login_and_asks_nothing(
    seeded_sim: SeededSim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await group_id(write_config(tmp_path, seeded_sim), seeded_sim.group.id) == 1

    captured = capsys.readouterr()
    assert "Cannot log in to VRChat" in captured.err
    assert "run `groupbridge login`" in captured.err
    assert seeded_sim.sim.requests == []  # no session, no password: nothing to send
    assert not (tmp_path / "session.json").exists()


async def test_an_expired_session_points_at_login(
    seeded_sim: SeededSim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await save_session(seeded_sim, tmp_path)
    seeded_sim.sim.expire_sessions()

    assert await group_id(write_config(tmp_path, seeded_sim), seeded_sim.group.id) == 1

    assert "run `groupbridge login`" in capsys.readouterr().err
    assert [(r.method, r.path) for r in seeded_sim.sim.requests] == [("GET", "/auth")]


# --- the config's messages -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        (
            "abcde.1234",
            "is a group short code; the config needs the group's ID: run "
            "`groupbridge group-id ABCDE.1234` to look it up",
        ),
        (
            "https://vrc.group/ABCDE.1234",
            "is a vrc.group link, which holds a short code; the config needs the group's ID: run "
            "`groupbridge group-id ABCDE.1234` to look it up",
        ),
        (f"https://vrchat.com/home/group/{ABSENT_GROUP}", f"is a link: use the ID in it, {ABSENT_GROUP}"),
    ],
    ids=["short code", "vrc.group link", "vrchat.com link"],
)
@pytest.mark.parametrize("key", ["groups[0].id", "bindings[0].group_id"])
def test_the_config_names_the_key_and_line_and_what_to_do(
    written: str, expected: str, key: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    group = written if key.startswith("groups") else ABSENT_GROUP
    bound = written if key.startswith("bindings") else ABSENT_GROUP
    text = (
        '[vrchat]\nusername = "bot"\nuser_agent = "GroupBridge-tests/0.1 (tests@groupbridge.net)"\n\n'
        '[discord]\ntoken = "MTIzNDU2Nzg5MDEy.GhIjKl.MnOpQrStUvWxYz0123456789abcdefghijkl"\n\n'
        f'[[groups]]\nid = "{group}"\n\n'
        f'[[bindings]]\ngroup_id = "{bound}"\nguild_id = 800000000000000001\n'
        "feed_channel_id = 900000000000000001\n"
    )
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    line = 1 + text.splitlines().index(
        f'group_id = "{bound}"' if key.startswith("bindings") else f'id = "{group}"'
    )

    assert main(["check-config", str(path)]) == 2

    (problem,) = [p for p in capsys.readouterr().err.splitlines() if p.startswith(f"{path}:{line}: {key}: ")]
    assert expected in problem
