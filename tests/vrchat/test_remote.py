"""One account, one egress, at the VRChat layer: the gate that keeps a process from calling VRChat
with an account it does not hold, and calls handed to the process that holds it (bot.vrchat.remote).

"Here" and "there" are two pools on the same simulator, as two processes would have: here holds
Alpha, there holds Bravo. The port between them runs each handed call on there's own client, through
the same encoding the bot's database desk uses, so what comes back has crossed JSON.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.vrchat import VRChatError
from bot.vrchat.errors import (
    AccountNotHeld,
    AuthError,
    CallRefused,
    RateLimited,
    TwoFactorRequired,
    Unauthorized,
)
from bot.vrchat.models import AuditLogPage, JoinRequestAction
from bot.vrchat.pool import AccountPool
from bot.vrchat.remote import ERRORS, JSON, decode_error, encode_arguments, encode_error, run_encoded
from bot.vrchat.router import GroupRouter
from tests.fixtures.vrchat_accounts import ALPHA, BRAVO, TwoAccounts, by_account, make_account, open_pool


class HandedTo:
    """The port as seen from "here": calls for accounts it does not hold run in `there`."""

    def __init__(self, there: AccountPool, held: set[str]) -> None:
        self.there, self.held = there, held
        self.handed: list[str] = []

    def holds(self, account: str) -> bool:
        return account in self.held

    async def call(self, account: str, method: str, arguments: dict[str, JSON]) -> JSON:
        self.handed.append(method)
        wire = json.loads(json.dumps(arguments))  # what the database row carries
        outcome = await run_encoded(self.there.account(account).client, method, wire)
        return json.loads(json.dumps(outcome))


@pytest.fixture
async def here_and_there(two: TwoAccounts, tmp_path: Path) -> AsyncIterator[tuple[GroupRouter, HandedTo]]:
    here = AccountPool(
        [
            make_account(two, tmp_path / "here", ALPHA, primary=True),
            make_account(two, tmp_path / "here", BRAVO, primary=False),
        ]
    )
    (tmp_path / "here").mkdir()
    await here.open()
    await here.account(ALPHA).client.login()  # here holds Alpha only: Bravo never logs in here
    there = await open_pool(two, tmp_path)
    port = HandedTo(there, {ALPHA})
    here.calls = port
    try:
        yield GroupRouter(here), port
    finally:
        await here.close()
        await there.close()


async def test_a_call_for_an_account_held_elsewhere_is_made_there(
    two: TwoAccounts, here_and_there: tuple[GroupRouter, HandedTo]
) -> None:
    router, port = here_and_there
    await router.pool.assign(g.id for g in two.groups)  # Bravo's standings, asked through the port
    assert router.pool.serving(two.only_b.id) is router.pool.account(BRAVO)
    page = await router.get_audit_logs(two.only_b.id, start_date=datetime(2020, 1, 1, tzinfo=UTC))
    direct = await port.there.account(BRAVO).client.get_audit_logs(
        two.only_b.id, start_date=datetime(2020, 1, 1, tzinfo=UTC)
    )
    assert isinstance(page, AuditLogPage) and page == direct and page.results
    await router.respond_join_request(two.only_b.id, two.requester.id, JoinRequestAction.ACCEPT)
    assert two.requester.id in {m.user_id for m in await router.list_group_members(two.only_b.id)}
    assert "respond_join_request" in port.handed and "get_audit_logs" in port.handed
    assert router.pool.account(BRAVO).client.request_count == 0  # not one request for Bravo from here
    # Alpha asked too, from here, when the group was placed (it is no member there); Bravo's calls
    # all came from there.
    assert set(by_account(two.sim, rf"^/groups/{two.only_b.id}")) == {two.alpha.id, two.bravo.id}


async def test_errors_come_back_as_the_same_class(
    two: TwoAccounts, here_and_there: tuple[GroupRouter, HandedTo]
) -> None:
    router, port = here_and_there
    await router.pool.assign([two.only_b.id])
    bravo = port.there.account(BRAVO).client
    for call in (
        lambda c: c.kick_member(two.only_b.id, two.stranger.id),  # not a member
        lambda c: c.get_group_member(two.only_b.id, "usr_00000000-0000-4000-8000-000000000000"),
    ):
        with pytest.raises(VRChatError) as direct:
            await call(bravo)
        with pytest.raises(VRChatError) as routed:
            await call(router)
        assert type(routed.value) is type(direct.value)
        assert (routed.value.status, str(routed.value)) == (direct.value.status, str(direct.value))


async def test_a_walk_over_pages_is_routed_page_by_page(
    two: TwoAccounts, here_and_there: tuple[GroupRouter, HandedTo]
) -> None:
    router, port = here_and_there
    await router.pool.assign([two.only_b.id])
    for user in (two.requester, two.stranger):
        two.sim.state.add_member(two.only_b.id, user.id)
    members = [m.user_id async for m in router.iter_group_members(two.only_b.id, page_size=1)]
    assert sorted(members) == sorted([two.requester.id, two.stranger.id])
    assert port.handed.count("list_group_members") >= len(members)


def example_of(cls: type[VRChatError]) -> VRChatError:
    """One error of the class, every field set to something other than its default."""
    if issubclass(cls, TwoFactorRequired):
        return cls(["totp", "emailOtp"])
    if issubclass(cls, AuthError):
        return cls("The VRChat session has expired; run `groupbridge login`.")
    if issubclass(cls, AccountNotHeld):
        return cls("no running process holds VRChat account bot-bravo", account="bot-bravo")
    if issubclass(cls, CallRefused):
        return cls.of(Unauthorized("Missing Credentials", status=401, method="GET", path="/groups/x"))
    if issubclass(cls, RateLimited):
        return cls("slow down", retry_after=12.5, status=429, method="GET", path="/groups/x")
    return cls("it went wrong", status=418, method="POST", path="/groups/x/invites")


@pytest.mark.parametrize("cls", [ERRORS[name] for name in sorted(ERRORS)], ids=sorted(ERRORS))
def test_every_error_class_round_trips_with_its_fields(cls: type[VRChatError]) -> None:
    """Each class of bot.vrchat.errors comes back from JSON as itself, with the same text and every
    field (its own too: `vars` holds them all), so a field added to a class without encoding it fails."""
    error = example_of(cls)
    assert type(error) is cls
    back = decode_error(json.loads(json.dumps(encode_error(error))))
    assert type(back) is cls
    assert str(back) == str(error) and back.status == error.status
    assert vars(back) == vars(error)


def test_an_error_class_unknown_here_comes_back_as_a_plain_vrchat_error() -> None:
    unknown = decode_error(
        {"kind": "SomethingNew", "status": 418, "message": "teapot", "text": "VRChat: teapot"}
    )
    assert type(unknown) is VRChatError
    assert (unknown.status, unknown.message, str(unknown)) == (418, "teapot", "VRChat: teapot")


def test_only_client_calls_are_routable() -> None:
    for name in ("login", "close", "_call", "user_id", "no_such_call"):
        with pytest.raises(ValueError, match="routed"):
            encode_arguments(name, (), {})
    assert encode_arguments("respond_join_request", ("grp_x", "usr_y", JoinRequestAction.REJECT), {}) == {
        "group_id": "grp_x",
        "user_id": "usr_y",
        "action": "reject",
    }


async def test_the_gate_refuses_without_the_lease(two: TwoAccounts, tmp_path: Path) -> None:
    account = make_account(two, tmp_path, ALPHA, primary=True)
    held = False
    account.client.gate(lambda: held, ALPHA)
    pool = AccountPool([account])  # closes the account's HTTP session too
    await pool.open()
    try:
        with pytest.raises(AccountNotHeld, match=ALPHA) as refused:
            await account.client.login()
        assert "password" not in str(refused.value).lower()
        assert two.sim.requests == []  # nothing reached VRChat
        held = True
        await account.client.login()
        assert await account.client.get_group(two.only_a.id)
        held = False  # the lease lapsed: a process waking up late sends nothing more
        sent = len(two.sim.requests)
        with pytest.raises(AccountNotHeld):
            await account.client.get_group(two.only_a.id)
        assert len(two.sim.requests) == sent
    finally:
        await pool.close()
