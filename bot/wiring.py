"""Building the bot's parts from the configuration: the VRChat clients and the account pool, the
config's [[bindings]] in the store's terms, and the settings those entries declare, applied at start.

The running bot (bot.bot), the CLI's commands (bot.app) and the dry run (bot.dryrun) all build them,
so they live below all three. Not in bot/vrchat: the VRChat layer knows nothing of config.toml (and
bot.config already reads VRChat's ID formats from it, so the reverse would be a cycle).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable

import aiohttp

from bot.config import BindingConfig, Config
from bot.config.accounts import AccountLogin, vrchat_accounts
from bot.events import EVENT_FAMILIES
from bot.logs import register_secret
from bot.services.rules import apply_config_rules
from bot.store import Binding, BindingIn, ConfigSyncResult, Store
from bot.store.ports import BindingReader
from bot.vrchat import Politeness, VRChatClient
from bot.vrchat.pool import Account, AccountPool, RequestMeter

log = logging.getLogger(__name__)


def secret_text(value: object) -> str | None:
    """A configured secret (pydantic SecretStr or plain text) as text; None when unset or empty."""
    if value is None:
        return None
    raw = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
    return raw or None


def make_vrchat_client(
    config: Config,
    *,
    username: str | None = None,
    password: str | None = None,
    account: AccountLogin | None = None,
    http_session: aiohttp.ClientSession | None = None,
) -> VRChatClient:
    """The one place a VRChatClient is built from configuration: for `account` (default: [vrchat])."""
    vrc = config.vrchat
    login = account or vrchat_accounts(config)[0]
    password = password or secret_text(login.password)
    totp_secret = secret_text(login.totp_secret)
    for secret in (password, totp_secret):
        if secret:
            register_secret(secret)
    return VRChatClient(
        base_url=vrc.base_url,
        user_agent=vrc.user_agent,
        session_path=login.session_file,
        username=username or login.username or None,
        password=password,
        totp_secret=totp_secret,
        relogin_interval=vrc.relogin_interval_seconds,
        politeness=Politeness(
            requests_per_second=login.requests_per_second,
            burst=login.burst,
            max_backoff=vrc.max_backoff_seconds,
            timeout=vrc.request_timeout_seconds,
        ),
        http_session=http_session,
        source_address=vrc.source_address,
    )


async def open_account_pool(config: Config) -> AccountPool:
    """Every configured VRChat account ([vrchat] first), opened but not yet logged in. Each client
    sends through an HTTP session that counts its requests, for the budget in /bridge status."""
    accounts = []
    for login in vrchat_accounts(config):
        meter = RequestMeter(login.requests_per_second)
        session = meter.session(config.vrchat.request_timeout_seconds, config.vrchat.source_address)
        client = make_vrchat_client(config, account=login, http_session=session)
        accounts.append(Account(login.name, client, meter, primary=login.primary, http_session=session))
    pool = AccountPool(accounts)
    await pool.open()
    return pool


async def log_in_every_account(pool: AccountPool, group_ids: Iterable[str]) -> None:
    """A lone process (SQLite) uses every account: each logs in at start (its saved session; never a
    password loop, see bot.vrchat.auth), and the allow-list's groups are placed on the accounts. With
    several processes an account is taken up only by the process gaining its lease (bot.accounts)."""
    for name, user_id in (await pool.login()).items():
        log.info("VRChat session OK for %s (%s).", name, user_id)
    if len(pool) > 1:
        await pool.assign(group_ids)  # later bindings at their first use


def config_bindings(config: Config) -> list[BindingIn]:
    """The [[bindings]] of config.toml in the store's terms (all families listed = no filter)."""
    return [
        BindingIn(
            group_id=b.group_id,
            guild_id=b.guild_id,
            feed_channel_id=b.feed_channel_id,
            requests_channel_id=b.requests_channel_id,
            moderator_role_ids=tuple(b.moderator_role_ids),
            event_families=() if set(b.events) >= set(EVENT_FAMILIES) else tuple(b.events),
        )
        for b in config.bindings
    ]


def config_bindings_text(synced: ConfigSyncResult, linked: int) -> str:
    """The start-up line about bindings, for operators: what the config's [[bindings]] changed in
    the database, and how many links were made with /bridge link."""
    declared = synced.added + synced.updated + synced.unchanged

    def count(n: int, noun: str) -> str:
        return f"{n} {noun}{'' if n == 1 else 's'}"

    commands = f"{count(linked, 'link')} made with /bridge link"
    if not declared:
        return f"Bindings: none in the config file; {commands}."
    changes = [
        f"{n} {what}"
        for n, what in ((synced.added, "new"), (synced.updated, "changed"), (synced.unchanged, "unchanged"))
        if n
    ]
    return f"Bindings: {count(declared, 'binding')} from the config file ({', '.join(changes)}); {commands}."


async def declared_bindings(
    store: BindingReader, config: Config
) -> AsyncIterator[tuple[BindingConfig, Binding]]:
    """Each [[bindings]] entry with its binding in the store: what the start walks to apply the
    settings an entry declares (rules, alerts, ban settings) over what commands set."""
    for declared in config.bindings:
        for binding in await store.list_bindings(
            group_id=declared.group_id, channel_id=declared.feed_channel_id
        ):
            yield declared, binding


async def apply_declared_rules(store: Store, config: Config) -> None:
    """The [[bindings]] that declare `rules` get exactly those rules (and shadow setting) at start."""
    async for declared, binding in declared_bindings(store, config):
        if declared.rules is not None:
            rules = [(r.when, None if r.value is None else str(r.value), r.then) for r in declared.rules]
            await apply_config_rules(store, binding.id, rules, declared.rules_shadow)
