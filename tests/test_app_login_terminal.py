"""Issue #16, "Login that forgives a typo": `groupbridge login` as a person at a terminal meets it.

The real command runs on a pseudo-terminal (tests/fixtures/pty_terminal.py) against the VRChat
simulator in this process: a mistyped 2FA code is asked for again within the same password login,
Ctrl-C at a prompt stops at once (exit 130) with echo back on, and `--fresh` leaves the saved
session alone unless the new login succeeds.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tests.fixtures.configs import bot_account, toml
from tests.fixtures.pty_terminal import CTRL_C, PtyCommand
from tests.fixtures.vrchat_sim import SeededSim, bot_client
from tests.vrchat.test_client_auth import wrong_code

# `groupbridge login` as a real process on a pseudo-terminal.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bot-process")]

INTERRUPTED = 130


def write_config(seeded: SeededSim, tmp_path: Path, *, password: bool) -> Path:
    """No TOTP secret: the code comes from the person. The password only when `password`."""
    path = tmp_path / "config.toml"
    vrchat = bot_account(
        seeded,
        tmp_path,
        password=seeded.password if password else None,
        totp_secret=None,
        requests_per_second=10,
    )
    path.write_text(toml(vrchat=vrchat, discord={}), encoding="utf-8")
    return path


Login = Callable[..., PtyCommand]


@pytest.fixture
async def login(tmp_path: Path) -> AsyncIterator[Login]:
    """`groupbridge login -c CONFIG [args]` on its own pseudo-terminal, started by the test."""
    started: list[PtyCommand] = []

    def run(config: Path, *args: str) -> PtyCommand:
        command = PtyCommand([sys.executable, "-m", "bot", "login", "-c", str(config), *args], cwd=tmp_path)
        started.append(command)
        return command

    yield run
    for command in started:
        await command.close()


async def saved_session(seeded: SeededSim, tmp_path: Path) -> bytes:
    """A session saved by an earlier login (with the TOTP secret); the file's bytes."""
    async with bot_client(seeded, tmp_path / "session.json") as client:
        await client.login()
    return (tmp_path / "session.json").read_bytes()


async def answer_code(command: PtyCommand, code: str) -> None:
    await command.expect("[1-2, default 1]: ")  # the simulator offers an authenticator and recovery codes
    command.type("1\n")
    await command.expect("Enter the authenticator")
    command.type(code + "\n")


async def test_a_mistyped_code_is_asked_for_again_in_the_same_login(
    seeded_sim: SeededSim, tmp_path: Path, login: Login
) -> None:
    command = login(write_config(seeded_sim, tmp_path, password=True))
    await command.start()
    await answer_code(command, wrong_code(seeded_sim))
    said = await command.expect("try again")
    assert "VRChat did not accept that authenticator code" in said and "totp" not in said
    await answer_code(command, seeded_sim.totp_now())
    await command.expect("Logged in as GroupBridge Bot")
    assert await command.wait() == 0, command.output
    assert seeded_sim.sim.password_logins == 1  # the typo cost no second password login
    assert (tmp_path / "session.json").exists()


async def test_ctrl_c_at_the_password_prompt_stops_at_once(
    seeded_sim: SeededSim, tmp_path: Path, login: Login
) -> None:
    command = login(write_config(seeded_sim, tmp_path, password=False))
    await command.start()
    await command.expect("VRChat password: ")
    command.type(CTRL_C)  # and no Enter after it
    assert await command.wait() == INTERRUPTED, command.output
    assert command.echo_on()  # the hidden prompt gave the terminal its echo back
    assert seeded_sim.sim.password_logins == 0


async def test_ctrl_c_at_the_code_prompt_of_a_fresh_login_keeps_the_saved_session(
    seeded_sim: SeededSim, tmp_path: Path, login: Login
) -> None:
    before = await saved_session(seeded_sim, tmp_path)
    command = login(write_config(seeded_sim, tmp_path, password=True), "--fresh")
    await command.start()
    await command.expect("[1-2, default 1]: ")
    command.type("1\n")
    await command.expect("Enter the authenticator")
    command.type(CTRL_C)
    assert await command.wait() == INTERRUPTED, command.output
    assert (tmp_path / "session.json").read_bytes() == before  # not deleted, not replaced

    again = login(write_config(seeded_sim, tmp_path, password=False))
    await again.start()
    await again.expect("still valid")  # and still usable: nothing to type
    assert await again.wait() == 0, again.output


async def test_three_wrong_codes_end_the_login_and_keep_the_saved_session(
    seeded_sim: SeededSim, tmp_path: Path, login: Login
) -> None:
    before = await saved_session(seeded_sim, tmp_path)
    command = login(write_config(seeded_sim, tmp_path, password=True), "--fresh")
    await command.start()
    for _ in range(3):
        await answer_code(command, wrong_code(seeded_sim))
    await command.expect("Login failed: VRChat did not accept the authenticator code (3 tries).")
    assert "(2 tries left)" in command.output and "(1 try left)" in command.output
    assert await command.wait() == 1, command.output
    assert seeded_sim.sim.password_logins == 2  # the first login, and this one: one, not three
    assert (tmp_path / "session.json").read_bytes() == before
