"""Who called VRChat with which account, and when two callers used one account at the same moment.

VRChat ties a session to the address that logged in and punishes an account used from several
places; the bot promises that each account's requests go out from one process at a time. Every
request the simulator records carries its caller (the peer address, and the User-Agent, which a
fleet of test processes makes distinct) and the account it acted as, from the moment it arrived
until its answer was ready; `overlaps` finds two callers of one account whose requests were in
flight together.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar


class CalledRequest(Protocol):
    """What `overlaps` reads of a recorded request."""

    @property
    def account(self) -> str | None: ...
    @property
    def at(self) -> float: ...
    @property
    def ended(self) -> float | None: ...
    @property
    def remote(self) -> str | None: ...
    @property
    def headers(self) -> dict[str, str]: ...


Called = TypeVar("Called", bound=CalledRequest)


def by_address(request: CalledRequest) -> str | None:
    """The caller as VRChat sees it: the address the request came from."""
    return request.remote


def by_user_agent(request: CalledRequest) -> str | None:
    """The caller as a fleet of test processes on one address is told apart: its User-Agent."""
    return request.headers.get("User-Agent")


@dataclass(frozen=True, slots=True)
class Overlap:
    """Two requests of one account, from two callers, in flight at the same time."""

    account: str
    first: str | None
    second: str | None
    at: float  # when the later one arrived, while the earlier one was still unanswered

    def __str__(self) -> str:
        return f"account {self.account}: {self.second!r} called while {self.first!r} was in flight"


def overlaps(requests: Iterable[Called], caller: Callable[[Called], str | None]) -> list[Overlap]:
    """Every moment one account had requests from two callers in flight (a request still
    unanswered counts as in flight to the end)."""
    per_account: dict[str, list[Called]] = defaultdict(list)
    for request in requests:
        if request.account is not None:
            per_account[request.account].append(request)
    found = []
    for account, calls in per_account.items():
        calls.sort(key=lambda r: r.at)
        open_calls: list[Called] = []
        for call in calls:
            open_calls = [r for r in open_calls if r.ended is None or r.ended > call.at]
            other = next((r for r in open_calls if caller(r) != caller(call)), None)
            if other is not None:
                found.append(Overlap(account, caller(other), caller(call), call.at))
            open_calls.append(call)
    return found
