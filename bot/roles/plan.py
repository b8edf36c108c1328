"""What a role-sync reconcile changes: a pure function of what both sides hold now, what they last
agreed on, and the binding's rules. No I/O; `/rolesync diff` shows its result as is.

For each linked pair (VRChat user, Discord user in the server) and each rule (a mapping, or the
membership role), compare V (the VRChat side holds it: the mapped group role, or membership of the
group) with D (the Discord member holds the Discord role):
- V == D: nothing to write; the agreement is remembered.
- vrchat_to_discord (and the membership role): Discord follows VRChat; discord_to_vrchat: the other way.
- both: the side that differs from what the two last agreed on is the side that changed, and it is
  copied; with no agreement on record (a new mapping, a new link) the source of truth wins.
Loop-proof: every write the bot makes becomes the new agreement, so when it shows up again (an audit
entry, a member update) V == D and nothing is copied back.
Fail-safe: when either listing failed or was partial, nothing is removed on either side (additions
still go ahead); a member whose state is unknown is left alone; refused roles are not tried again.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from bot.store.role_sync import Direction, HeldKey, Side, WriteOp


@dataclass(frozen=True, slots=True)
class SyncRule:
    """A mapping, or the membership role (mapping_id MEMBERSHIP, no VRChat role: membership itself)."""

    mapping_id: int
    vrchat_role_id: str | None
    discord_role_id: int
    direction: Direction = "vrchat_to_discord"
    source_of_truth: Side = "vrchat"

    @property
    def membership(self) -> bool:
        return self.vrchat_role_id is None

    @property
    def writes_discord(self) -> bool:
        return self.direction in ("vrchat_to_discord", "both")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the reconcile read. `vrchat`: group members' role IDs by VRChat user ID; `discord`: linked
    Discord users' role IDs, None when not in the server (a user missing from it is unknown);
    `links`: VRChat user ID -> Discord user ID; `held`: what the two sides last agreed on; `refused`:
    (side, role ID) the bot may not change; `scope`: only these VRChat users (an event), or everyone."""

    vrchat: Mapping[str, frozenset[str]]
    discord: Mapping[int, frozenset[int] | None]
    links: Mapping[str, int]
    held: Mapping[HeldKey, bool] = field(default_factory=dict)
    vrchat_complete: bool = True
    discord_complete: bool = True
    refused: Collection[tuple[Side, str]] = frozenset()
    scope: Collection[str] | None = None


@dataclass(frozen=True, slots=True)
class Change:
    side: Side  # where the bot writes
    op: WriteOp
    vrchat_user_id: str
    discord_user_id: int
    role_id: str  # a VRChat group role ID, or a Discord role ID as text
    mapping_id: int
    why: str  # a few words: "VRChat role given", "link removed", ...
    forget: bool = False  # the pair is gone (unlinked): forget it once this is done

    @property
    def key(self) -> HeldKey:
        return HeldKey(self.mapping_id, self.vrchat_user_id, self.discord_user_id)

    @property
    def held_after(self) -> bool:
        return self.op == "add"


@dataclass(frozen=True, slots=True)
class Plan:
    changes: tuple[Change, ...] = ()
    agreed: Mapping[HeldKey, bool] = field(default_factory=dict)  # new agreements needing no write
    forget: tuple[tuple[int, str], ...] = ()  # (mapping_id, vrchat_user_id) agreements to drop
    held_back: int = 0  # removals not planned because a listing failed or was partial
    refused: int = 0  # changes not planned because the bot may not change that role

    def on(self, side: Side) -> list[Change]:
        return [c for c in self.changes if c.side == side]


def _wanted(rule: SyncRule, v: bool, d: bool, base: bool | None) -> tuple[Side, bool, str]:
    """Which side to write and the value it should get, with the reason; only called when v != d."""
    if rule.direction == "vrchat_to_discord":
        return "discord", v, "copied from VRChat"
    if rule.direction == "discord_to_vrchat":
        return "vrchat", d, "copied from Discord"
    if base is None:
        if rule.source_of_truth == "vrchat":
            return "discord", v, "no history: VRChat is the source of truth"
        return "vrchat", d, "no history: Discord is the source of truth"
    if v != base:
        return "discord", v, "changed in VRChat"
    return "vrchat", d, "changed in Discord"


def _reason(rule: SyncRule, value: bool, why: str) -> str:
    if rule.membership:
        return "member of the VRChat group" if value else "not a member of the VRChat group"
    return why


def plan(rules: Sequence[SyncRule], snap: Snapshot) -> Plan:
    complete = snap.vrchat_complete and snap.discord_complete
    scope = set(snap.scope) if snap.scope is not None else None
    changes: list[Change] = []
    agreed: dict[HeldKey, bool] = {}
    forget: list[tuple[int, str]] = []
    held_back = refused = 0
    base_of: dict[tuple[int, str], tuple[int, bool]] = {
        (k.mapping_id, k.vrchat_user_id): (k.discord_user_id, h) for k, h in snap.held.items()
    }

    def propose(change: Change) -> None:
        nonlocal held_back, refused
        if change.op == "remove" and not complete:
            held_back += 1
        elif (change.side, change.role_id) in snap.refused:
            refused += 1
        else:
            changes.append(change)

    for vrchat_id in sorted(snap.links):
        if scope is not None and vrchat_id not in scope:
            continue
        discord_id = snap.links[vrchat_id]
        if discord_id not in snap.discord:
            continue  # unknown: the read failed
        discord_roles = snap.discord[discord_id]
        if discord_roles is None:
            continue  # not in the server: nothing to give or take there, nothing to copy from
        member = vrchat_id in snap.vrchat
        if not member and not snap.vrchat_complete:
            continue  # perhaps on a page that was not read
        vrchat_roles = snap.vrchat.get(vrchat_id, frozenset())
        for rule in rules:
            v = member if rule.membership else rule.vrchat_role_id in vrchat_roles
            d = rule.discord_role_id in discord_roles
            key = HeldKey(rule.mapping_id, vrchat_id, discord_id)
            stored = base_of.get((rule.mapping_id, vrchat_id))
            base = stored[1] if stored is not None and stored[0] == discord_id else None
            if v == d:
                if base != v or stored is None or stored[0] != discord_id:
                    agreed[key] = v
                continue
            side, value, why = _wanted(rule, v, d, base)
            if side == "vrchat" and (not member or rule.membership):
                continue  # roles are given only to members, and membership is VRChat's to decide
            role = str(rule.discord_role_id) if side == "discord" else str(rule.vrchat_role_id)
            propose(
                Change(
                    side,
                    "add" if value else "remove",
                    vrchat_id,
                    discord_id,
                    role,
                    rule.mapping_id,
                    _reason(rule, value, why),
                )
            )

    # Agreements whose pair is gone (the link was removed or now names someone else): the Discord
    # role the bot gave under a VRChat-led rule goes with the link; VRChat roles stay as they are.
    by_id = {r.mapping_id: r for r in rules}
    linked_now = set(snap.links.values())
    for key, held in sorted(snap.held.items(), key=lambda kv: (kv[0].mapping_id, kv[0].vrchat_user_id)):
        if scope is not None and key.vrchat_user_id not in scope:
            continue
        if snap.links.get(key.vrchat_user_id) == key.discord_user_id:
            continue
        if key.discord_user_id in linked_now:
            # That Discord user is linked to another VRChat account now: the loop above decides what
            # they hold under that link; taking the role here would only make it give it back.
            forget.append((key.mapping_id, key.vrchat_user_id))
            continue
        stale_rule = by_id.get(key.mapping_id)
        roles = snap.discord.get(key.discord_user_id)
        gave = held and stale_rule is not None and stale_rule.writes_discord
        if gave and stale_rule is not None and roles is not None and stale_rule.discord_role_id in roles:
            if not complete:
                held_back += 1  # kept, and taken back once the listings are whole
                continue
            if ("discord", str(stale_rule.discord_role_id)) not in snap.refused:
                changes.append(
                    Change(
                        "discord",
                        "remove",
                        key.vrchat_user_id,
                        key.discord_user_id,
                        str(stale_rule.discord_role_id),
                        key.mapping_id,
                        "link removed",
                        forget=True,
                    )
                )
                continue
            refused += 1
        elif gave and key.discord_user_id not in snap.discord:
            continue  # unknown now: looked at again next time
        forget.append((key.mapping_id, key.vrchat_user_id))
    return Plan(tuple(changes), agreed, tuple(forget), held_back, refused)
