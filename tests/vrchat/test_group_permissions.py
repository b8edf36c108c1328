"""Which group roles are "management" roles: the classification against the spec's GroupPermissions."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.vrchat.models import Group, GroupRole
from bot.vrchat.permissions import (
    GROUP_PERMISSIONS,
    MANAGEMENT_PERMISSIONS,
    ORDINARY_PERMISSIONS,
    ROLES_ASSIGN,
    GroupStanding,
    is_management_role,
    management_permissions,
)

SPEC = Path(__file__).resolve().parents[2] / "bot" / "sandbox" / "vrchat" / "spec" / "openapi.yaml"


def spec_permissions() -> set[str]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    raw = yaml.load(SPEC.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 - a safe loader
    return set(raw["components"]["schemas"]["GroupPermissions"]["enum"])


def test_every_permission_of_the_spec_is_sorted_into_management_or_ordinary() -> None:
    assert spec_permissions() - {"*"} == GROUP_PERMISSIONS
    assert MANAGEMENT_PERMISSIONS | ORDINARY_PERMISSIONS == GROUP_PERMISSIONS
    assert not MANAGEMENT_PERMISSIONS & ORDINARY_PERMISSIONS
    assert ROLES_ASSIGN in MANAGEMENT_PERMISSIONS


def role(*permissions: str, flagged: bool | None = None) -> GroupRole:
    return GroupRole(id="grol_1", permissions=list(permissions), is_management_role=flagged)


@pytest.mark.parametrize(
    ("given", "flagged", "expected"),
    [
        ((), None, set()),
        (("group-instance-join", "group-instance-plus-portal"), False, set()),
        (("group-instance-join", "group-bans-manage"), None, {"group-bans-manage"}),
        (("*",), None, {"*"}),
        (("group-something-new",), None, {"group-something-new"}),  # unknown: not handed out
    ],
)
def test_management_permissions_of_a_role(
    given: tuple[str, ...], flagged: bool | None, expected: set[str]
) -> None:
    assert management_permissions(role(*given, flagged=flagged)) == expected
    assert is_management_role(role(*given, flagged=flagged)) == bool(expected)


def test_vrchat_s_own_flag_makes_a_management_role() -> None:
    assert is_management_role(role("group-instance-join", flagged=True))


@pytest.mark.parametrize(
    ("my_member", "status", "expected"),
    [
        ({"permissions": ["group-roles-assign"]}, "member", True),
        ({"permissions": ["*"]}, "member", True),
        ({"permissions": ["group-audit-view"]}, "member", False),
        ({}, "member", None),
        (None, "requested", False),
    ],
)
def test_the_bot_s_standing_tells_whether_it_may_assign_roles(
    my_member: dict[str, list[str]] | None, status: str, expected: bool | None
) -> None:
    extra: dict[str, object] = {"membershipStatus": status}
    if my_member is not None:
        extra["myMember"] = my_member
    group = Group.model_validate({"id": "grp_1", **extra})
    assert GroupStanding.of(group).holds(ROLES_ASSIGN) is expected
