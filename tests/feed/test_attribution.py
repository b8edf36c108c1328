"""Crediting bot-made audit entries to the Discord moderator who asked for them (pure)."""

from datetime import UTC, datetime, timedelta

from bot.feed.attribution import credit
from bot.store import ActionRecord, AuditEntryIn

BOT = "usr_b0b0b0b0-0000-0000-0000-000000000000"
T = datetime(2026, 11, 25, 12, tzinfo=UTC)


def entry(event_type: str, target: str, *, at: datetime = T, actor: str = BOT) -> AuditEntryIn:
    return AuditEntryIn(
        id=f"gaud_{event_type}_{target}_{at.minute}",
        created_at=at,
        event_type=event_type,
        actor_id=actor,
        target_id=target,
    )


def action(name: str, target: str, *, at: datetime = T, user: int = 1, outcome: str = "ok") -> ActionRecord:
    return ActionRecord(
        id=user,
        created_at=at,
        guild_id=1,
        discord_user_id=user,
        discord_user_name=f"mod{user}",
        group_id="grp_x",
        action=name,
        target_id=target,
        details=None,
        outcome=outcome,  # type: ignore[arg-type]
        error=None,
    )


def test_matching_type_target_and_window() -> None:
    (credited,) = credit([entry("group.user.ban", "usr_a")], [action("member.ban", "usr_a", user=7)], BOT)
    assert credited.discord_actor_id == 7 and credited.discord_actor_name == "mod7"


def test_no_credit_for_other_targets_types_actors_times_or_failed_actions() -> None:
    cases = [
        (entry("group.user.ban", "usr_a"), action("member.ban", "usr_b")),
        (entry("group.user.ban", "usr_a"), action("member.kick", "usr_a")),
        (entry("group.user.ban", "usr_a", actor="usr_someone_else"), action("member.ban", "usr_a")),
        (entry("group.user.ban", "usr_a"), action("member.ban", "usr_a", at=T + timedelta(minutes=5))),
        (entry("group.user.ban", "usr_a"), action("member.ban", "usr_a", outcome="error")),
    ]
    for e, a in cases:
        (result,) = credit([e], [a], BOT)
        assert result.discord_actor_id is None, (e, a)


def test_each_action_explains_one_entry_the_closest() -> None:
    early = entry("group.invite.create", "usr_a", at=T)
    late = entry("group.invite.create", "usr_a", at=T + timedelta(minutes=1))
    first, second = credit(
        [early, late], [action("invite", "usr_a", at=T + timedelta(seconds=55), user=3)], BOT
    )
    assert first.discord_actor_id is None and second.discord_actor_id == 3
