"""VRChat calls made for this process by another one: the one holding the account (bot.leases).

VRChat ties a session to the address that logged in, so each account is used from one process at a
time. A process that needs a call on an account it does not hold hands the call to the holder through
an `AccountCalls` port (the bot's is bot.accounts.desk, over the database): the method's name, its
arguments as JSON, and back the result as JSON or the error the holder met.

Arguments and results are encoded from the client method's own type hints (pydantic's TypeAdapter in
JSON mode), so a method added to the client is routable without a wrapper, and what comes back is the
same typed model the local call would have returned. Errors come back as the same VRChatError class
(by name, from the classes of bot.vrchat.errors; an unknown name gives a plain VRChatError) with the
same text and fields (each class encodes and decodes its own): callers handle a routed call's
failure exactly as a local one's.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any, Protocol

from pydantic import TypeAdapter

# The module itself, not `from . import errors`: that reads the package's __init__, which imports
# this module (through api and pool), a cycle.
import bot.vrchat.errors as errors

from .client import VRChatClient
from .errors import VRChatError

JSON = Any  # what json.dumps accepts


class AccountCalls(Protocol):
    """How calls reach the process holding an account."""

    def holds(self, account: str) -> bool:
        """Whether this process may call VRChat with `account` itself now."""
        ...

    async def call(self, account: str, method: str, arguments: dict[str, JSON]) -> JSON:
        """Run `method` on `account`'s client in its holder; its encoded result, or the decoded
        VRChatError it raised there (see `encode_error`)."""
        ...


# The client's own errors, by class name: what a routed call's error may come back as.
ERRORS: dict[str, type[VRChatError]] = {
    name: cls for name, cls in vars(errors).items() if isinstance(cls, type) and issubclass(cls, VRChatError)
}


# Coroutines of the client that are not calls one process may ask of another: the holder logs in
# (bot.accounts.holding), and nobody closes another process's client.
NOT_ROUTED = frozenset({"login", "close"})


def _method(name: str) -> Callable[..., Any]:
    method = getattr(VRChatClient, name, None)
    if name.startswith("_") or name in NOT_ROUTED or not inspect.iscoroutinefunction(method):
        raise ValueError(f"{name!r} is not a VRChat call that can be routed")
    return typing.cast(Callable[..., Any], method)


@functools.cache
def _adapters(name: str) -> tuple[inspect.Signature, dict[str, TypeAdapter[Any]]]:
    method = _method(name)
    hints = typing.get_type_hints(method)
    return inspect.signature(method), {key: TypeAdapter(hint) for key, hint in hints.items()}


def encode_arguments(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, JSON]:
    """A call's arguments by parameter name, as JSON (only those given: defaults stay the holder's)."""
    signature, adapters = _adapters(name)
    bound = signature.bind(None, *args, **kwargs)  # None for self
    return {
        key: adapters[key].dump_python(value, mode="json", by_alias=True)
        for key, value in list(bound.arguments.items())[1:]
    }


def decode_arguments(name: str, arguments: dict[str, JSON]) -> dict[str, Any]:
    signature, adapters = _adapters(name)
    unknown = set(arguments) - set(signature.parameters)
    if unknown or "self" in arguments:
        raise ValueError(f"{name} has no parameter {', '.join(sorted(unknown))}")
    return {key: adapters[key].validate_python(value) for key, value in arguments.items()}


def encode_result(name: str, value: Any) -> JSON:
    return _adapters(name)[1]["return"].dump_python(value, mode="json", by_alias=True)


def decode_result(name: str, value: JSON) -> Any:
    return _adapters(name)[1]["return"].validate_python(value)


def encode_error(error: VRChatError) -> dict[str, JSON]:
    """What the caller needs to raise the same error: its class's name, and its text and fields."""
    return {"kind": type(error).__name__, **error.to_encoded()}


def decode_error(encoded: dict[str, JSON]) -> VRChatError:
    """The error a routed call met in its holder, as the same class (VRChatError when unknown here)."""
    return ERRORS.get(str(encoded.get("kind")), VRChatError).from_encoded(encoded)


async def run_encoded(client: VRChatClient, name: str, arguments: dict[str, JSON]) -> dict[str, JSON]:
    """The holder's side: run the call on its own client; {"result": …} or {"error": …}."""
    try:
        method = getattr(client, _method(name).__name__)
        result = await method(**decode_arguments(name, arguments))
    except VRChatError as error:
        return {"error": encode_error(error)}
    except ValueError as error:  # pydantic's ValidationError too: a malformed call, not VRChat's fault
        return {"error": encode_error(errors.BadRequest(f"a routed call could not be run: {error}"))}
    return {"result": encode_result(name, result)}


def outcome_of(name: str, outcome: dict[str, JSON]) -> Any:
    """The caller's side: the decoded result, or raise the decoded error."""
    if "error" in outcome:
        raise decode_error(outcome["error"])
    return decode_result(name, outcome.get("result"))
