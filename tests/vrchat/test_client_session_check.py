"""A 401 is not always a lost session: one `GET /auth` tells them apart before the client re-logs in
or blocks; and a `groupbridge login` that finds the session valid wakes a blocked client. Against the
simulator; its faults answer 401 on one call while the session stays valid."""

from __future__ import annotations

import json
import stat

import pytest

from bot.sandbox.vrchat import Fault
from bot.vrchat import CallRefused, SessionExpired, Unauthorized, VRChatClient
from bot.vrchat.auth import SESSION_CHECK_INTERVAL
from tests.fixtures.clocks import Monotonic
from tests.fixtures.vrchat_sim import SeededSim
from tests.vrchat.conftest import ClientFactory


def session_checks(seeded: SeededSim) -> int:
    return len(seeded.sim.requests_to("GET", r"^/auth$"))


def refuse_audit_log(seeded: SeededSim, times: int | None = None) -> Fault:
    return seeded.sim.faults.add(Fault(method="GET", path=r"/auditLogs$", status=401, times=times))


async def logged_in(client_factory: ClientFactory, seeded: SeededSim, **overrides: object) -> VRChatClient:
    """The bot's client (configured as `overrides` say) on the session `groupbridge login` saved."""

    async def person(methods: list[str]) -> tuple[str, str]:
        return "totp", seeded.totp_now()

    operator = await client_factory(totp_secret=None)
    await operator.login(prompt=person)
    client = await client_factory(**overrides)
    await client.login()  # reuses the saved session
    return client


async def test_a_401_while_the_session_is_valid_fails_that_call_only(
    client_factory: ClientFactory, seeded_sim: SeededSim, auth_clock: Monotonic
) -> None:
    client = await logged_in(client_factory, seeded_sim, password=None, totp_secret=None)
    group = seeded_sim.group.id
    refuse_audit_log(seeded_sim, times=3)
    checks = session_checks(seeded_sim)

    with pytest.raises(CallRefused) as refused:
        await client.get_audit_logs(group)
    assert isinstance(refused.value, Unauthorized) and not isinstance(refused.value, SessionExpired)
    assert "session is still valid" in str(refused.value) and "/auditLogs" in str(refused.value)
    assert not client.session_blocked and not client.session_state.blocked
    assert session_checks(seeded_sim) == checks + 1  # looked once

    with pytest.raises(CallRefused):  # refused again soon after: no second look at the session
        await client.get_audit_logs(group)
    assert session_checks(seeded_sim) == checks + 1

    auth_clock.now += SESSION_CHECK_INTERVAL
    with pytest.raises(CallRefused):  # later on, the session is looked at again
        await client.get_audit_logs(group)
    assert session_checks(seeded_sim) == checks + 2

    await client.get_audit_logs(group)  # the fault is spent: the call works again
    assert (await client.get_group(group)).id == group  # and the session never stopped working
    assert seeded_sim.sim.password_logins == 1


async def test_a_spurious_401_costs_no_password_login(
    client_factory: ClientFactory, seeded_sim: SeededSim, auth_clock: Monotonic
) -> None:
    client = await client_factory()  # password and TOTP secret: it could log in again by itself
    await client.login()
    refuse_audit_log(seeded_sim, times=1)
    with pytest.raises(CallRefused):
        await client.get_audit_logs(seeded_sim.group.id)
    assert seeded_sim.sim.password_logins == 1
    assert not client.session_blocked


async def test_a_session_check_vrchat_cannot_answer_does_not_block(
    client_factory: ClientFactory, seeded_sim: SeededSim, auth_clock: Monotonic
) -> None:
    client = await logged_in(client_factory, seeded_sim, password=None, totp_secret=None)
    refuse_audit_log(seeded_sim, times=1)
    seeded_sim.sim.faults.add(Fault(method="GET", path=r"^/auth$", status=503))
    with pytest.raises(CallRefused):  # "cannot say" is not "the session is gone"
        await client.get_audit_logs(seeded_sim.group.id)
    assert not client.session_blocked
    seeded_sim.sim.faults.clear()
    await client.get_audit_logs(seeded_sim.group.id)


@pytest.mark.parametrize(
    ("password", "totp", "missing"),
    [
        (None, None, "(no password and no TOTP secret configured)"),
        (None, "totp", "(no password configured)"),
        ("correct horse", None, "(no TOTP secret configured)"),
    ],
)
async def test_a_session_that_really_ended_blocks_and_names_what_is_missing(
    client_factory: ClientFactory,
    seeded_sim: SeededSim,
    auth_clock: Monotonic,
    password: str | None,
    totp: str | None,
    missing: str,
) -> None:
    secret = seeded_sim.totp_secret if totp else None
    client = await logged_in(client_factory, seeded_sim, password=password, totp_secret=secret)
    seeded_sim.sim.expire_sessions(forget_devices=True)
    with pytest.raises(SessionExpired) as expired:
        await client.get_audit_logs(seeded_sim.group.id)
    assert missing in str(expired.value) and "groupbridge login" in str(expired.value)
    assert client.session_blocked
    state = client.session_state
    assert state.blocked and state.lost_at is not None and state.reason == str(expired.value)
    assert seeded_sim.sim.password_logins == 1


async def test_login_finding_the_session_valid_wakes_a_blocked_client(
    client_factory: ClientFactory, seeded_sim: SeededSim, tmp_path, auth_clock: Monotonic
) -> None:
    running = await logged_in(client_factory, seeded_sim, password=None, totp_secret=None)
    path = tmp_path / "session.json"
    saved = json.loads(path.read_text())
    # VRChat answers 401 to a poll and to the check of the session, yet the session is fine: the
    # bot cannot tell, blocks and waits for a person.
    refuse_audit_log(seeded_sim, times=1)
    seeded_sim.sim.faults.add(Fault(method="GET", path=r"^/auth$", status=401, times=1))
    with pytest.raises(SessionExpired):
        await running.get_audit_logs(seeded_sim.group.id)
    assert running.session_blocked

    operator = await client_factory(password=None, totp_secret=None)  # `groupbridge login`
    assert await operator.login() == seeded_sim.bot.id  # the saved session is valid: nothing to log in
    confirmed = json.loads(path.read_text())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert confirmed["cookies"] == saved["cookies"] and confirmed["saved_at"] == saved["saved_at"]
    assert confirmed["confirmed_at"]

    checks = session_checks(seeded_sim)
    await running.get_audit_logs(seeded_sim.group.id)  # woke up, no restart
    assert session_checks(seeded_sim) == checks + 1  # it checked the session itself first
    state = running.session_state
    assert not state.blocked and state.back_by == "`groupbridge login`"
    assert state.back_at is not None and state.lost_at is not None and state.back_at >= state.lost_at
    assert seeded_sim.sim.password_logins == 1
