"""Link codes: made with `secrets`, typed into a VRChat bio by a person, found there again.

A code looks like ``GB-7QX4-M9CW``: the prefix, then eight characters of the alphabet Open Location
Code chose to be read and typed without mistakes (no vowels, so no words; no 0, 1, O, I, L, and the
digits 5 and 8 without the S and B they could be taken for).
20^8 is about 2.6 * 10^10 codes. Matching ignores case (a phone keyboard capitalises; the alphabet
has no pair that case would confuse) and accepts the code only as a whole token: never inside a longer
run of letters, digits, "_" or "-", so ``XGB-7QX4-M9CW`` and ``GB-7QX4-M9CW1`` hold no code.

What the database keeps is `code_digest(code)`, never the code. The code's secrecy is not what makes
linking safe (it is meant to be published in a public bio; what counts is that it is bound to one
Discord user and one VRChat user, and that only the VRChat account's owner can edit its bio), so the
digest is not there to stop a determined attacker: it keeps the database to IDs, times and a
digest, so a copy of it shows no code to anyone, at no cost.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterator

ALPHABET = "23456789CFGHJMPQRVWX"
PREFIX = "GB"
GROUP = 4
GROUPS = 2

_CHARS = f"[{ALPHABET}{ALPHABET.lower()}]"
# Explicit character classes and no IGNORECASE: with it, "K" (Kelvin sign) would match "k" and
# Unicode case folding could let other look-alikes in.
_TOKEN = re.compile(
    rf"(?<![\w-])[Gg][Bb]-(?P<first>{_CHARS}{{{GROUP}}})-(?P<second>{_CHARS}{{{GROUP}}})(?![\w-])"
)


def new_code() -> str:
    groups = ("".join(secrets.choice(ALPHABET) for _ in range(GROUP)) for _ in range(GROUPS))
    return "-".join((PREFIX, *groups))


def code_digest(code: str) -> str:
    """The stored form of a code: SHA-256 of its upper-case form, in hex (64 characters)."""
    return hashlib.sha256(code.upper().encode("ascii")).hexdigest()


def codes_in(text: str) -> Iterator[str]:
    """Every whole code token in `text`, upper-cased; anything else in the text is never returned."""
    for match in _TOKEN.finditer(text):
        yield f"{PREFIX}-{match['first'].upper()}-{match['second'].upper()}"


def holds_code(texts: tuple[str | None, ...], digest: str) -> bool:
    """Whether any of `texts` (a bio, a status description) holds the code with this digest as a
    whole token."""
    return any(
        hmac.compare_digest(code_digest(code), digest) for text in texts if text for code in codes_in(text)
    )
