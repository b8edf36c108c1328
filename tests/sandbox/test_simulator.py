"""Behaviour of the VRChat simulator, exercised with a plain aiohttp client."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pyotp
import pytest

from bot.sandbox.vrchat import Fault, VRChatSimulator, render
from tests.fixtures.vrchat_sim import SeededSim, basic_auth


class Api:
    """Tiny JSON client over one cookie jar (unsafe=True: the simulator lives on an IP)."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self.session = session
        self.base_url = base_url

    async def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any, aiohttp.ClientResponse]:
        async with self.session.request(method, self.base_url + path, **kwargs) as resp:
            text = await resp.text()
            try:
                body = json.loads(text) if text else None
            except ValueError:
                body = text
            return resp.status, body, resp

    def cookie(self, name: str) -> str | None:
        for morsel in self.session.cookie_jar:
            if morsel.key == name:
                return morsel.value
        return None


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


@pytest.fixture
def api(http: aiohttp.ClientSession, seeded_sim: SeededSim) -> Api:
    return Api(http, seeded_sim.sim.base_url)


async def login_bot(api: Api, seeded: SeededSim) -> None:
    """Full password + TOTP login of the bot account."""
    status, body, _ = await api.call(
        "GET", "/auth/user", headers={"Authorization": basic_auth(seeded.username, seeded.password)}
    )
    assert status == 200 and body == {"requiresTwoFactorAuth": ["totp", "otp"]}
    status, body, _ = await api.call(
        "POST", "/auth/twofactorauth/totp/verify", json={"code": seeded.totp_now()}
    )
    assert status == 200 and body["verified"] is True


# --------------------------------------------------------------------------- auth
async def test_login_with_totp_two_factor(api: Api, seeded_sim: SeededSim) -> None:
    sim = seeded_sim.sim
    status, body, _ = await api.call(
        "GET", "/auth/user", headers={"Authorization": basic_auth(seeded_sim.username, seeded_sim.password)}
    )
    assert status == 200
    assert body == {"requiresTwoFactorAuth": ["totp", "otp"]}
    assert (api.cookie("auth") or "").startswith("authcookie_")
    assert sim.password_logins == 1

    # The pending session is not usable yet.
    status, body, _ = await api.call("GET", f"/groups/{seeded_sim.group.id}")
    assert status == 401 and body["error"]["status_code"] == 401

    status, body, _ = await api.call(
        "POST", "/auth/twofactorauth/totp/verify", json={"code": seeded_sim.totp_now()}
    )
    assert status == 200 and body["verified"] is True
    assert api.cookie("twoFactorAuth")

    status, body, _ = await api.call("GET", "/auth/user")
    assert status == 200 and body["id"] == seeded_sim.bot.id and body["displayName"] == "GroupBridge Bot"
    status, body, _ = await api.call("GET", "/auth")
    assert status == 200 and body == {"ok": True, "token": api.cookie("auth")}
    status, body, _ = await api.call("GET", f"/groups/{seeded_sim.group.id}")
    assert status == 200 and body["shortCode"] == "TESTG" and body["discriminator"] == "1234"
    assert body["myMember"]["permissions"] == ["*"]
    assert sim.password_logins == 1  # reusing the cookie is not a new login


async def test_wrong_password_is_401(api: Api, seeded_sim: SeededSim) -> None:
    for header in (basic_auth(seeded_sim.username, "wrong"), basic_auth("nobody", "x"), "Basic !!notbase64"):
        status, body, _ = await api.call("GET", "/auth/user", headers={"Authorization": header})
        assert status == 401
        assert body["error"]["status_code"] == 401
    assert api.cookie("auth") is None
    assert seeded_sim.sim.password_logins == 0


async def test_wrong_totp_code_is_rejected(api: Api, seeded_sim: SeededSim) -> None:
    await api.call(
        "GET", "/auth/user", headers={"Authorization": basic_auth(seeded_sim.username, seeded_sim.password)}
    )
    totp = pyotp.TOTP(seeded_sim.totp_secret)
    wrong = totp.at(datetime.now(UTC) - timedelta(minutes=10))
    status, body, _ = await api.call("POST", "/auth/twofactorauth/totp/verify", json={"code": wrong})
    assert status == 200 and body == {"verified": False}
    assert api.cookie("twoFactorAuth") is None
    status, _, _ = await api.call("GET", f"/groups/{seeded_sim.group.id}")
    assert status == 401
    status, body, _ = await api.call("POST", "/auth/twofactorauth/totp/verify", json={"code": totp.now()})
    assert body["verified"] is True
    status, _, _ = await api.call("GET", f"/groups/{seeded_sim.group.id}")
    assert status == 200


async def test_recovery_code_is_single_use_and_email_otp_works(vrchat_sim: VRChatSimulator) -> None:
    state = vrchat_sim.state
    state.add_user("Rec", username="rec", password="pw", recovery_codes=["aaaa-1111"])
    state.add_user("Mail", username="mail", password="pw", email_otp="424242")
    for login, path, code, methods in (
        ("rec", "/auth/twofactorauth/otp/verify", "aaaa-1111", ["totp", "otp"]),
        ("mail", "/auth/twofactorauth/emailotp/verify", "424242", ["emailOtp"]),
    ):
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            api = Api(session, vrchat_sim.base_url)
            status, body, _ = await api.call(
                "GET", "/auth/user", headers={"Authorization": basic_auth(login, "pw")}
            )
            assert body == {"requiresTwoFactorAuth": methods}
            status, body, _ = await api.call("POST", path, json={"code": code})
            assert status == 200 and body["verified"] is True
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        api = Api(session, vrchat_sim.base_url)
        await api.call("GET", "/auth/user", headers={"Authorization": basic_auth("rec", "pw")})
        status, body, _ = await api.call("POST", "/auth/twofactorauth/otp/verify", json={"code": "aaaa-1111"})
        assert body == {"verified": False}


async def test_endpoint_without_cookie_is_401(api: Api, seeded_sim: SeededSim) -> None:
    for path in (f"/groups/{seeded_sim.group.id}", f"/groups/{seeded_sim.group.id}/auditLogs", "/auth"):
        status, body, _ = await api.call("GET", path)
        assert status == 401
        assert body == {"error": {"message": '"Missing Credentials"', "status_code": 401}}


async def test_expire_sessions_invalidates_old_cookies(api: Api, seeded_sim: SeededSim) -> None:
    await login_bot(api, seeded_sim)
    old_cookie = api.cookie("auth")
    assert (await api.call("GET", "/auth"))[0] == 200
    seeded_sim.sim.expire_sessions()
    status, body, _ = await api.call("GET", f"/groups/{seeded_sim.group.id}")
    assert status == 401 and body["error"]["status_code"] == 401
    assert (await api.call("GET", "/auth"))[0] == 401
    # Logging in again works; the remembered twoFactorAuth cookie skips the second factor.
    status, body, _ = await api.call(
        "GET", "/auth/user", headers={"Authorization": basic_auth(seeded_sim.username, seeded_sim.password)}
    )
    assert status == 200 and body["id"] == seeded_sim.bot.id
    assert api.cookie("auth") != old_cookie
    assert seeded_sim.sim.password_logins == 2


# --------------------------------------------------------------------------- paging
async def test_member_pagination_with_260_members(api: Api, seeded_sim: SeededSim) -> None:
    state, group = seeded_sim.sim.state, seeded_sim.group
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for i in range(260):
        user = state.add_user(f"Member {i:03d}")
        state.add_member(group.id, user.id, joined_at=start + timedelta(minutes=i))
    expected = group.member_count
    assert expected == 263  # 260 + owner + moderator + plain member
    await login_bot(api, seeded_sim)
    seen: list[str] = []
    offset = 0
    while True:
        status, page, _ = await api.call(
            "GET", f"/groups/{group.id}/members", params={"n": "100", "offset": offset}
        )
        assert status == 200
        assert len(page) <= 100
        seen += [m["userId"] for m in page]
        if len(page) < 100:
            break
        offset += 100
    # The spec: this endpoint never returns the caller (the bot, owner here).
    assert len(seen) == expected - 1 and len(set(seen)) == expected - 1
    assert seeded_sim.bot.id not in seen
    status, page, _ = await api.call(
        "GET", f"/groups/{group.id}/members", params={"n": "3", "sort": "joinedAt:asc"}
    )
    assert [m["user"]["displayName"] for m in page] == ["Member 000", "Member 001", "Member 002"]
    status, page, _ = await api.call("GET", f"/groups/{group.id}/members", params={"offset": "1000"})
    assert status == 200 and page == []


async def test_audit_log_paging_and_filters(api: Api, seeded_sim: SeededSim) -> None:
    state, group, bot = seeded_sim.sim.state, seeded_sim.group, seeded_sim.bot
    base = datetime(2024, 5, 1, tzinfo=UTC)
    for i in range(1000):
        event = "group.user.ban" if i % 10 == 0 else "group.member.remove"
        actor = seeded_sim.moderator.id if i % 2 else bot.id
        state.add_audit_entry(
            group.id, event, actor, f"usr_target{i}", f"entry {i}", created_at=base + timedelta(minutes=i)
        )
    await login_bot(api, seeded_sim)
    url = f"/groups/{group.id}/auditLogs"

    ids: list[str] = []
    offset, pages = 0, 0
    while True:
        status, body, _ = await api.call("GET", url, params={"n": "100", "offset": offset})
        assert status == 200 and body["totalCount"] == 1000
        ids += [e["id"] for e in body["results"]]
        pages += 1
        if not body["hasNext"]:
            break
        offset += 100
    assert pages == 10 and len(set(ids)) == 1000

    status, body, _ = await api.call("GET", url, params={"n": "3"})
    assert [e["description"] for e in body["results"]] == ["entry 999", "entry 998", "entry 997"]
    assert body["results"][0]["created_at"] == "2024-05-01T16:39:00.000Z"

    # startDate is inclusive: entries 990..999.
    since = (base + timedelta(minutes=990)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    status, body, _ = await api.call("GET", url, params={"startDate": since, "n": "100"})
    assert body["totalCount"] == 10 and body["hasNext"] is False
    assert body["results"][-1]["description"] == "entry 990"

    window = {
        "startDate": since,
        "endDate": (base + timedelta(minutes=994)).isoformat(),
        "n": "2",
        "offset": "2",
    }
    status, body, _ = await api.call("GET", url, params=window)
    assert body["totalCount"] == 5 and body["hasNext"] is True
    assert [e["description"] for e in body["results"]] == ["entry 992", "entry 991"]

    status, body, _ = await api.call("GET", url, params={"eventTypes": "group.user.ban", "actorIds": bot.id})
    assert body["totalCount"] == 100 and len(body["results"]) == 60 and body["hasNext"] is True
    assert all(e["eventType"] == "group.user.ban" and e["actorId"] == bot.id for e in body["results"])

    status, body, _ = await api.call("GET", f"/groups/{group.id}/auditLogTypes")
    assert body == ["group.member.remove", "group.user.ban"]


# --------------------------------------------------------------------------- actions
async def test_moderation_actions_write_audit_entries(api: Api, seeded_sim: SeededSim) -> None:
    group, state = seeded_sim.group, seeded_sim.sim.state
    await login_bot(api, seeded_sim)
    gid = group.id
    assert (
        await api.call("PUT", f"/groups/{gid}/requests/{seeded_sim.requester.id}", json={"action": "accept"})
    )[0] == 200
    assert (await api.call("POST", f"/groups/{gid}/invites", json={"userId": seeded_sim.outsider.id}))[
        0
    ] == 200
    assert (await api.call("DELETE", f"/groups/{gid}/invites/{seeded_sim.outsider.id}"))[0] == 200
    assert (await api.call("DELETE", f"/groups/{gid}/members/{seeded_sim.member.id}"))[0] == 200
    status, body, _ = await api.call("POST", f"/groups/{gid}/bans", json={"userId": seeded_sim.outsider.id})
    assert status == 200 and body["membershipStatus"] == "banned"
    assert (await api.call("DELETE", f"/groups/{gid}/bans/{seeded_sim.outsider.id}"))[0] == 200
    assert [e.event_type for e in state.audit(gid)] == [
        "group.user.unban",
        "group.user.ban",
        "group.member.remove",
        "group.invite.cancel",
        "group.invite.create",
        "group.request.accept",
    ]
    newest = state.audit(gid)[0]
    assert newest.actor_id == seeded_sim.bot.id and newest.target_id == seeded_sim.outsider.id
    assert newest.id.startswith("gaud_")
    assert state.is_member(gid, seeded_sim.requester.id) and not state.is_member(gid, seeded_sim.member.id)


async def test_vrchat_like_errors(api: Api, seeded_sim: SeededSim) -> None:
    await login_bot(api, seeded_sim)
    gid = seeded_sim.group.id
    status, body, _ = await api.call("POST", f"/groups/{gid}/invites", json={"userId": seeded_sim.member.id})
    assert status == 400 and "already a member" in body["error"]["message"]
    assert not body["error"]["message"].endswith(".")  # a look-alike, as VRChat does
    status, body, _ = await api.call("GET", "/groups/grp_00000000-0000-0000-0000-000000000000")
    assert status == 404 and body["error"]["status_code"] == 404
    status, body, _ = await api.call("GET", "/users/usr_00000000-0000-0000-0000-000000000000")
    assert status == 404
    status, body, _ = await api.call(
        "PUT", f"/groups/{gid}/requests/{seeded_sim.outsider.id}", json={"action": "reject"}
    )
    assert status == 400
    status, body, _ = await api.call("GET", f"/users/{seeded_sim.moderator.id}/instances/groups")
    assert status == 403
    status, body, _ = await api.call("GET", f"/users/{seeded_sim.bot.id}/instances/groups")
    assert status == 200 and [i["instanceId"] for i in body["instances"]] == [seeded_sim.instance.instance_id]


async def test_permissions_owner_moderator_member(http: aiohttp.ClientSession, seeded_sim: SeededSim) -> None:
    sim, gid = seeded_sim.sim, seeded_sim.group.id
    member_api = Api(http, sim.base_url)
    status, _, _ = await member_api.call(
        "GET", "/auth/user", headers={"Authorization": basic_auth("member-bob", "member pass")}
    )
    assert status == 200
    status, body, _ = await member_api.call(
        "POST", f"/groups/{gid}/bans", json={"userId": seeded_sim.outsider.id}
    )
    assert status == 403 and body["error"]["status_code"] == 403
    assert (await member_api.call("GET", f"/groups/{gid}/auditLogs"))[0] == 403
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        mod_api = Api(session, sim.base_url)
        await mod_api.call(
            "GET", "/auth/user", headers={"Authorization": basic_auth("mod-alice", "mod pass")}
        )
        status, _, _ = await mod_api.call(
            "POST", f"/groups/{gid}/bans", json={"userId": seeded_sim.outsider.id}
        )
        assert status == 200
        status, _, _ = await mod_api.call("DELETE", f"/groups/{gid}/members/{seeded_sim.bot.id}")
        assert status == 403  # nobody kicks the owner
    assert sim.state.audit(gid)[0].actor_id == seeded_sim.moderator.id


# --------------------------------------------------------------------------- faults
async def test_fault_rate_limit_with_retry_after_and_times(api: Api, seeded_sim: SeededSim) -> None:
    await login_bot(api, seeded_sim)
    fault = seeded_sim.sim.faults.add(
        Fault(method="GET", path=r"^/groups/[^/]+/auditLogs$", status=429, retry_after=2, times=2)
    )
    url = f"/groups/{seeded_sim.group.id}/auditLogs"
    for _ in range(2):
        status, body, resp = await api.call("GET", url)
        assert status == 429 and resp.headers["Retry-After"] == "2"
        assert body["error"]["status_code"] == 429
    assert (await api.call("GET", f"/groups/{seeded_sim.group.id}"))[0] == 200  # other paths untouched
    assert (await api.call("GET", url))[0] == 200  # exhausted
    assert fault.hits == 2 and len(seeded_sim.sim.faults) == 0


async def test_fault_server_error_with_html_body(api: Api, seeded_sim: SeededSim) -> None:
    await login_bot(api, seeded_sim)
    seeded_sim.sim.faults.add(Fault(status=502, body="<html><body>Bad gateway</body></html>"))
    status, body, resp = await api.call("GET", f"/groups/{seeded_sim.group.id}/members")
    assert status == 502 and resp.content_type == "text/html" and body.startswith("<html>")
    seeded_sim.sim.faults.clear()
    assert (await api.call("GET", f"/groups/{seeded_sim.group.id}/members"))[0] == 200


async def test_fault_malformed_json(api: Api, seeded_sim: SeededSim) -> None:
    await login_bot(api, seeded_sim)
    seeded_sim.sim.faults.add(Fault(path="auditLogs", body='{"results": [', times=1))
    async with api.session.get(f"{api.base_url}/groups/{seeded_sim.group.id}/auditLogs") as resp:
        assert resp.status == 200 and resp.content_type == "application/json"
        with pytest.raises(json.JSONDecodeError):
            await resp.json()


async def test_fault_delay_then_normal_response(api: Api, seeded_sim: SeededSim) -> None:
    await login_bot(api, seeded_sim)
    seeded_sim.sim.faults.add(Fault(method="GET", path=r"/roles$", delay=0.3, times=1))
    started = time.monotonic()
    status, body, _ = await api.call("GET", f"/groups/{seeded_sim.group.id}/roles")
    assert time.monotonic() - started >= 0.3
    assert status == 200 and [r["name"] for r in body] == ["Moderator"]
    started = time.monotonic()
    await api.call("GET", f"/groups/{seeded_sim.group.id}/roles")
    assert time.monotonic() - started < 0.3
    with pytest.raises(TimeoutError):
        seeded_sim.sim.faults.add(Fault(delay=5, times=1))
        await api.call("GET", "/auth", timeout=aiohttp.ClientTimeout(total=0.2))


# --------------------------------------------------------------------------- validation
async def test_request_violations_are_recorded_and_answered_400(api: Api, seeded_sim: SeededSim) -> None:
    sim, gid = seeded_sim.sim, seeded_sim.group.id
    await login_bot(api, seeded_sim)
    cases = [
        (
            "PUT",
            f"/groups/{gid}/requests/{seeded_sim.requester.id}",
            {"json": {"action": "approve"}},
            "approve",
        ),
        (
            "PUT",
            f"/groups/{gid}/requests/{seeded_sim.requester.id}",
            {"json": {"action": "accept", "x": 1}},
            "'x'",
        ),
        ("GET", f"/groups/{gid}/members", {"params": {"n": "1000"}}, "maximum"),
        ("GET", f"/groups/{gid}/members", {"params": {"limit": "10"}}, "limit"),
        ("GET", f"/groups/{gid}/auditLogs", {"params": {"startDate": "yesterday"}}, "date-time"),
        ("POST", f"/groups/{gid}/bans", {"data": "userId=x"}, "mimetype"),
        ("GET", "/no/such/endpoint", {}, "no such path"),
    ]
    for method, path, kwargs, needle in cases:
        sim.violations.clear()
        status, body, _ = await api.call(method, path, **kwargs)
        assert status == 400, (method, path)
        assert body["error"]["status_code"] == 400
        assert len(sim.violations) >= 1 and needle in " ".join(sim.violations), sim.violations
    assert seeded_sim.requester.id in {m.user_id for m in sim.state.group(gid).with_status("requested")}
    sim.violations.clear()


async def test_response_violations_are_recorded(
    api: Api, seeded_sim: SeededSim, monkeypatch: pytest.MonkeyPatch
) -> None:
    await login_bot(api, seeded_sim)
    original = render.role

    def broken_role(role: Any) -> dict[str, Any]:
        out = original(role)
        out["permissions"] = ["not-a-permission"]
        return out

    monkeypatch.setattr(render, "role", broken_role)
    status, body, _ = await api.call("GET", f"/groups/{seeded_sim.group.id}/roles")
    assert status == 200 and body[0]["permissions"] == ["not-a-permission"]  # still sent
    assert len(seeded_sim.sim.violations) == 1 and "not-a-permission" in seeded_sim.sim.violations[0]
    seeded_sim.sim.violations.clear()


async def test_unchecked_json_is_served_as_given_and_only_its_responses_skip_validation(
    api: Api, seeded_sim: SeededSim
) -> None:
    """Test-only hostile input (issue #12): fields replaced or dropped, or a whole object replaced,
    served as JSON encodes it (a lone surrogate as an escape); every other response is still checked."""
    await login_bot(api, seeded_sim)
    state, sim, group = seeded_sim.sim.state, seeded_sim.sim, seeded_sim.group.id
    odd = state.inject_unchecked_audit_entry(
        group, {"created_at": 5, "description": "bad \ud800", "id": render.DROP}
    )
    whole = state.inject_unchecked_audit_entry(group, ["not", "an", "entry"])
    seeded_sim.requester.unchecked_json = {"displayName": None}
    async with api.session.get(f"{sim.base_url}/groups/{group}/auditLogs") as resp:
        raw = await resp.read()
    assert b'"bad \\ud800"' in raw  # the escape JSON uses for a lone surrogate
    body = json.loads(raw)
    assert body["results"][0] == ["not", "an", "entry"] and whole.id not in raw.decode()
    first = body["results"][1]
    assert first["created_at"] == 5 and "id" not in first and odd.id not in raw.decode()
    status, user, _ = await api.call("GET", f"/users/{seeded_sim.requester.id}")
    assert status == 200 and user["displayName"] is None
    assert sim.unchecked_responses == 2 and sim.violations == []
    # The same endpoints without unchecked JSON in the answer are validated as ever.
    clean = state.add_group("Clean", short_code="CLEAN", owner_id=seeded_sim.bot.id)
    state.add_audit_entry(clean.id, "group.update", seeded_sim.bot.id, clean.id, "fine")
    assert (await api.call("GET", f"/groups/{clean.id}/auditLogs"))[0] == 200
    assert (await api.call("GET", f"/users/{seeded_sim.moderator.id}"))[0] == 200
    assert sim.unchecked_responses == 2


async def test_requests_are_recorded(api: Api, seeded_sim: SeededSim) -> None:
    await login_bot(api, seeded_sim)
    await api.call(
        "PUT", f"/groups/{seeded_sim.group.id}/requests/{seeded_sim.requester.id}", json={"action": "reject"}
    )
    last = seeded_sim.sim.requests[-1]
    assert (last.method, last.path, last.json, last.status) == (
        "PUT",
        f"/groups/{seeded_sim.group.id}/requests/{seeded_sim.requester.id}",
        {"action": "reject"},
        200,
    )
    assert last.at <= time.monotonic() and "Cookie" in last.headers
    assert seeded_sim.sim.requests[0].path == "/auth/user"


async def test_without_validation_limits_still_apply() -> None:
    async with VRChatSimulator(validate=False) as sim:
        bot = sim.state.add_user("Bot", username="bot", password="pw")
        group = sim.state.add_group("G", short_code="GGG", owner_id=bot.id)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            api = Api(session, sim.base_url)
            await api.call("GET", "/auth/user", headers={"Authorization": basic_auth("bot", "pw")})
            status, body, _ = await api.call("GET", f"/groups/{group.id}/members", params={"n": "1000"})
            assert status == 400 and "1000" in body["error"]["message"]
        assert sim.violations == []
