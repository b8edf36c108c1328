"""The runaway-moderator alert from hostile names and ids: within Discord's limits, and the only live
mention is the configured role's (or the credited Discord moderator's user mention, which the
allowed_mentions never let ping)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from hypothesis import example, given
from hypothesis import strategies as st

from bot.store.moderator_alerts import ModeratorAlert
from bot.watchdog.render import alert_embed, allowed_mentions, content
from tests.hostile.checks import message_problems
from tests.hostile.strategies import examples, hostile_text

WHEN = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
ROLE = 1_400_000_000_000_000_001


def alert(name: str | None, ids: list[str], discord_id: int | None, note: str | None) -> ModeratorAlert:
    return ModeratorAlert(
        id=7, binding_id=1, group_id="grp_x", actor_key="k", actor_vrchat_id=None if discord_id else name,
        actor_discord_id=discord_id, actor_name=name, started_at=WHEN, last_entry_at=WHEN,
        counts={"bans": 6, "kicks": 2}, entry_ids=tuple(ids), channel_id=5, state="pending", attempts=0,
        nonce=None, message_id=None, last_error=None, resolution=None, resolved_by=None,
        resolution_note=note, resolved_at=None, created_at=WHEN,
    )  # fmt: skip


@examples(200)
@given(
    name=st.one_of(st.none(), hostile_text(3000)),
    ids=st.lists(hostile_text(300), max_size=120),
    discord_id=st.one_of(st.none(), st.integers(1, 2**63 - 1)),
    note=st.one_of(st.none(), hostile_text(3000)),
    ping=st.booleans(),
)
@example(name=None, ids=["", " "], discord_id=None, note=None, ping=False)  # was a blank field
def test_the_alert_is_within_limits_and_pings_only_its_role(
    name: str | None, ids: list[str], discord_id: int | None, note: str | None, ping: bool
) -> None:
    shown = alert(name, ids, discord_id, note)
    role = ROLE if ping else None
    body = {"content": content(shown, role), "embeds": [alert_embed(shown, None).to_dict()]}
    allowed = [re.compile(rf"<@&{ROLE}>")]
    if discord_id is not None:
        allowed.append(re.compile(rf"<@{discord_id}>"))
    problems = message_problems(body, allowed=allowed)
    assert not problems, "\n".join(problems)
    mentions = allowed_mentions(role).to_dict()
    assert mentions["parse"] == [] and not mentions.get("users")
    assert mentions.get("roles", []) == ([ROLE] if ping else [])
