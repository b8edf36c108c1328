"""Login, 2FA, session reuse across restarts, and the 401 rules — against the simulator."""

from __future__ import annotations

import asyncio
import json
import stat
import time

import pyotp
import pytest

from bot.sandbox.vrchat import Fault
from bot.vrchat import (
    LoginFailed,
    MalformedResponse,
    Politeness,
    SessionExpired,
    TwoFactorRequired,
    VRChatClient,
)
from tests.fixtures.vrchat_sim import SeededSim
from tests.vrchat.conftest import ClientFactory


def password_logins(seeded: SeededSim) -> int:
    return seeded.sim.password_logins


async def test_totp_login_saves_a_0600_session(
    client_factory: ClientFactory, seeded_sim: SeededSim, tmp_path
) -> None:
    client = await client_factory()
    user_id = await client.login()
    assert user_id == seeded_sim.bot.id
    assert password_logins(seeded_sim) == 1
    assert seeded_sim.sim.requests_to("POST", r"/auth/twofactorauth/totp/verify")

    saved = tmp_path / "session.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    payload = json.loads(saved.read_text())
    assert set(payload["cookies"]) == {"auth", "twoFactorAuth"}
    assert payload["user_id"] == seeded_sim.bot.id
    assert seeded_sim.password not in saved.read_text() and seeded_sim.totp_secret not in saved.read_text()


async def test_basic_auth_header_only_on_the_login_call(
    client_factory: ClientFactory, seeded_sim: SeededSim
) -> None:
    client = await client_factory()
    await client.login()
    await client.get_group(seeded_sim.group.id)
    with_basic = [
        r for r in seeded_sim.sim.requests if r.headers.get("Authorization", "").startswith("Basic ")
    ]
    assert [(r.method, r.path) for r in with_basic] == [("GET", "/auth/user")]


async def test_restart_reuses_the_session_file(client_factory: ClientFactory, seeded_sim: SeededSim) -> None:
    first = await client_factory()
    await first.login()
    await first.close()
    seeded_sim.sim.requests.clear()

    second = await client_factory()  # same session path: a restarted bot
    assert await second.login() == seeded_sim.bot.id
    assert password_logins(seeded_sim) == 1  # no second password login
    assert [(r.method, r.path) for r in seeded_sim.sim.requests] == [("GET", "/auth")]  # validated once
    group = await second.get_group(seeded_sim.group.id)
    assert group.id == seeded_sim.group.id


async def test_expired_saved_session_logs_in_again_once(
    client_factory: ClientFactory, seeded_sim: SeededSim
) -> None:
    first = await client_factory()
    await first.login()
    await first.close()
    seeded_sim.sim.expire_sessions(forget_devices=True)

    second = await client_factory()
    await second.login()
    assert password_logins(seeded_sim) == 2
    await second.get_group(seeded_sim.group.id)


async def test_prompted_totp_and_recovery_code(
    client_factory: ClientFactory, seeded_sim: SeededSim, tmp_path
) -> None:
    asked: list[list[str]] = []

    async def prompt(methods: list[str]) -> tuple[str, str]:
        asked.append(methods)
        return "totp", pyotp.TOTP(seeded_sim.totp_secret).now()

    client = await client_factory(totp_secret=None)
    assert await client.login(prompt=prompt) == seeded_sim.bot.id
    assert asked and "totp" in asked[0]

    seeded_sim.bot.recovery_codes.append("abcd-1234")
    seeded_sim.sim.expire_sessions(forget_devices=True)

    async def recovery(methods: list[str]) -> tuple[str, str]:
        return "otp", " abcd-1234 "

    again = await client_factory(totp_secret=None, session_path=tmp_path / "other.json")
    await again.login(prompt=recovery)
    assert seeded_sim.sim.requests_to("POST", r"/auth/twofactorauth/otp/verify")
    assert "abcd-1234" not in seeded_sim.bot.recovery_codes  # used up


async def test_two_factor_without_secret_or_prompt(client_factory: ClientFactory, tmp_path) -> None:
    client = await client_factory(totp_secret=None)
    with pytest.raises(TwoFactorRequired) as err:
        await client.login()
    assert "totp" in err.value.methods and "groupbridge login" in str(err.value)
    assert not (tmp_path / "session.json").exists()


async def test_wrong_password_and_wrong_code(
    client_factory: ClientFactory, seeded_sim: SeededSim, tmp_path
) -> None:
    client = await client_factory(password="wrong")
    with pytest.raises(LoginFailed, match="username or password"):
        await client.login()

    asked: list[list[str]] = []

    async def bad_code(methods: list[str]) -> tuple[str, str]:
        asked.append(methods)
        return "totp", wrong_code(seeded_sim)

    other = await client_factory(totp_secret=None)
    with pytest.raises(LoginFailed, match=r"did not accept the authenticator code \(3 tries\)"):
        await other.login(prompt=bad_code)
    assert len(asked) == 3  # asked again, a few times...
    assert password_logins(seeded_sim) == 1  # ...within one password login (the first one was refused)
    assert not (tmp_path / "session.json").exists()


def wrong_code(seeded: SeededSim) -> str:
    """A code the simulator refuses (it accepts one step of clock drift either way)."""
    totp = pyotp.TOTP(seeded.totp_secret)
    now = time.time()
    valid = {totp.at(now + step * 30) for step in (-2, -1, 0, 1, 2)}
    return next(code for code in (str(n) * 6 for n in range(10)) if code not in valid)


async def test_a_mistyped_code_is_asked_for_again_without_a_new_password_login(
    client_factory: ClientFactory, seeded_sim: SeededSim, tmp_path
) -> None:
    answers = iter([wrong_code(seeded_sim), None])

    async def person(methods: list[str]) -> tuple[str, str]:
        return "totp", next(answers) or seeded_sim.totp_now()

    client = await client_factory(totp_secret=None)
    assert await client.login(prompt=person) == seeded_sim.bot.id
    assert password_logins(seeded_sim) == 1
    assert len(seeded_sim.sim.requests_to("POST", r"/auth/twofactorauth/totp/verify")) == 2
    assert (tmp_path / "session.json").exists()


async def test_a_wrong_totp_secret_is_not_tried_again(
    client_factory: ClientFactory, seeded_sim: SeededSim, tmp_path
) -> None:
    client = await client_factory(totp_secret=pyotp.random_base32())
    with pytest.raises(LoginFailed, match="authenticator code made from the TOTP secret"):
        await client.login()
    assert len(seeded_sim.sim.requests_to("POST", r"/auth/twofactorauth/totp/verify")) == 1


@pytest.mark.parametrize(
    ("password", "missing"),
    [(None, "no password configured"), ("correct horse", None)],
)
async def test_no_session_and_no_password(
    client_factory: ClientFactory, password: str | None, missing: str | None
) -> None:
    client = await client_factory(password=password, totp_secret=None)
    if missing is None:  # the password is there: what is missing is an answer to 2FA
        with pytest.raises(TwoFactorRequired, match="totp_secret"):
            await client.login()
        return
    with pytest.raises(SessionExpired, match="groupbridge login") as err:
        await client.login()
    assert missing in str(err.value) and "username" not in str(err.value)


async def test_401_mid_run_leads_to_exactly_one_relogin(client: VRChatClient, seeded_sim: SeededSim) -> None:
    assert password_logins(seeded_sim) == 1
    seeded_sim.sim.expire_sessions()
    # Many tasks hit the 401 at once; only one may log in again (single flight).
    results = await asyncio.gather(*(client.get_group(seeded_sim.group.id) for _ in range(8)))
    assert {g.id for g in results} == {seeded_sim.group.id}
    assert password_logins(seeded_sim) == 2
    assert not client.session_blocked


async def test_second_401_within_the_interval_stops_calling(
    client_factory: ClientFactory, seeded_sim: SeededSim
) -> None:
    client = await client_factory(relogin_interval=3600)
    await client.login()
    seeded_sim.sim.expire_sessions()
    await client.get_group(seeded_sim.group.id)  # first expiry: one re-login
    seeded_sim.sim.expire_sessions()
    with pytest.raises(SessionExpired, match="not retrying"):
        await client.get_group(seeded_sim.group.id)
    assert password_logins(seeded_sim) == 2
    assert client.session_blocked

    before = len(seeded_sim.sim.requests)
    for _ in range(3):
        with pytest.raises(SessionExpired):
            await client.get_group(seeded_sim.group.id)
    assert len(seeded_sim.sim.requests) == before  # stopped calling: no retry loop


async def test_401_without_unattended_login_raises_session_expired(
    client_factory: ClientFactory, seeded_sim: SeededSim
) -> None:
    async def prompt(methods: list[str]) -> tuple[str, str]:
        return "totp", pyotp.TOTP(seeded_sim.totp_secret).now()

    client = await client_factory(totp_secret=None)
    await client.login(prompt=prompt)
    seeded_sim.sim.expire_sessions(forget_devices=True)
    with pytest.raises(SessionExpired, match="groupbridge login"):
        await client.get_group(seeded_sim.group.id)
    assert password_logins(seeded_sim) == 1
    before = len(seeded_sim.sim.requests)
    with pytest.raises(SessionExpired):
        await client.list_group_roles(seeded_sim.group.id)
    assert len(seeded_sim.sim.requests) == before


async def test_a_blocked_client_picks_up_the_session_groupbridge_login_saved(
    client_factory: ClientFactory, seeded_sim: SeededSim
) -> None:
    async def prompt(methods: list[str]) -> tuple[str, str]:
        return "totp", pyotp.TOTP(seeded_sim.totp_secret).now()

    running = await client_factory(totp_secret=None)  # the bot: no way to log in by itself
    await running.login(prompt=prompt)
    seeded_sim.sim.expire_sessions(forget_devices=True)
    with pytest.raises(SessionExpired):
        await running.get_group(seeded_sim.group.id)
    before = len(seeded_sim.sim.requests)
    with pytest.raises(SessionExpired):  # the same file as when it blocked: not even one request
        await running.get_group(seeded_sim.group.id)
    assert len(seeded_sim.sim.requests) == before

    operator = await client_factory(totp_secret=None)  # `groupbridge login`, another process
    await operator.login(prompt=prompt, force=True)
    checks = len(seeded_sim.sim.requests_to("GET", r"^/auth$"))
    group = await running.get_group(seeded_sim.group.id)  # no restart
    assert group.id == seeded_sim.group.id and not running.session_blocked
    assert len(seeded_sim.sim.requests_to("GET", r"^/auth$")) == checks + 1  # one look at the new file
    assert password_logins(seeded_sim) == 2  # the bot never tried the password itself


async def test_a_new_session_file_met_by_a_vrchat_outage_is_looked_at_again(
    client_factory: ClientFactory, seeded_sim: SeededSim
) -> None:
    async def prompt(methods: list[str]) -> tuple[str, str]:
        return "totp", pyotp.TOTP(seeded_sim.totp_secret).now()

    # No retries of a 503: the one failed look must reach the session code, not be retried away.
    no_retries = Politeness(requests_per_second=500, burst=50, max_server_retries=0, base_backoff=0.01)
    running = await client_factory(totp_secret=None, politeness=no_retries)
    await running.login(prompt=prompt)
    seeded_sim.sim.expire_sessions(forget_devices=True)
    with pytest.raises(SessionExpired):
        await running.get_group(seeded_sim.group.id)
    operator = await client_factory(totp_secret=None)
    await operator.login(prompt=prompt, force=True)
    seeded_sim.sim.faults.add(Fault(method="GET", path=r"^/auth$", status=503, times=1))
    with pytest.raises(SessionExpired):  # VRChat could not say whether the new session is good...
        await running.get_group(seeded_sim.group.id)
    group = await running.get_group(seeded_sim.group.id)  # ...so the same file is looked at again
    assert group.id == seeded_sim.group.id and not running.session_blocked


async def test_explicit_login_unblocks(client_factory: ClientFactory, seeded_sim: SeededSim) -> None:
    client = await client_factory(relogin_interval=3600)
    await client.login()
    client._auth.blocked = True  # as after a SessionExpired
    await client.login(force=True)
    assert not client.session_blocked
    await client.get_group(seeded_sim.group.id)


async def test_email_otp_by_prompt(client_factory: ClientFactory, seeded_sim: SeededSim, tmp_path) -> None:
    seeded_sim.sim.state.add_user("Mailer", username="mail-bot", password="mail pass", email_otp="482913")
    offered: list[list[str]] = []

    async def prompt(methods: list[str]) -> tuple[str, str]:
        offered.append(methods)
        return "emailOtp", "482913"

    client = await client_factory(
        username="mail-bot", password="mail pass", totp_secret=None, session_path=tmp_path / "mail.json"
    )
    await client.login(prompt=prompt)
    assert offered == [["emailOtp"]]
    assert seeded_sim.sim.requests_to("POST", r"/auth/twofactorauth/emailotp/verify")
    assert (await client.get_current_user()).display_name == "Mailer"


async def test_an_unreadable_login_answer_is_a_vrchat_error_not_a_pydantic_one(
    client_factory: ClientFactory, seeded_sim: SeededSim
) -> None:
    """The login reads the current user through the same liberal parser as every other answer: a
    body without an id is a MalformedResponse (a VRChatError the CLI reports in one line)."""
    seeded_sim.sim.faults.add(Fault(method="GET", path=r"^/auth/user$", body='{"displayName": "x"}'))
    client = await client_factory()
    with pytest.raises(MalformedResponse, match="unreadable current user"):
        await client.login()
