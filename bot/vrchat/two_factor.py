"""VRChat's second factor at a password login (bot.vrchat.auth): an authenticator code made from the
configured TOTP secret, or a code a person types at `groupbridge login`, sent to VRChat to verify.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import pyotp

from .errors import BadRequest, LoginFailed, TwoFactorRequired, Unauthorized
from .transport import Transport

log = logging.getLogger(__name__)

# A person answers 2FA: given the methods VRChat offers, return (method, code). When VRChat does not
# accept the code it is called again, up to TWO_FACTOR_TRIES times in one login, so a typo costs no
# new password login (which VRChat counts against the account).
TwoFactorPrompt = Callable[[list[str]], Awaitable[tuple[str, str]]]
TWO_FACTOR_TRIES = 3

# The methods in words, for people: the API's names (totp, otp, emailOtp) mean nothing to them.
METHOD_NAMES = {"totp": "authenticator code", "otp": "recovery code", "emailOtp": "code from the e-mail"}

VERIFY_PATHS = {
    "totp": "/auth/twofactorauth/totp/verify",
    "otp": "/auth/twofactorauth/otp/verify",
    "emailOtp": "/auth/twofactorauth/emailotp/verify",
}


def method_name(method: str) -> str:
    return METHOD_NAMES.get(method, f"{method} code")


async def answer_second_factor(
    transport: Transport, methods: list[str], prompt: TwoFactorPrompt | None, totp: pyotp.TOTP | None
) -> None:
    """Answer VRChat's request for a second factor: with the configured TOTP secret when VRChat offers
    an authenticator code, else by asking a person (`prompt`), who may mistype a few times."""
    if "totp" in methods and totp is not None:
        # A configured secret that VRChat refuses will not do better a second time.
        if not await _verify(transport, "totp", totp.now(), methods):
            raise LoginFailed("VRChat did not accept the authenticator code made from the TOTP secret.")
        return
    if prompt is None:
        raise TwoFactorRequired(methods)
    for _ in range(TWO_FACTOR_TRIES):  # a person may mistype: ask again, same password login
        method, code = await prompt(methods)
        if await _verify(transport, method, code, methods):
            return
        log.debug("VRChat did not accept the %s.", method_name(method))  # the prompt tells the person
    raise LoginFailed(f"VRChat did not accept the {method_name(method)} ({TWO_FACTOR_TRIES} tries).")


async def _verify(transport: Transport, method: str, code: str, methods: list[str]) -> bool:
    path = VERIFY_PATHS.get(method)
    if path is None:
        raise LoginFailed(f"Unknown two-factor method {method!r}; VRChat offered {', '.join(methods)}.")
    code = code.strip().replace(" ", "")
    try:
        response = await transport.request(
            "POST", path, json={"code": code}, idempotent=False, retry_rate_limited=False
        )
    except BadRequest:
        return False  # a malformed code: as good as a wrong one
    except Unauthorized as exc:  # the half-done login itself is gone: another code will not help
        raise LoginFailed(
            f"VRChat ended the login while it waited for the {method_name(method)} (HTTP {exc.status})."
        ) from None
    return isinstance(response.data, dict) and bool(response.data.get("verified"))
