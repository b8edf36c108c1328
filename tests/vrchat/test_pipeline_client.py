"""The pipeline client against the simulator's pipeline: notices, refusals, back-off, a lost session.

Real parts end to end: a VRChatClient logged in to the simulator, its pipeline over a real
websocket, the simulator's own session store deciding what a token is worth.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest

from bot.sandbox.vrchat import VRChatSimulator
from bot.sandbox.vrchat.pipeline import MSG_NOT_ACTIVE
from bot.vrchat import VRChatClient
from bot.vrchat.pipeline import Backoff, JoinRequestNotice, PipelineClient, PipelineEvent, PipelineRefusal
from bot.vrchat.session_file import load_session
from tests.fixtures.logs import SecretLogCapture
from tests.fixtures.vrchat_sim import SeededSim
from tests.vrchat.conftest import TEST_USER_AGENT, ClientFactory

WAIT = 10.0


class Running:
    """A pipeline client running in a task, and what it has told us."""

    def __init__(self, pipeline: PipelineClient) -> None:
        self.pipeline = pipeline
        self.events: list[PipelineEvent] = []
        self.task: asyncio.Task[None] | None = None

    async def on_event(self, event: PipelineEvent) -> None:
        self.events.append(event)


async def until(predicate: Callable[[], bool], what: str, timeout: float = WAIT) -> None:  # noqa: ASYNC109
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110 - the other side is a server task, nothing to await
            await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def running(client: VRChatClient, sim: VRChatSimulator, **options: object) -> AsyncIterator[Running]:
    options.setdefault("backoff", Backoff(base=0.2, cap=0.4, max_per_window=1000))
    options.setdefault("idle_check", 0.05)
    run = Running(client.pipeline(sim.pipeline_url, **options))  # type: ignore[arg-type]
    run.task = asyncio.create_task(run.pipeline.run(run.on_event))
    try:
        yield run
    finally:
        run.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await run.task


def auth_checks(sim: VRChatSimulator) -> int:
    return len(sim.requests_to("GET", r"^/auth$"))


async def test_a_join_request_reaches_the_pipeline_as_a_notice(
    seeded_sim: SeededSim, client: VRChatClient, secret_log_capture: SecretLogCapture, tmp_path: Path
) -> None:
    sim = seeded_sim.sim
    async with running(client, sim) as run:
        await until(lambda: sim.pipeline.open_connections == 1, "a connection")
        newcomer = sim.state.add_user("Erin")
        sim.state.request_to_join(seeded_sim.group.id, newcomer.id)
        await until(lambda: bool(run.events), "the notice")
        (event,) = run.events
        assert isinstance(event, JoinRequestNotice)
        assert (event.group_id, event.user_id) == (seeded_sim.group.id, newcomer.id)
        assert run.pipeline.stats.connects == 1 and run.pipeline.stats.notices == 1
    (attempt,) = sim.pipeline.attempts
    assert attempt.user_agent == TEST_USER_AGENT and attempt.user_id == seeded_sim.bot.id
    saved = load_session(tmp_path / "session.json", seeded_sim.username)
    assert saved is not None
    secret_log_capture.assert_absent(saved.cookies["auth"])  # the URL carries it: never logged
    assert sim.violations == []  # the notification matched the spec's NotificationV2


@pytest.mark.parametrize("payload", ["link", "bare"])
async def test_a_notice_says_as_much_as_the_message(
    seeded_sim: SeededSim, client: VRChatClient, payload: str
) -> None:
    sim = seeded_sim.sim
    sim.pipeline.payload = payload  # type: ignore[assignment]
    async with running(client, sim) as run:
        await until(lambda: sim.pipeline.open_connections == 1, "a connection")
        sim.state.request_to_join(seeded_sim.group.id, sim.state.add_user("Erin").id)
        await until(lambda: bool(run.events), "the notice")
    expected = seeded_sim.group.id if payload == "link" else None
    assert [getattr(e, "group_id", "?") for e in run.events] == [expected]


async def test_only_managers_of_the_group_are_notified(
    seeded_sim: SeededSim, client_factory: ClientFactory, tmp_path: Path
) -> None:
    sim = seeded_sim.sim
    member = await client_factory(
        username="member-bob", password="member pass", totp_secret=None, session_path=tmp_path / "bob.json"
    )
    await member.login()
    async with running(member, sim) as run:
        await until(lambda: sim.pipeline.open_connections == 1, "a connection")
        sim.state.request_to_join(seeded_sim.group.id, sim.state.add_user("Erin").id)
        await asyncio.sleep(0.3)
    assert run.events == [] and sim.pipeline.notifications[-1].delivered == 0


@pytest.mark.slow  # two seconds of real back-off
async def test_a_refusal_while_the_session_is_valid_backs_off_and_checks_the_session_once(
    seeded_sim: SeededSim, client: VRChatClient
) -> None:
    sim = seeded_sim.sim
    sim.pipeline.reject_with(MSG_NOT_ACTIVE)  # as from another IP than the one that logged in
    checks, logins = auth_checks(sim), sim.password_logins
    backoff = Backoff(base=0.1, cap=0.8, max_per_window=1000)
    async with running(client, sim, backoff=backoff) as run:
        await asyncio.sleep(2.0)
    attempts = sim.pipeline.attempts
    assert all(a.outcome == "err" for a in attempts) and len(run.events) == len(attempts)
    assert all(isinstance(e, PipelineRefusal) and e.message == MSG_NOT_ACTIVE for e in run.events)
    # 0.05-0.1, 0.1-0.2, 0.2-0.4, then 0.4-0.8 s apart: never a tight loop.
    assert 3 <= len(attempts) <= 8, len(attempts)
    gaps = [b.at - a.at for a, b in itertools.pairwise(attempts)]
    assert all(gap >= 0.05 for gap in gaps) and max(gaps) >= 0.2
    assert auth_checks(sim) - checks == 1  # at most one session check a minute, whatever the refusals
    assert sim.password_logins == logins and not client.session_blocked


async def test_a_lost_session_stops_the_pipeline_without_a_login_until_a_new_session(
    seeded_sim: SeededSim, client: VRChatClient, tmp_path: Path
) -> None:
    sim = seeded_sim.sim
    logins = sim.password_logins
    async with running(client, sim) as run:
        await until(lambda: sim.pipeline.open_connections == 1, "a connection")
        sim.expire_sessions()
        assert await sim.pipeline.send_error(MSG_NOT_ACTIVE) == 1
        await until(lambda: bool(run.events), "the refusal")
        await asyncio.sleep(1.0)  # several back-offs' worth: no attempt with the dead token
        assert len(sim.pipeline.attempts) == 1
        assert sim.password_logins == logins  # the pipeline never logs in (the client could)
        assert auth_checks(sim) >= 1 and sim.requests_to("GET", r"^/auth$")[-1].status == 401
        await client.login()  # what the REST side does next (here: the test, as the client would)
        await until(lambda: sim.pipeline.open_connections == 1, "a connection with the new session")
        sim.state.request_to_join(seeded_sim.group.id, sim.state.add_user("Erin").id)
        await until(lambda: any(isinstance(e, JoinRequestNotice) for e in run.events), "a notice")
    assert len(sim.pipeline.attempts) == 2 and sim.password_logins == logins + 1


async def test_a_pipeline_that_is_down_is_tried_again_with_backoff_and_no_session_check(
    seeded_sim: SeededSim, client: VRChatClient
) -> None:
    sim = seeded_sim.sim
    sim.pipeline.refuse(503)
    checks = auth_checks(sim)
    async with running(client, sim, backoff=Backoff(base=0.1, cap=0.4, max_per_window=1000)) as run:
        await until(lambda: len(sim.pipeline.attempts) >= 3, "three attempts")
        assert run.pipeline.stats.connects == 0 and "503" in (run.pipeline.stats.last_problem or "")
        sim.pipeline.restore()
        await until(lambda: sim.pipeline.open_connections == 1, "a connection once it is back")
    assert auth_checks(sim) == checks  # a 503 says nothing about the session


async def test_a_closed_connection_is_opened_again(seeded_sim: SeededSim, client: VRChatClient) -> None:
    sim = seeded_sim.sim
    async with running(client, sim) as run:
        await until(lambda: sim.pipeline.open_connections == 1, "a connection")
        await sim.pipeline.close_all()
        await until(lambda: run.pipeline.stats.connects == 2, "a second connection")
        sim.state.request_to_join(seeded_sim.group.id, sim.state.add_user("Erin").id)
        await until(lambda: bool(run.events), "a notice on the new connection")


async def test_nothing_is_tried_before_a_login(seeded_sim: SeededSim, client_factory: ClientFactory) -> None:
    sim = seeded_sim.sim
    fresh = await client_factory()
    async with running(fresh, sim) as run:
        await asyncio.sleep(0.3)
        assert sim.pipeline.attempts == [] and run.pipeline.stats.attempts == 0
        await fresh.login()
        await until(lambda: sim.pipeline.open_connections == 1, "a connection after the login")


async def test_the_simulated_pipeline_wants_a_user_agent_and_a_live_session(
    vrchat_sim: VRChatSimulator,
) -> None:
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(vrchat_sim.pipeline_url + "?authToken=x", headers={"User-Agent": ""})
        assert refused.value.status == 403
        async with http.ws_connect(
            vrchat_sim.pipeline_url + "?authToken=authcookie_nobody",
            headers={"User-Agent": "tests (t@t.net)"},
        ) as ws:
            message = await ws.receive(timeout=5)
            assert json.loads(message.data) == {"err": MSG_NOT_ACTIVE}
            assert (await ws.receive(timeout=5)).type == aiohttp.WSMsgType.CLOSE
    assert [a.outcome for a in vrchat_sim.pipeline.attempts] == ["no user agent", "err"]
    assert vrchat_sim.requests == []  # the pipeline is not the API: it keeps its own record
