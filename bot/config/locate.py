"""Find the line of a key in a TOML document, so validation problems can say ``config.toml:12:``.

tomllib does not keep positions, so this is a small line scanner. It tracks ``[table]`` and
``[[array]]`` headers (counting array elements, so ``bindings[1].group_id`` finds the second
``[[bindings]]`` block) and ``key =`` lines, and skips the bodies of multi-line strings. It only runs
on text tomllib has already accepted, so it does not need to diagnose anything.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence

Loc = tuple[str | int, ...]

_KEY_PART = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')"""
_DOTTED = rf"{_KEY_PART}(?:\s*\.\s*{_KEY_PART})*"
_KEY_LINE_RE = re.compile(rf"^\s*({_DOTTED})\s*=(.*)$")
_ARRAY_HEADER_RE = re.compile(rf"^\s*\[\[\s*({_DOTTED})\s*\]\]")
_TABLE_HEADER_RE = re.compile(rf"^\s*\[\s*({_DOTTED})\s*\]")
_PART_RE = re.compile(_KEY_PART)


def _split_key(dotted: str) -> list[str]:
    parts = []
    for match in _PART_RE.finditer(dotted):
        part = match.group(0)
        if part[0] == "'":
            part = part[1:-1]  # literal: no escapes
        elif part[0] == '"':
            part = _unescape(part)
        parts.append(part)
    return parts


def _unescape(quoted: str) -> str:
    """A basic-string key as tomllib reads it (\\t, \\u00e9 ...), so it matches the parsed data."""
    try:
        return next(iter(tomllib.loads(f"{quoted} = 0")))
    except (tomllib.TOMLDecodeError, StopIteration):
        return quoted[1:-1]


class KeyLines:
    """Line numbers (1-based) of the tables, array elements and keys of one TOML document."""

    def __init__(self, text: str) -> None:
        self._lines: dict[Loc, int] = {}
        self._array_counts: dict[tuple[str, ...], int] = {}
        self.line_count = text.count("\n") + 1
        self._scan(text)

    def _resolve(self, names: Sequence[str]) -> Loc:
        """Turn a header name into a concrete location, inserting the current index of arrays."""
        loc: list[str | int] = []
        for i, name in enumerate(names):
            loc.append(name)
            count = self._array_counts.get(tuple(names[: i + 1]))
            if count is not None and i < len(names) - 1:
                loc.append(count - 1)
        return tuple(loc)

    def _remember(self, loc: Loc, lineno: int) -> None:
        self._lines.setdefault(loc, lineno)

    def _scan(self, text: str) -> None:
        current: Loc = ()
        in_string: str | None = None  # the closing delimiter of an open multi-line string
        # Only "\n" ends a line in TOML (as tomllib counts); str.splitlines() would also break at
        # U+2028, \x85 and the like inside string values and shift every later line number.
        for lineno, line in enumerate(text.split("\n"), start=1):
            if in_string is not None:
                if line.count(in_string) % 2 == 1:
                    in_string = None
                continue
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            if match := _ARRAY_HEADER_RE.match(line):
                names = _split_key(match.group(1))
                key = tuple(names)
                self._array_counts[key] = self._array_counts.get(key, 0) + 1
                current = (*self._resolve(names), self._array_counts[key] - 1)
                self._remember(current[:-1], lineno)
                self._remember(current, lineno)
                continue
            if match := _TABLE_HEADER_RE.match(line):
                current = self._resolve(_split_key(match.group(1)))
                self._remember(current, lineno)
                continue
            if match := _KEY_LINE_RE.match(line):
                parts = _split_key(match.group(1))
                for i in range(1, len(parts) + 1):
                    self._remember((*current, *parts[:i]), lineno)
                in_string = _opens_multiline_string(match.group(2))

    def exact(self, loc: Loc) -> int | None:
        """The line where exactly this key/table is written, or None."""
        return self._lines.get(tuple(loc))

    def nearest(self, loc: Loc) -> int | None:
        """The line of ``loc``, else of its closest enclosing table or key that is in the file."""
        loc = tuple(loc)
        while loc:
            if (line := self._lines.get(loc)) is not None:
                return line
            loc = loc[:-1]
        return None


def _opens_multiline_string(value: str) -> str | None:
    for delim in ('"""', "'''"):
        if value.lstrip().startswith(delim) and value.count(delim) % 2 == 1:
            return delim
    return None
