"""Models parse liberally: unknown fields kept, optional fields optional, VRChat's odd names mapped."""

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from bot.vrchat.models import AuditLogEntry, AuditLogPage, GroupMember, GroupPost, User


def test_unknown_fields_are_kept_and_missing_optional_fields_are_fine() -> None:
    user = User.model_validate({"id": "usr_x", "displayName": "X", "brandNewField": {"a": 1}})
    assert user.display_name == "X" and user.bio is None and user.tags == []
    assert user.model_extra == {"brandNewField": {"a": 1}}


def test_snake_case_fields_vrchat_uses() -> None:
    entry = AuditLogEntry.model_validate(
        {
            "id": "gaud_1",
            "created_at": "2026-11-25T10:00:00.000Z",
            "eventType": "group.user.ban",
            "actorId": "usr_a",
        }
    )
    assert entry.created_at == datetime(2026, 11, 25, 10, tzinfo=UTC)
    assert entry.event_type == "group.user.ban" and entry.data == {} and entry.target_id is None
    user = User.model_validate({"id": "usr_x", "date_joined": "2019-04-01"})
    assert user.date_joined is not None and user.date_joined.year == 2019


def test_post_roles_come_back_as_role_id() -> None:
    post = GroupPost.model_validate({"id": "not_1", "roleId": ["grol_a"], "title": "t", "text": "x"})
    assert post.role_ids == ["grol_a"]


def test_page_defaults_and_member_nulls() -> None:
    page = AuditLogPage.model_validate({"results": []})
    assert page.has_next is False and page.total_count is None
    member = GroupMember.model_validate({"userId": "usr_a", "user": None, "roleIds": [], "bannedAt": None})
    assert member.user is None and member.banned_at is None


def test_required_identity_is_still_required() -> None:
    with pytest.raises(ValidationError):
        AuditLogEntry.model_validate({"eventType": "group.update"})  # no id, no created_at
