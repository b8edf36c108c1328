"""A local, stateful simulator of the VRChat group Web API for tests, demos and benchmarks.

It is an independent fake (no import of ``bot.vrchat``, Discord or the database) that behaves
like VRChat per the community OpenAPI spec and validates every request and response against it,
so a client that drifts from the real API fails its tests instead of failing in production.

    async with VRChatSimulator() as sim:
        bot = sim.state.add_user("Bot", username="bot", password="pw")
        ...  # point a client at sim.base_url
        assert not sim.violations
"""

from .crowd import add_crowd
from .faults import Fault, FaultSet
from .models import (
    EVENT_ROLE_ASSIGN,
    EVENT_ROLE_UNASSIGN,
    MODERATOR_PERMISSIONS,
    ROLES_ASSIGN,
    SimAuditEntry,
    SimGroup,
    SimInstance,
    SimMembership,
    SimPost,
    SimRole,
    SimUser,
    SimWorld,
)
from .server import RecordedRequest, VRChatSimulator
from .state import SimState
from .validation import load_validator

__all__ = [
    "EVENT_ROLE_ASSIGN",
    "EVENT_ROLE_UNASSIGN",
    "MODERATOR_PERMISSIONS",
    "ROLES_ASSIGN",
    "Fault",
    "FaultSet",
    "RecordedRequest",
    "SimAuditEntry",
    "SimGroup",
    "SimInstance",
    "SimMembership",
    "SimPost",
    "SimRole",
    "SimState",
    "SimUser",
    "SimWorld",
    "VRChatSimulator",
    "add_crowd",
    "load_validator",
]
