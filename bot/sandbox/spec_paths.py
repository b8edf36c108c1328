"""An OpenAPI document's path templates as a router: what both stand-ins' spec checks look requests up in."""

from __future__ import annotations

import re
from collections.abc import Iterable

_PARAMETER = r"\{([^/]+?)\}"


class PathTemplates:
    """Templates such as ``/groups/{groupId}`` matched against request paths (without the API
    prefix). The template with the most literal segments wins, so ``/groups/roleTemplates`` beats
    ``/groups/{groupId}`` and ``/messages/@original`` beats ``/messages/{message_id}``; among equals,
    the spec's order."""

    def __init__(self, templates: Iterable[str]) -> None:
        routes: list[tuple[int, re.Pattern[str], str, list[str]]] = []
        for template in templates:
            names = re.findall(_PARAMETER, template)
            pattern = re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "([^/]+)", re.escape(template)) + "$")
            literal = sum(1 for seg in template.split("/") if seg and not seg.startswith("{"))
            routes.append((literal, pattern, template, names))
        routes.sort(key=lambda r: -r[0])
        self._routes = [(pattern, template, names) for _, pattern, template, names in routes]

    def match(self, path: str) -> tuple[str, dict[str, str]] | None:
        """The template ``path`` falls under and the values of its path parameters, or None."""
        for pattern, template, names in self._routes:
            found = pattern.match(path)
            if found:
                return template, dict(zip(names, found.groups(), strict=True))
        return None
