"""Posts: every bad value gets its own message and nothing is sent; publish, list, delete, roles."""

from __future__ import annotations

import pytest

from bot.services.registry import InvalidInput, NotFoundError, PermissionDenied, PostDraft, Services
from bot.store import Store
from tests.fixtures.vrchat_sim import SeededSim
from tests.services.conftest import EVE, MAYA, actions, writes

UNKNOWN_ROLE = "grol_00000000-0000-4000-8000-000000000000"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"title": "  "}, "A post needs a title."),
        ({"title": "t" * 65}, "The title is 65 characters long; the limit is 64."),
        ({"text": ""}, "A post needs some text."),
        ({"text": "x" * 2001}, "The text is 2001 characters long; the limit is 2000."),
        (
            {"visibility": "friends"},
            "Visibility must be “group” (members only) or “public” (anyone), not “friends”.",
        ),
        (
            {"visibility": "public", "role_ids": ["ROLE"]},
            "Roles can only be chosen for a post visible to the group",
        ),
        (
            {"role_ids": ["moderators"]},
            "“moderators” is not a VRChat role ID (grol_…); pick roles from the list.",
        ),
        (
            {"role_ids": [UNKNOWN_ROLE]},
            f"{UNKNOWN_ROLE} is not a role of Test Group; pick roles from the list.",
        ),
        ({"send_notification": "yes"}, "Whether to notify members must be yes or no."),
        ({"group_id": "TESTG.1234"}, "Not a valid group ID"),
    ],
)
async def test_bad_drafts_send_nothing(
    services: Services, bound: Store, seeded_sim: SeededSim, changes: dict[str, object], message: str
) -> None:
    values: dict[str, object] = {
        "group_id": seeded_sim.group.id,
        "title": "Hello",
        "text": "World",
        "visibility": "group",
        "role_ids": [],
        "send_notification": False,
    }
    values.update(changes)
    if values["role_ids"] == ["ROLE"]:
        values["role_ids"] = [seeded_sim.moderator_role.id]
    with pytest.raises(InvalidInput) as refused:
        draft = services.posts.draft(**values)  # type: ignore[arg-type]
        await services.posts.check_roles(draft)
        await services.posts.publish(MAYA, draft)
    assert str(refused.value).startswith(message)
    # A hand-built draft with the same values is refused by publish() too.
    with pytest.raises(InvalidInput):
        await services.posts.publish(MAYA, PostDraft(**values))  # type: ignore[arg-type]
    assert writes(seeded_sim) == []
    assert await actions(bound) == []


async def test_publish_recent_delete(services: Services, bound: Store, seeded_sim: SeededSim) -> None:
    gid, role = seeded_sim.group.id, seeded_sim.moderator_role.id
    draft = services.posts.draft(gid, "  Meetup ", "Saturday 8pm", "group", [role, role], True)
    await services.posts.check_roles(draft)
    assert (draft.title, draft.role_ids, draft.send_notification) == ("Meetup", (role,), True)
    post = await services.posts.publish(MAYA, draft)
    sent = seeded_sim.sim.requests_to("POST", "/posts")[0].json
    assert sent == {
        "title": "Meetup",
        "text": "Saturday 8pm",
        "visibility": "group",
        "sendNotification": True,
        "roleIds": [role],
    }
    assert post.id in seeded_sim.group.posts
    assert (await services.posts.recent(gid, limit=5))[0].id == post.id

    await services.posts.delete(MAYA, gid, post.id)
    assert post.id not in seeded_sim.group.posts
    with pytest.raises(NotFoundError, match="That post no longer exists"):
        await services.posts.delete(MAYA, gid, post.id)
    log = [(a.action, a.outcome, a.target_id) for a in reversed(await actions(bound))]
    assert log == [
        ("post.create", "ok", post.id),
        ("post.delete", "ok", post.id),
        ("post.delete", "error", post.id),
    ]
    assert (await actions(bound, action="post.create"))[0].details["title"] == "Meetup"


async def test_post_permission_and_ids_checked_first(
    services: Services, bound: Store, seeded_sim: SeededSim
) -> None:
    gid = seeded_sim.group.id
    draft = services.posts.draft(gid, "Hi", "There")
    with pytest.raises(PermissionDenied):
        await services.posts.publish(EVE, draft)
    with pytest.raises(PermissionDenied):
        await services.posts.delete(EVE, gid, seeded_sim.post.id)
    with pytest.raises(InvalidInput, match="is not a VRChat post ID"):
        await services.posts.delete(MAYA, gid, "welcome")
    assert writes(seeded_sim) == [] and await actions(bound) == []
    assert seeded_sim.post.id in seeded_sim.group.posts


async def test_role_choices_are_cached(services: Services, seeded_sim: SeededSim) -> None:
    gid = seeded_sim.group.id
    seeded_sim.sim.state.add_role(gid, "Event Hosts")
    assert [name for name, _ in await services.posts.role_choices(gid, "")] == ["Moderator", "Event Hosts"]
    assert await services.posts.role_choices(gid, "HOST") == [
        ("Event Hosts", next(r.id for r in seeded_sim.group.roles.values() if r.name == "Event Hosts"))
    ]
    await services.posts.check_roles(
        services.posts.draft(gid, "a", "b", role_ids=[seeded_sim.moderator_role.id])
    )
    assert len(seeded_sim.sim.requests_to("GET", "/roles$")) == 1
