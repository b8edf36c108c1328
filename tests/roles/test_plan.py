"""The role-sync plan (bot.roles.plan.plan): a pure function, so every case is spelled out here."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.roles.plan import Change, Plan, Snapshot, SyncRule, plan
from bot.store.role_sync import MEMBERSHIP, HeldKey

VA, VB, VC = "usr_a", "usr_b", "usr_c"
DA, DB, DC = 101, 102, 103
ROLE = "grol_1"
DROLE = 501
MEMBER_ROLE = 900
V2D = SyncRule(1, ROLE, DROLE, "vrchat_to_discord", "vrchat")
D2V = SyncRule(1, ROLE, DROLE, "discord_to_vrchat", "discord")
BOTH_V = SyncRule(1, ROLE, DROLE, "both", "vrchat")
BOTH_D = SyncRule(1, ROLE, DROLE, "both", "discord")
MEMBERSHIP_RULE = SyncRule(MEMBERSHIP, None, MEMBER_ROLE)


def snap(
    vrchat: dict[str, set[str]] | None = None,
    discord: dict[int, set[int] | None] | None = None,
    links: dict[str, int] | None = None,
    **kwargs: object,
) -> Snapshot:
    return Snapshot(
        vrchat={k: frozenset(v) for k, v in (vrchat or {}).items()},
        discord={k: (frozenset(v) if v is not None else None) for k, v in (discord or {}).items()},
        links=links if links is not None else {VA: DA},
        **kwargs,  # type: ignore[arg-type]
    )


def ops(result: Plan) -> list[tuple[str, str, str, str]]:
    return [
        (c.side, c.op, c.vrchat_user_id if c.side == "vrchat" else str(c.discord_user_id), c.role_id)
        for c in result.changes
    ]


# ---------------------------------------------------------------- one direction


def test_vrchat_to_discord_gives_and_takes_the_discord_role() -> None:
    give = plan([V2D], snap({VA: {ROLE}}, {DA: set()}))
    assert ops(give) == [("discord", "add", str(DA), str(DROLE))]
    take = plan([V2D], snap({VA: set()}, {DA: {DROLE}}))
    assert ops(take) == [("discord", "remove", str(DA), str(DROLE))]


def test_vrchat_to_discord_never_writes_vrchat() -> None:
    assert plan([V2D], snap({VA: set()}, {DA: set()})).changes == ()
    # Discord holds it, VRChat does not: Discord follows VRChat (taken), VRChat untouched.
    result = plan([V2D], snap({VA: set()}, {DA: {DROLE}}))
    assert [c.side for c in result.changes] == ["discord"]


def test_discord_to_vrchat_gives_and_takes_the_vrchat_role() -> None:
    assert ops(plan([D2V], snap({VA: set()}, {DA: {DROLE}}))) == [("vrchat", "add", VA, ROLE)]
    assert ops(plan([D2V], snap({VA: {ROLE}}, {DA: set()}))) == [("vrchat", "remove", VA, ROLE)]


def test_vrchat_roles_are_given_only_to_members_of_the_group() -> None:
    assert plan([D2V], snap({}, {DA: {DROLE}})).changes == ()


def test_agreement_is_recorded_when_both_sides_already_agree() -> None:
    result = plan([BOTH_V], snap({VA: {ROLE}}, {DA: {DROLE}}))
    assert result.changes == () and result.agreed == {HeldKey(1, VA, DA): True}
    # Already on record: nothing to write again.
    again = plan([BOTH_V], snap({VA: {ROLE}}, {DA: {DROLE}}, held={HeldKey(1, VA, DA): True}))
    assert again.agreed == {}


# ---------------------------------------------------------------- both ways


def test_both_with_no_history_follows_the_source_of_truth() -> None:
    assert ops(plan([BOTH_V], snap({VA: {ROLE}}, {DA: set()}))) == [("discord", "add", str(DA), str(DROLE))]
    assert ops(plan([BOTH_D], snap({VA: {ROLE}}, {DA: set()}))) == [("vrchat", "remove", VA, ROLE)]
    assert ops(plan([BOTH_V], snap({VA: set()}, {DA: {DROLE}}))) == [
        ("discord", "remove", str(DA), str(DROLE))
    ]
    assert ops(plan([BOTH_D], snap({VA: set()}, {DA: {DROLE}}))) == [("vrchat", "add", VA, ROLE)]


def test_both_copies_the_side_that_changed_since_the_last_agreement() -> None:
    agreed_held = {HeldKey(1, VA, DA): True}
    agreed_not = {HeldKey(1, VA, DA): False}
    for rule in (BOTH_V, BOTH_D):  # with history, the source of truth plays no part
        # Taken in Discord: taken in VRChat.
        assert ops(plan([rule], snap({VA: {ROLE}}, {DA: set()}, held=agreed_held))) == [
            ("vrchat", "remove", VA, ROLE)
        ]
        # Taken in VRChat: taken in Discord.
        assert ops(plan([rule], snap({VA: set()}, {DA: {DROLE}}, held=agreed_held))) == [
            ("discord", "remove", str(DA), str(DROLE))
        ]
        # Given in VRChat: given in Discord.
        assert ops(plan([rule], snap({VA: {ROLE}}, {DA: set()}, held=agreed_not))) == [
            ("discord", "add", str(DA), str(DROLE))
        ]
        # Given in Discord: given in VRChat.
        assert ops(plan([rule], snap({VA: set()}, {DA: {DROLE}}, held=agreed_not))) == [
            ("vrchat", "add", VA, ROLE)
        ]


def test_an_agreement_about_another_discord_user_is_no_history() -> None:
    # VA was linked to DB when they agreed; now to DA: no history for this pair, the source decides.
    held = {HeldKey(1, VA, DB): True}
    result = plan([BOTH_D], snap({VA: {ROLE}}, {DA: set(), DB: {DROLE}}, held=held))
    assert ("vrchat", "remove", VA, ROLE) in ops(result)


def test_the_bots_own_write_coming_back_is_not_copied_again() -> None:
    """Loop-proof: after the bot copied a VRChat grant to Discord (agreement True), the member update
    or audit entry that shows the new state finds both sides agreeing: nothing to do, either way."""
    first = plan([BOTH_V], snap({VA: {ROLE}}, {DA: set()}, held={HeldKey(1, VA, DA): False}))
    (change,) = first.changes
    held = {change.key: change.held_after}
    after = plan([BOTH_V], snap({VA: {ROLE}}, {DA: {DROLE}}, held=held))
    assert after.changes == () and after.agreed == {}


# ---------------------------------------------------------------- membership


def test_membership_role_follows_membership_of_the_group() -> None:
    result = plan(
        [MEMBERSHIP_RULE], snap({VA: set(), VB: set()}, {DA: set(), DB: {MEMBER_ROLE}}, {VA: DA, VB: DB})
    )
    assert ops(result) == [("discord", "add", str(DA), str(MEMBER_ROLE))]
    # VB left (or was removed or banned): not in the listing any more.
    gone = plan(
        [MEMBERSHIP_RULE], snap({VA: set()}, {DA: {MEMBER_ROLE}, DB: {MEMBER_ROLE}}, {VA: DA, VB: DB})
    )
    assert ops(gone) == [("discord", "remove", str(DB), str(MEMBER_ROLE))]
    assert gone.changes[0].why == "not a member of the VRChat group"


def test_membership_is_never_written_to_vrchat() -> None:
    backwards = SyncRule(MEMBERSHIP, None, MEMBER_ROLE, "both", "discord")
    assert plan([backwards], snap({}, {DA: {MEMBER_ROLE}})).changes == ()


def test_unlinking_takes_back_the_discord_roles_the_bot_gave_but_not_vrchat_roles() -> None:
    held = {HeldKey(MEMBERSHIP, VA, DA): True, HeldKey(1, VA, DA): True, HeldKey(2, VA, DA): True}
    d2v = SyncRule(2, "grol_2", 502, "discord_to_vrchat", "discord")
    result = plan(
        [MEMBERSHIP_RULE, V2D, d2v],
        snap({VA: {ROLE, "grol_2"}}, {DA: {MEMBER_ROLE, DROLE, 502}}, {}, held=held),
    )
    assert sorted(ops(result)) == [
        ("discord", "remove", str(DA), str(DROLE)),
        ("discord", "remove", str(DA), str(MEMBER_ROLE)),
    ]
    assert all(c.forget and c.why == "link removed" for c in result.changes)
    assert result.forget == ((2, VA),)  # the VRChat-led one is only forgotten


# ---------------------------------------------------------------- fail-safe


def test_a_failed_or_partial_listing_removes_nothing_on_either_side() -> None:
    for partial in ({"vrchat_complete": False}, {"discord_complete": False}):
        result = plan(
            [MEMBERSHIP_RULE, D2V],
            snap(
                {VA: {ROLE}, VB: set()},
                {DA: set(), DB: set(), DC: {MEMBER_ROLE}},
                {VA: DA, VB: DB, VC: DC},
                **partial,
            ),
        )
        assert all(c.op == "add" for c in result.changes), result.changes
        assert ("discord", "add", str(DA), str(MEMBER_ROLE)) in ops(result)
        assert result.held_back >= 1


def test_a_member_missing_from_a_partial_listing_is_left_alone() -> None:
    result = plan([MEMBERSHIP_RULE], snap({}, {DA: {MEMBER_ROLE}}, vrchat_complete=False))
    assert result.changes == () and result.agreed == {}


def test_unread_or_absent_discord_members_are_left_alone() -> None:
    assert plan([D2V], snap({VA: {ROLE}}, {})).changes == ()  # DA could not be read
    assert plan([D2V], snap({VA: {ROLE}}, {DA: None})).changes == ()  # DA is not in the server


def test_an_unlinked_pair_is_kept_while_listings_are_partial() -> None:
    held = {HeldKey(MEMBERSHIP, VA, DA): True}
    result = plan([MEMBERSHIP_RULE], snap({}, {DA: {MEMBER_ROLE}}, {}, held=held, discord_complete=False))
    assert result.changes == () and result.forget == () and result.held_back == 1


def test_refused_roles_are_not_tried_again() -> None:
    result = plan([V2D], snap({VA: {ROLE}}, {DA: set()}, refused={("discord", str(DROLE))}))
    assert result.changes == () and result.refused == 1


def test_scope_limits_the_plan_to_the_named_members() -> None:
    s = snap({VA: {ROLE}, VB: {ROLE}}, {DA: set(), DB: set()}, {VA: DA, VB: DB}, scope={VB})
    assert ops(plan([V2D], s)) == [("discord", "add", str(DB), str(DROLE))]


# ---------------------------------------------------------------- properties

users = st.sampled_from([VA, VB, VC])
rules_st = st.lists(st.sampled_from([V2D, D2V, BOTH_V, BOTH_D]), min_size=1, max_size=1) | st.just(
    [MEMBERSHIP_RULE]
)


@settings(max_examples=400, deadline=None)  # a pure function: many examples are cheap
@given(
    rules=rules_st,
    vrchat=st.dictionaries(users, st.sets(st.sampled_from([ROLE, "grol_x"]))),
    discord=st.dictionaries(
        st.sampled_from([DA, DB, DC]), st.none() | st.sets(st.sampled_from([DROLE, MEMBER_ROLE]))
    ),
    # One agreement per mapping and VRChat user, as the table's primary key has it.
    held=st.dictionaries(
        st.tuples(st.sampled_from([MEMBERSHIP, 1]), users),
        st.tuples(st.sampled_from([DA, DB, DC]), st.booleans()),
    ).map(lambda rows: {HeldKey(m, v, d): h for (m, v), (d, h) in rows.items()}),
    vrchat_complete=st.booleans(),
    discord_complete=st.booleans(),
)
def test_applying_a_plan_leaves_nothing_to_do(
    rules: list[SyncRule],
    vrchat: dict[str, set[str]],
    discord: dict[int, set[int] | None],
    held: dict[HeldKey, bool],
    vrchat_complete: bool,
    discord_complete: bool,
) -> None:
    """Whatever the state: a plan never removes on partial listings, and once applied (with its
    agreements recorded), planning again changes nothing: no ping-pong."""
    links = {VA: DA, VB: DB, VC: DC}
    state = snap(
        vrchat, discord, links, held=held, vrchat_complete=vrchat_complete, discord_complete=discord_complete
    )
    first = plan(rules, state)
    if not (vrchat_complete and discord_complete):
        assert all(c.op == "add" for c in first.changes)
    v = {k: set(r) for k, r in state.vrchat.items()}
    d = {k: (set(r) if r is not None else None) for k, r in state.discord.items()}
    agreed: dict[HeldKey, bool] = {k: h for k, h in held.items()}
    for change in first.changes:
        _apply(change, v, d)
    _record(agreed, first)
    second = plan(
        rules,
        snap(v, d, links, held=agreed, vrchat_complete=vrchat_complete, discord_complete=discord_complete),
    )
    assert second.changes == ()


def _apply(change: Change, v: dict[str, set[str]], d: dict[int, set[int] | None]) -> None:
    if change.side == "vrchat":
        roles = v[change.vrchat_user_id]
        (roles.add if change.op == "add" else roles.discard)(change.role_id)
    else:
        held = d[change.discord_user_id]
        assert held is not None
        (held.add if change.op == "add" else held.discard)(int(change.role_id))


def _record(agreed: dict[HeldKey, bool], result: Plan) -> None:
    for mapping_id, user in result.forget:
        for key in [k for k in agreed if (k.mapping_id, k.vrchat_user_id) == (mapping_id, user)]:
            del agreed[key]
    for key, value in result.agreed.items():
        for old in [
            k for k in agreed if (k.mapping_id, k.vrchat_user_id) == (key.mapping_id, key.vrchat_user_id)
        ]:
            del agreed[old]
        agreed[key] = value
    for change in result.changes:
        for old in [
            k
            for k in agreed
            if (k.mapping_id, k.vrchat_user_id) == (change.mapping_id, change.vrchat_user_id)
        ]:
            if change.forget and old.discord_user_id != change.discord_user_id:
                continue
            del agreed[old]
        if not change.forget:
            agreed[change.key] = change.held_after


def test_a_discord_user_relinked_to_another_member_keeps_the_role_that_link_gives() -> None:
    """Found by the property below: DB held the membership role under VA; now linked to VB, a member."""
    held = {HeldKey(MEMBERSHIP, VA, DB): True}
    result = plan(
        [MEMBERSHIP_RULE], snap({VB: set()}, {DA: None, DB: {MEMBER_ROLE}}, {VA: DA, VB: DB}, held=held)
    )
    assert result.changes == () and result.forget == ((MEMBERSHIP, VA),)
    assert result.agreed == {HeldKey(MEMBERSHIP, VB, DB): True}
