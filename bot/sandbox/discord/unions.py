"""Rewriting Discord's spec, once at load (bot.sandbox.discord.openapi), into schemas that validate
faster and report errors where they are: tagged unions dispatched on their ``type``, and two cheaper
spellings of ``oneOf``. The verdicts stay those of the spec as written (tests/sandbox/test_discord_spec.py
compares them).
"""

from __future__ import annotations

from typing import Any


def _tags(branch: Any, schemas: dict[str, Any]) -> list[Any] | None:
    """The ``type`` values an object branch of a union accepts (its ``enum``/``const``), or None."""
    if not isinstance(branch, dict):
        return None
    ref = branch.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        branch = schemas.get(ref.rsplit("/", 1)[-1], {})
    tag = (branch.get("properties") or {}).get("type")
    if branch.get("type") != "object" or not isinstance(tag, dict):
        return None
    if isinstance(tag.get("enum"), list):
        return list(tag["enum"])
    return [tag["const"]] if "const" in tag else None


def dispatch_tagged_unions(raw: dict[str, Any]) -> None:
    """Rewrite, in place, every ``oneOf``/``anyOf`` whose branches are objects told apart by their
    ``type`` tag (components, command options, interaction callbacks) into ``if type is T then that
    branch``.  Same verdicts, but only the matching branch is validated (a union of eleven no longer
    costs eleven validations), and its errors are reported at the field they are about."""
    schemas = raw.get("components", {}).get("schemas", {})

    def visit(node: Any) -> None:
        if isinstance(node, list):
            for child in node:
                visit(child)
            return
        if not isinstance(node, dict):
            return
        for child in node.values():
            visit(child)
        for keyword in ("oneOf", "anyOf"):
            branches = node.get(keyword)
            tags = [_tags(b, schemas) for b in branches] if isinstance(branches, list) else [None]
            flat = [t for group in tags if group is not None for t in group]
            if not branches or any(t is None for t in tags) or len(flat) != len(set(flat)):
                continue
            del node[keyword]
            node.setdefault("allOf", []).extend(
                {
                    "if": {"type": "object", "required": ["type"], "properties": {"type": {"enum": group}}},
                    "then": branch,
                }
                for branch, group in zip(branches, tags, strict=True)
            )
            node["allOf"].append(
                {"type": "object", "required": ["type"], "properties": {"type": {"enum": flat}}}
            )
        _simplify_exclusive(node)

    visit(raw)


_DOC_KEYS = frozenset({"title", "description", "const"})


def _simplify_exclusive(node: dict[str, Any]) -> None:
    """Two cheaper spellings of what ``oneOf`` says (it validates every branch to prove only one
    matched): a ``oneOf`` of constants is an ``enum``; "null or an object" is an ``anyOf`` (disjoint
    branches, and ``anyOf`` stops at the first that matches)."""
    branches = node.get("oneOf")
    if not isinstance(branches, list) or not branches:
        return
    if all(isinstance(b, dict) and "const" in b and set(b) <= _DOC_KEYS for b in branches):
        del node["oneOf"]
        node["enum"] = [b["const"] for b in branches]
    elif len(branches) == 2 and {"type": "null"} in branches:
        other = next(b for b in branches if b != {"type": "null"})
        if isinstance(other, dict) and set(other) == {"$ref"}:
            del node["oneOf"]
            node["anyOf"] = [other, {"type": "null"}]
