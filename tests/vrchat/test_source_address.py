"""`vrchat.source_address`: every request of an account leaves from one local address, and the
simulator, like VRChat, ties a session to the address that logged in and records who called."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config_text
from bot.sandbox.vrchat import Fault
from bot.sandbox.vrchat.callers import by_user_agent
from bot.vrchat import SessionExpired
from tests.fixtures.vrchat_sim import SeededSim
from tests.vrchat.conftest import TEST_USER_AGENT, ClientFactory

TOKEN = "MTA4NzY1NDMyMTA5ODc2NTQzMg.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB"


def config_text(line: str) -> str:
    return f"""\
[vrchat]
username = "Bot"
user_agent = "GroupBridge/0.1 (ops@bridge.gg)"
{line}

[discord]
token = "{TOKEN}"
"""


@pytest.mark.parametrize(
    ("value", "expected"),
    [('""', None), ('"127.0.0.2"', "127.0.0.2"), ('" 2001:DB8::10 "', "2001:db8::10")],
)
def test_the_source_address_is_an_ip_address_or_empty(value: str, expected: str | None) -> None:
    config = load_config_text(config_text(f"source_address = {value}"), env={})
    assert config.vrchat.source_address == expected


@pytest.mark.parametrize("value", ['"eth0"', '"api.vrchat.cloud"', '"127.0.0.300"'])
def test_a_wrong_source_address_is_named_with_its_line(value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config_text(config_text(f"source_address = {value}"), env={})
    (problem,) = info.value.problems
    assert problem.key == "vrchat.source_address" and "IP address" in problem.message
    assert problem.line == 4


async def test_requests_leave_from_the_source_address_and_name_their_account(
    client_factory: ClientFactory, seeded_sim: SeededSim
) -> None:
    client = await client_factory(source_address="127.0.0.2")
    await client.login()
    await client.get_group(seeded_sim.group.id)
    recorded = seeded_sim.sim.requests
    assert recorded and {r.remote for r in recorded} == {"127.0.0.2"}
    assert {r.account for r in recorded} == {client.user_id}
    assert all(r.ended is not None and r.ended >= r.at for r in recorded)


async def test_a_session_used_from_another_address_is_refused_like_vrchat_does(
    client_factory: ClientFactory, seeded_sim: SeededSim, tmp_path: Path
) -> None:
    session_file = tmp_path / "shared.json"
    first = await client_factory(source_address="127.0.0.2", session_path=session_file)
    await first.login()
    logins = seeded_sim.sim.password_logins
    # Same saved session, no password to log in again with: the other address cannot use it.
    moved = await client_factory(
        source_address="127.0.0.3", session_path=session_file, password=None, totp_secret=None
    )
    with pytest.raises(SessionExpired):
        await moved.login()
    assert seeded_sim.sim.password_logins == logins
    await first.get_group(seeded_sim.group.id)  # still good from where it was made


async def test_two_callers_of_one_account_in_flight_together_are_an_overlap(
    client_factory: ClientFactory, seeded_sim: SeededSim, tmp_path: Path
) -> None:
    sim = seeded_sim.sim
    sim.faults.add(Fault(method="GET", path=r"^/groups/[^/]+$", delay=0.3))
    one = await client_factory(session_path=tmp_path / "one.json", user_agent=f"{TEST_USER_AGENT} one")
    two = await client_factory(session_path=tmp_path / "two.json", user_agent=f"{TEST_USER_AGENT} two")
    await one.login()
    await two.login()
    assert sim.account_overlaps(by_user_agent) == []  # one after the other so far
    await asyncio.gather(one.get_group(seeded_sim.group.id), two.get_group(seeded_sim.group.id))
    found = sim.account_overlaps(by_user_agent)
    assert found and {found[0].first, found[0].second} == {f"{TEST_USER_AGENT} one", f"{TEST_USER_AGENT} two"}
    assert found[0].account == one.user_id
    assert sim.account_overlaps() == []  # both from 127.0.0.1: one caller as VRChat sees it
