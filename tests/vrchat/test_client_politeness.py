"""Rate limits, back-off, safe retries and hostile bodies — the rules that keep the account out of trouble."""

from __future__ import annotations

import asyncio
import itertools
import json
import time

import aiohttp
import pytest

from bot.sandbox.vrchat import Fault
from bot.vrchat import (
    MalformedResponse,
    OutcomeUnknown,
    Politeness,
    RateLimited,
    ServerError,
    VRChatClient,
)
from bot.vrchat.transport import http_session
from tests.fixtures.vrchat_sim import SeededSim
from tests.vrchat.conftest import ClientFactory

GROUP_PATH = r"^/groups/grp_[^/]+$"


def gaps(stamps: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(stamps)]


def max_in_window(stamps: list[float], window: float) -> int:
    stamps = sorted(stamps)
    best = 0
    for i, start in enumerate(stamps):
        best = max(best, sum(1 for t in stamps[i:] if t - start < window))
    return best


async def logged_in(factory: ClientFactory, **politeness: float) -> VRChatClient:
    """A logged-in client; rate settings not given are generous so only the one under test binds."""
    settings = {"requests_per_second": 100.0, "burst": 10, **politeness}
    client = await factory(politeness=Politeness(**settings))
    await client.login()
    return client


@pytest.mark.slow  # waits out the rate limit in real time
async def test_requests_never_exceed_the_configured_rate(
    client_factory: ClientFactory, seeded_sim: SeededSim
) -> None:
    client = await logged_in(client_factory, requests_per_second=10, burst=2, timeout=5)
    seeded_sim.sim.requests.clear()
    await asyncio.gather(*(client.get_group(seeded_sim.group.id) for _ in range(16)))
    stamps = [r.at for r in seeded_sim.sim.requests]
    assert len(stamps) == 16
    # Leaky bucket: at most burst + rate * window requests in any window (a little slack for scheduling).
    assert max_in_window(stamps, 0.5) <= 2 + 10 * 0.5 + 1
    assert stamps[-1] - stamps[0] >= (16 - 2) / 10 * 0.9


@pytest.mark.slow  # waits out the rate limit in real time
async def test_a_shared_account_keeps_to_its_share_of_the_rate(
    client_factory: ClientFactory, seeded_sim: SeededSim
) -> None:
    client = await logged_in(client_factory, requests_per_second=40, burst=2, timeout=5)
    client.share_rate(4)  # four processes use this account: this one may send a quarter of it
    seeded_sim.sim.requests.clear()
    await asyncio.gather(*(client.get_group(seeded_sim.group.id) for _ in range(12)))
    stamps = [r.at for r in seeded_sim.sim.requests]
    assert len(stamps) == 12
    assert max_in_window(stamps, 0.5) <= 2 + 10 * 0.5 + 1  # 10/s, not the account's 40/s
    assert stamps[-1] - stamps[0] >= (12 - 2) / 10 * 0.9


@pytest.mark.slow  # waits out Retry-After in real time
async def test_429_storm_is_waited_out_within_the_rate(
    client_factory: ClientFactory, seeded_sim: SeededSim
) -> None:
    # Seen from the client: a request already on its way when the 429 came back is no fault of the
    # cool-down, and on a busy machine the simulator cannot tell those from late ones.
    sent: list[float] = []
    refused: list[float] = []

    async def on_start(*_: object) -> None:
        sent.append(time.monotonic())

    async def on_end(_session: object, _context: object, params: aiohttp.TraceRequestEndParams) -> None:
        if params.response.status == 429:
            refused.append(time.monotonic())

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    trace.on_request_end.append(on_end)
    async with http_session(5, trace=trace) as session:
        client = await client_factory(
            politeness=Politeness(requests_per_second=20, burst=2, base_backoff=0.05, timeout=5),
            http_session=session,
        )
        await client.login()
        sent.clear()
        fault = seeded_sim.sim.faults.add(
            Fault(method="GET", path=GROUP_PATH, status=429, retry_after=1, times=3)
        )
        started = time.monotonic()
        # Several tasks in flight during the storm: the cool-down is shared, so they all hold back.
        results = await asyncio.gather(*(client.get_group(seeded_sim.group.id) for _ in range(4)))
    assert {g.id for g in results} == {seeded_sim.group.id}
    assert fault.hits == 3
    # Retry-After: 1 is honoured by every task: nothing goes out in the second after a 429 arrives.
    after_first_429 = [t for t in sent if t > refused[0]]
    assert after_first_429 and min(after_first_429) - refused[0] >= 0.95
    assert time.monotonic() - started >= 0.95
    assert max_in_window(sent, 1.0) <= 2 + 20 + 1


@pytest.mark.slow  # waits out the back-off in real time
async def test_repeated_429_backs_off_exponentially_with_a_cap(
    client_factory: ClientFactory, seeded_sim: SeededSim
) -> None:
    client = await logged_in(
        client_factory, requests_per_second=100, burst=5, base_backoff=0.1, max_backoff=0.45, timeout=5
    )
    seeded_sim.sim.requests.clear()
    seeded_sim.sim.faults.add(Fault(method="GET", path=GROUP_PATH, status=429, times=5))  # no Retry-After
    await client.get_group(seeded_sim.group.id)
    waits = gaps([r.at for r in seeded_sim.sim.requests])
    assert len(waits) == 5
    # Bases 0.1, 0.2, 0.4, then capped at 0.45; jitter keeps each wait in [base/2, base].
    assert 0.05 <= waits[0] <= 0.2
    assert 0.1 <= waits[1] <= 0.3
    assert 0.2 <= waits[2] <= 0.5
    assert all(w <= 0.45 + 0.1 for w in waits)
    assert waits[2] > waits[0]


async def test_retry_after_beyond_the_cap_raises_rate_limited(
    client_factory: ClientFactory, seeded_sim: SeededSim
) -> None:
    client = await logged_in(client_factory, max_backoff=5, timeout=5)
    seeded_sim.sim.faults.add(Fault(method="GET", path=GROUP_PATH, status=429, retry_after=3600, times=1))
    with pytest.raises(RateLimited) as err:
        await client.get_group(seeded_sim.group.id)
    assert err.value.retry_after == pytest.approx(3600, abs=1)


async def test_endless_429_gives_up_after_the_retry_budget(
    client_factory: ClientFactory, seeded_sim: SeededSim
) -> None:
    client = await logged_in(client_factory, base_backoff=0.01, max_rate_limit_retries=3, timeout=5)
    seeded_sim.sim.requests.clear()
    seeded_sim.sim.faults.add(Fault(method="GET", path=GROUP_PATH, status=429))
    with pytest.raises(RateLimited):
        await client.get_group(seeded_sim.group.id)
    assert len(seeded_sim.sim.requests_to("GET", GROUP_PATH)) == 4


async def test_gateway_errors_are_retried_for_reads(
    client_factory: ClientFactory, seeded_sim: SeededSim
) -> None:
    client = await logged_in(client_factory, base_backoff=0.01, timeout=5)
    seeded_sim.sim.faults.add(Fault(method="GET", path=GROUP_PATH, status=503, times=2))
    group = await client.get_group(seeded_sim.group.id)
    assert group.id == seeded_sim.group.id
    assert len(seeded_sim.sim.requests_to("GET", GROUP_PATH)) == 3


async def test_gateway_errors_give_up_with_html_bodies_described(
    client_factory: ClientFactory, seeded_sim: SeededSim
) -> None:
    client = await logged_in(client_factory, base_backoff=0.01, max_server_retries=2, timeout=5)
    seeded_sim.sim.faults.add(
        Fault(method="GET", path=GROUP_PATH, status=502, body="<html><h1>Bad Gateway</h1></html>")
    )
    with pytest.raises(ServerError, match="HTML page") as err:
        await client.get_group(seeded_sim.group.id)
    assert err.value.status == 502
    assert len(seeded_sim.sim.requests_to("GET", GROUP_PATH)) == 3


async def test_internal_error_is_not_retried(client_factory: ClientFactory, seeded_sim: SeededSim) -> None:
    client = await logged_in(client_factory, base_backoff=0.01, timeout=5)
    seeded_sim.sim.faults.add(Fault(method="GET", path=GROUP_PATH, status=500, times=1))
    with pytest.raises(ServerError):
        await client.get_group(seeded_sim.group.id)
    assert len(seeded_sim.sim.requests_to("GET", GROUP_PATH)) == 1


async def test_a_write_with_unknown_outcome_is_not_repeated(
    client_factory: ClientFactory, seeded_sim: SeededSim
) -> None:
    client = await logged_in(client_factory, base_backoff=0.01, timeout=5)
    seeded_sim.sim.faults.add(Fault(method="POST", path=r"/invites$", status=504, times=1))
    with pytest.raises(OutcomeUnknown, match="may or may not"):
        await client.invite_user(seeded_sim.group.id, seeded_sim.outsider.id)
    assert len(seeded_sim.sim.requests_to("POST", r"/invites$")) == 1


async def test_timeouts_retry_reads_but_not_writes(
    client_factory: ClientFactory, seeded_sim: SeededSim
) -> None:
    client = await logged_in(client_factory, base_backoff=0.01, timeout=0.3)
    seeded_sim.sim.faults.add(Fault(method="GET", path=GROUP_PATH, delay=1.0, times=1))
    assert (await client.get_group(seeded_sim.group.id)).id == seeded_sim.group.id
    assert len(seeded_sim.sim.requests_to("GET", GROUP_PATH)) == 2

    seeded_sim.sim.faults.add(Fault(method="POST", path=r"/bans$", delay=1.0, times=1))
    with pytest.raises(OutcomeUnknown, match="timed out"):
        await client.ban_member(seeded_sim.group.id, seeded_sim.outsider.id)
    assert len(seeded_sim.sim.requests_to("POST", r"/bans$")) == 1


async def test_malformed_success_body(client_factory: ClientFactory, seeded_sim: SeededSim) -> None:
    client = await logged_in(client_factory, timeout=5)
    seeded_sim.sim.faults.add(Fault(method="GET", path=GROUP_PATH, body='{"id": "grp_', times=1))
    with pytest.raises(MalformedResponse, match="non-JSON"):
        await client.get_group(seeded_sim.group.id)


async def test_secrets_never_reach_the_log_even_at_debug(
    client_factory: ClientFactory, seeded_sim: SeededSim, secret_log_capture, tmp_path
) -> None:
    client = await client_factory(politeness=Politeness(base_backoff=0.01, requests_per_second=100, burst=10))
    await client.login()
    seeded_sim.sim.expire_sessions()
    await client.get_group(seeded_sim.group.id)  # 401 -> re-login with password + TOTP
    seeded_sim.sim.faults.add(Fault(method="GET", path=GROUP_PATH, status=429, retry_after=0, times=1))
    await client.get_group(seeded_sim.group.id)
    wrong = await client_factory(password="wrong password!", session_path=tmp_path / "other.json")
    with pytest.raises(Exception) as err:
        await wrong.login()

    cookies = json.loads((tmp_path / "session.json").read_text())["cookies"]
    secrets = [seeded_sim.password, seeded_sim.totp_secret, "wrong password!", *cookies.values()]
    assert len(secret_log_capture.records) > 5  # the client did log, at DEBUG
    secret_log_capture.assert_absent(*secrets)
    for secret in secrets:
        assert (
            secret not in str(err.value) and secret not in repr(client) and secret not in repr(client._auth)
        )
