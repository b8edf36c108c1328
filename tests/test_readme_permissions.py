"""The README tells operators which VRChat group permissions each feature needs, by their exact names in
VRChat's API (the spec's `GroupPermissions`), so they can set up the bot account's role."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.vrchat.pool import REQUIRED_PERMISSIONS

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "bot" / "sandbox" / "vrchat" / "spec" / "openapi.yaml"  # the vendored copy, checked elsewhere
HEADER = "| feature | what the bot calls | group permission |"

# What the simulator (our model of VRChat) requires for each call the bot makes: audit log; join
# requests and invites; posts; kicks; bans; role sync into VRChat.
USED = {
    "group-audit-view",
    "group-invites-manage",
    "group-announcement-manage",
    "group-members-remove",
    "group-bans-manage",
    # member roles and group instances (bot/vrchat/members.py, bot/sandbox/vrchat/instances.py)
    "group-roles-assign",
    "group-instance-open-create",
    "group-instance-restricted-create",
    "group-instance-plus-create",
    "group-instance-public-create",
    "group-instance-age-gated-create",
    "group-instance-manage",
}


def permission_table() -> list[tuple[str, set[str]]]:
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    start = lines.index(HEADER) + 2  # past the header and its --- row
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        feature, _calls, permissions = (cell.strip() for cell in line.strip("|").split("|"))
        rows.append((feature, set(re.findall(r"`(group-[a-z-]+)`", permissions))))
    return rows


def test_the_readme_names_each_features_group_permission_as_the_api_does() -> None:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, when there: seconds faster
    spec = yaml.load(SPEC.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 - a safe loader
    names = set(spec["components"]["schemas"]["GroupPermissions"]["enum"])
    rows = permission_table()
    named = set().union(*(permissions for _, permissions in rows))
    assert named <= names, f"not VRChat permission names: {sorted(named - names)}"
    assert named == USED
    assert set(REQUIRED_PERMISSIONS) <= named  # what decides which account serves a group
    features = " ".join(feature for feature, _ in rows)
    for command in ("/vrc invite", "/vrc post", "/vrc kick", "/vrc ban", "/vrc unban", "/audit search"):
        assert command in features
