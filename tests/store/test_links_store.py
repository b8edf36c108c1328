"""Links, link codes and attempt caps on SQLite and PostgreSQL; revision 0006 down and up again."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError

from bot.store import CodeNotClaimable, Link, LinkCode, LinkConflict, Store
from bot.store.models import DiscordLinkRow
from tests.store.helpers import T0, binding, count_rows

ANNA, BEN, CLEO = 1_000_000_000_000_000_001, 1_000_000_000_000_000_002, 1_000_000_000_000_000_003
VR_A = "usr_00000000-0000-4000-8000-00000000000a"
VR_B = "usr_00000000-0000-4000-8000-00000000000b"
DIGEST = "0" * 64
HOUR = timedelta(hours=1)


async def issue(store: Store, who: int, vrchat: str, at: datetime = T0) -> LinkCode:
    return await store.issue_link_code(
        who,
        vrchat,
        DIGEST,
        now=at,
        expires_at=at + timedelta(minutes=10),
        purge_before=at - timedelta(days=1),
    )


async def test_one_code_per_discord_user_and_ids_never_come_back(store: Store) -> None:
    first = await issue(store, ANNA, VR_A)
    second = await issue(store, ANNA, VR_B)  # replaces the first
    assert second.id > first.id
    assert await store.link_code(first.id) is None
    assert await store.link_code_of(ANNA) == second
    await store.remove_link(ANNA)  # no link, but the code goes with it
    assert await store.link_code_of(ANNA) is None
    third = await issue(store, ANNA, VR_A)
    assert third.id > second.id  # not reused, even after the highest id was deleted
    assert await count_rows(store, "link_codes") == 1


async def test_old_codes_of_anyone_are_purged_when_a_code_is_issued(store: Store) -> None:
    await issue(store, ANNA, VR_A, at=T0)
    await issue(store, BEN, VR_B, at=T0 + timedelta(days=2))
    assert await store.link_code_of(ANNA) is None
    assert await count_rows(store, "link_codes") == 1


async def test_a_code_links_once_and_replaces_both_sides(store: Store) -> None:
    # Ben is linked to A; Anna to B. Anna verifies for A: both old links go, one new link stays.
    for who, vrchat in ((BEN, VR_A), (ANNA, VR_B)):
        code = await issue(store, who, vrchat)
        await store.complete_link(code.id, who, vrchat, now=T0)
    code = await issue(store, ANNA, VR_A)
    change = await store.complete_link(code.id, ANNA, VR_A, now=T0 + HOUR)
    assert change.link == Link(ANNA, VR_A, T0 + HOUR)
    assert sorted(change.replaced, key=lambda r: r.discord_user_id) == [
        Link(ANNA, VR_B, T0),
        Link(BEN, VR_A, T0),
    ]
    assert await store.link_of_discord(BEN) is None
    assert await store.link_of_vrchat(VR_A) == change.link
    assert await store.links_of_vrchat([VR_A, VR_B, VR_A]) == {VR_A: change.link}
    used = await store.link_code(code.id)
    assert used is not None and used.used_at == T0 + HOUR
    with pytest.raises(CodeNotClaimable):  # once only
        await store.complete_link(code.id, ANNA, VR_A, now=T0 + HOUR)
    other = await issue(store, CLEO, VR_B)
    with pytest.raises(CodeNotClaimable):  # only by the Discord user it was issued to
        await store.complete_link(other.id, BEN, VR_B, now=T0 + HOUR)
    assert await store.link_of_discord(BEN) is None


async def test_the_database_keeps_each_account_in_one_link(store: Store) -> None:
    """Not the store's code: the constraints themselves refuse a second link for either account."""
    rows = [(ANNA, VR_A), (BEN, VR_A), (ANNA, VR_B)]
    for n, (discord_id, vrchat_id) in enumerate(rows):
        values = {"discord_user_id": discord_id, "vrchat_user_id": vrchat_id, "linked_at": T0}
        with pytest.raises(IntegrityError) if n else contextlib.nullcontext():
            async with store.engine.begin() as conn:
                await conn.execute(insert(DiscordLinkRow).values(**values))
    assert await count_rows(store, "discord_links") == 1


async def test_two_verifications_for_one_account_at_once_leave_one_link(store: Store) -> None:
    """The account's owner put both codes in the bio and two people press Verify together: exactly one
    link per account whatever the interleaving; a loser's code stays unused, to be tried again."""
    for _ in range(5):
        await store.remove_link(ANNA)
        await store.remove_link(BEN)
        anna, ben = await issue(store, ANNA, VR_A), await issue(store, BEN, VR_A)
        results = await asyncio.gather(
            store.complete_link(anna.id, ANNA, VR_A, now=T0),
            store.complete_link(ben.id, BEN, VR_A, now=T0),
            return_exceptions=True,
        )
        assert all(not isinstance(r, BaseException) or isinstance(r, LinkConflict) for r in results), results
        assert await count_rows(store, "discord_links") == 1
        winner = await store.link_of_vrchat(VR_A)
        assert winner is not None
        for result, code in zip(results, (anna, ben), strict=True):
            used = await store.link_code(code.id)
            assert used is not None and (used.used_at is None) == isinstance(result, LinkConflict)


async def test_attempts_are_capped_per_user_and_kind_within_the_window(store: Store) -> None:
    for n in range(3):
        assert (
            await store.take_link_attempt(
                ANNA, "verify", now=T0 + timedelta(minutes=n), since=T0 - HOUR, cap=3
            )
            is None
        )
    refused = await store.take_link_attempt(
        ANNA, "verify", now=T0 + timedelta(minutes=5), since=T0 + timedelta(minutes=5) - HOUR, cap=3
    )
    assert refused == T0 + HOUR  # when the oldest leaves the window
    assert await count_rows(store, "link_attempts") == 3  # a refusal writes nothing
    assert await store.take_link_attempt(ANNA, "issue", now=T0, since=T0 - HOUR, cap=3) is None  # other kind
    assert await store.take_link_attempt(BEN, "verify", now=T0, since=T0 - HOUR, cap=3) is None  # other user
    later = T0 + HOUR + timedelta(minutes=1)
    assert await store.take_link_attempt(ANNA, "verify", now=later, since=later - HOUR, cap=3) is None
    # Everything older than the window went, anyone's: Anna's two verifications still inside, and the new one.
    assert await count_rows(store, "link_attempts") == 3


@pytest.mark.slow  # migrations down and up, in child processes
async def test_revision_0006_goes_down_and_up_with_a_linked_in_server_rule(store: Store) -> None:
    one = await store.add_binding(binding(1))
    await store.add_rule(one.id, "age_verified", None, "hold", 5)
    await store.add_rule(one.id, "linked_in_server", None, "accept", 5)
    code = await issue(store, ANNA, VR_A)
    await store.complete_link(code.id, ANNA, VR_A, now=T0)

    await store.downgrade("0005")
    assert [r.kind for r in await store.list_rules([one.id])] == ["age_verified"]  # the other cannot stay
    with pytest.raises(IntegrityError):  # 0005's CHECK is back
        await store.add_rule(one.id, "linked_in_server", None, "accept", 5)

    await store.upgrade()
    assert [r.kind for r in await store.list_rules([one.id])] == ["age_verified"]
    await store.add_rule(one.id, "linked_in_server", None, "accept", 5)
    with pytest.raises(IntegrityError):
        async with store.engine.begin() as conn:
            await conn.execute(text("UPDATE request_rules SET kind = 'nonsense'"))
    assert await count_rows(store, "discord_links") == 0  # the tables went down with their rows
