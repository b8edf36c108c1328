"""Making VRChat's JSON safe to store and to send on, once, where it enters the bot.

VRChat's JSON may carry text that is valid JSON but that the places it goes next refuse: a lone UTF-16
surrogate (``"\\ud800"``) cannot be encoded as UTF-8, so SQLite, PostgreSQL and any JSON encoder that
insists on UTF-8 raise on it; PostgreSQL's text type refuses NUL; Discord refuses or mangles other C0
control characters and the noncharacters U+FFFE/U+FFFF. JSON also lets through numbers Python turns
into values no database JSON column takes (``NaN``, ``Infinity``) or that Python cannot even read back
(integers over 4,300 digits). `decode_json` reads a body with all of that made harmless and
`make_safe` does the same to any decoded value, so nothing downstream ever sees such text.

The rule is general, not a list of known bad strings: lone surrogates become U+FFFD (the replacement
character, visibly "something was here"), a surrogate pair written as two escapes becomes the one
character it encodes, and the refused control characters and noncharacters are dropped. Tab, newline
and carriage return stay. Keys of objects are cleaned like values.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

# C0 controls except \t \n \r, every surrogate code point, and the two noncharacters Discord and
# several JSON parsers refuse. A str from json.loads holds a surrogate only when it was lone in the
# JSON text (json.loads joins a valid escaped pair) or both halves came as separate escapes.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_DROPPED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

# Deeper than this, a JSON value is replaced by a marker: nothing VRChat sends nests like that, and
# every recursive consumer after this point (the database's JSON encoder, the renderer) stays safe.
MAX_DEPTH = 32
TOO_DEEP = "[nested too deep]"
# Python refuses to turn longer digit strings into an int (sys.get_int_max_str_digits); such a
# number is kept as its digits, in a string.
MAX_INT_DIGITS = 4000


def safe_str(text: str) -> str:
    """`text` with lone surrogates replaced by U+FFFD and refused control characters removed."""
    if not _UNSAFE.search(text):
        return text
    if _SURROGATE.search(text):
        # UTF-16 round trip: a high+low pair becomes its astral character, a lone half U+FFFD.
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return _DROPPED.sub("", text)


def is_safe_str(text: str) -> bool:
    return _UNSAFE.search(text) is None


def make_safe(value: Any, _depth: int = 0) -> Any:
    """A copy of a decoded JSON value in which every string (keys too) went through `safe_str`,
    non-finite floats became their JSON-ish names ("NaN", "Infinity", "-Infinity"), and containers
    nested deeper than MAX_DEPTH became the TOO_DEEP marker."""
    if isinstance(value, str):
        return safe_str(value)
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict | list | tuple):
        if _depth >= MAX_DEPTH:
            return TOO_DEEP
        if isinstance(value, dict):
            return {safe_str(str(k)): make_safe(v, _depth + 1) for k, v in value.items()}
        return [make_safe(v, _depth + 1) for v in value]
    return safe_str(str(value))


def _lenient_int(digits: str) -> int | str:
    return int(digits) if len(digits.lstrip("-")) <= MAX_INT_DIGITS else digits


def decode_json(body: bytes) -> Any:
    """Parse a JSON body into safe values (see the module doc).

    Invalid UTF-8 is replaced rather than refused, so one mangled byte does not make a whole page
    unreadable. Raises ValueError when the body is not JSON at all (or nests beyond what the parser
    can follow).
    """
    text = body.decode("utf-8-sig", errors="replace")
    try:
        value = json.loads(text, parse_int=_lenient_int)
    except RecursionError:
        raise ValueError("JSON nested too deeply to read") from None
    return make_safe(value)


__all__ = ["MAX_DEPTH", "TOO_DEEP", "decode_json", "is_safe_str", "make_safe", "safe_str"]
