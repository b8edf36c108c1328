"""Role-sync settings, mappings, agreements and the write journal on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from bot.store import ActionIn, Store
from bot.store.role_sync import HeldKey, MappingConflict, RoleSyncSettings
from tests.store.helpers import binding, count_rows

VR_A = "usr_00000000-0000-4000-8000-00000000000a"
VR_B = "usr_00000000-0000-4000-8000-00000000000b"
ROLE_V = "grol_00000000-0000-4000-8000-000000000001"
ROLE_W = "grol_00000000-0000-4000-8000-000000000002"
ANNA, BEN = 1_000_000_000_000_000_001, 1_000_000_000_000_000_002
D_ROLE, D_OTHER = 1_400_000_000_000_000_101, 1_400_000_000_000_000_102


def action(target: str) -> ActionIn:
    return ActionIn(
        guild_id=1, discord_user_id=9, discord_user_name="role sync", group_id=None, action="role.assign",
        target_id=target,
    )  # fmt: skip


async def test_settings_default_to_off_and_are_kept_per_binding(store: Store) -> None:
    one = await store.add_binding(binding(1))
    two = await store.add_binding(binding(2))
    assert await store.role_sync_settings(one.id) == RoleSyncSettings(one.id, "off", None)
    await store.set_role_sync_settings(one.id, "shadow", D_ROLE)
    await store.set_role_sync_settings(one.id, "on", D_ROLE)
    assert await store.role_sync_settings(one.id) == RoleSyncSettings(one.id, "on", D_ROLE)
    assert (await store.role_sync_settings(two.id)).mode == "off"
    assert await store.role_synced_bindings() == [one.id]
    with pytest.raises(ValueError):
        await store.set_role_sync_settings(one.id, "loud", None)  # type: ignore[arg-type]


async def test_a_role_is_in_one_mapping_per_binding(store: Store) -> None:
    one = await store.add_binding(binding(1))
    two = await store.add_binding(binding(2))
    first = await store.add_role_mapping(
        one.id, ROLE_V, D_ROLE, "both", "vrchat", allow_management=False, created_by=ANNA
    )
    with pytest.raises(MappingConflict):
        await store.add_role_mapping(
            one.id, ROLE_V, D_OTHER, "both", "vrchat", allow_management=False, created_by=1
        )
    with pytest.raises(MappingConflict):
        await store.add_role_mapping(
            one.id, ROLE_W, D_ROLE, "both", "vrchat", allow_management=False, created_by=1
        )
    # Another binding may map the same roles.
    await store.add_role_mapping(
        two.id, ROLE_V, D_ROLE, "vrchat_to_discord", "vrchat", allow_management=True, created_by=1
    )
    assert await store.role_mappings(one.id) == [first]
    assert first.direction == "both" and not first.allow_management


async def test_removing_a_mapping_forgets_its_agreements_and_unbinding_removes_everything(
    store: Store,
) -> None:
    one = await store.add_binding(binding(1))
    mapping = await store.add_role_mapping(
        one.id, ROLE_V, D_ROLE, "both", "discord", allow_management=False, created_by=ANNA
    )
    await store.set_role_sync_settings(one.id, "on", D_OTHER)
    await store.update_role_sync_held(
        one.id, {HeldKey(mapping.id, VR_A, ANNA): True, HeldKey(0, VR_A, ANNA): True}
    )
    assert await store.remove_role_mapping(one.id + 1000, mapping.id) is None  # not this binding's
    assert await store.remove_role_mapping(one.id, mapping.id) == mapping
    assert await store.role_sync_held(one.id) == {HeldKey(0, VR_A, ANNA): True}
    await store.begin_role_write(one.id, "discord", "add", str(ANNA), str(D_ROLE), {})
    await store.remove_binding(one.id)
    for name in ("role_sync_settings", "role_mappings", "role_sync_held", "role_sync_writes"):
        assert await count_rows(store, name) == 0, name


async def test_agreements_replace_older_ones_and_are_forgotten_on_request(store: Store) -> None:
    one = await store.add_binding(binding(1))
    many = {HeldKey(7, f"usr_{n:08d}-0000-4000-8000-000000000000", ANNA + n): n % 2 == 0 for n in range(1200)}
    await store.update_role_sync_held(one.id, many)
    assert await store.role_sync_held(one.id) == many
    # A relink: the same VRChat user with another Discord user replaces the row.
    await store.update_role_sync_held(one.id, {HeldKey(7, VR_A, ANNA): True})
    await store.update_role_sync_held(one.id, {HeldKey(7, VR_A, BEN): False}, forget=[(7, VR_B)])
    held = await store.role_sync_held(one.id)
    assert held[HeldKey(7, VR_A, BEN)] is False and HeldKey(7, VR_A, ANNA) not in held
    assert len(held) == 1201
    await store.update_role_sync_held(one.id, {}, forget=[(7, k.vrchat_user_id) for k in many])
    assert await store.role_sync_held(one.id) == {HeldKey(7, VR_A, BEN): False}


async def test_a_write_is_settled_once_with_its_action_line_and_agreement(store: Store) -> None:
    one = await store.add_binding(binding(1))
    write = await store.begin_role_write(one.id, "vrchat", "add", VR_A, ROLE_V, {"mapping_id": 3})
    assert [w.id for w in await store.role_writes(one.id, "pending")] == [write.id]
    key = HeldKey(3, VR_A, ANNA)
    assert await store.finish_role_write(write.id, action(VR_A), (one.id, key, True))
    assert not await store.finish_role_write(write.id, action(VR_A), (one.id, key, True))  # settled
    assert len(await store.list_actions(action="role.assign")) == 1
    assert await store.role_sync_held(one.id) == {key: True}
    assert await store.role_writes(one.id) == []
    # Forgetting a pair touches only the row that still names that Discord user.
    other = await store.begin_role_write(one.id, "discord", "remove", str(BEN), str(D_ROLE), {})
    assert await store.finish_role_write(other.id, None, (one.id, HeldKey(3, VR_A, BEN), None))
    assert await store.role_sync_held(one.id) == {key: True}
    last = await store.begin_role_write(one.id, "discord", "remove", str(ANNA), str(D_ROLE), {})
    assert await store.finish_role_write(last.id, None, (one.id, key, None))
    assert await store.role_sync_held(one.id) == {}


async def test_a_refusal_is_reported_once_per_role_and_cleared_by_an_admin(store: Store) -> None:
    one = await store.add_binding(binding(1))
    first = await store.begin_role_write(one.id, "discord", "add", str(ANNA), str(D_ROLE), {})
    second = await store.begin_role_write(one.id, "discord", "add", str(BEN), str(D_ROLE), {})
    assert await store.refuse_role_write(first.id, "above the bot's role")
    assert not await store.refuse_role_write(second.id, "above the bot's role")  # same role: not again
    (refused,) = await store.role_writes(one.id, "refused")
    assert refused.role_id == str(D_ROLE) and refused.details == {"reason": "above the bot's role"}
    assert await store.role_writes(one.id, "pending") == []
    assert await store.clear_role_refusals(one.id, [str(D_OTHER)]) == 0
    assert await store.clear_role_refusals(one.id) == 1
    assert await store.role_writes(one.id) == []
