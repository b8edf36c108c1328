"""Issue #17: `/bridge status` shows every process from the database, and a moderator's command taken
by the gateway wakes the worker that polls the group.

A `--role gateway`, a standby gateway and a `--role worker` process on PostgreSQL, three bound
groups. The gateway answers /bridge status with all three: the standby says it stands by, and the
worker's line, read from its row in the process table, says it polls the three groups and how its
account is doing. A /vrc invite typed in Discord
is taken by the gateway; the worker, which polls that group, hears of it through the wake counter.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.sandbox.world import MOD_ID, WorldSettings
from bot.store import Store
from tests.scale.fleet import build_world, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.xdist_group("bot-process")]


async def test_status_shows_the_worker_and_a_command_on_the_gateway_wakes_it(
    postgres_db_url: str, tmp_path: Path
) -> None:
    fleet = await build_world(tmp_path, WorldSettings(database_url=postgres_db_url, poll_interval=1.0), 3)
    world, store = fleet.world, None
    try:
        gateway = await fleet.start("gw", "gateway")
        worker = await fleet.start("w1", "worker")
        store = await Store.open(postgres_db_url)  # migrated by the gateway once it is connected

        async def reported() -> bool:
            rows = {fleet.label_of_owner(s.owner): s for s in await store.list_process_states()}
            return set(rows) == {"gw", "gw2", "w1"} and len(rows["w1"].groups) == 3

        await world.wait_for(
            lambda: world.discord.gateway.identify_count >= 1, "the gateway", 60, process=gateway
        )
        standby = await fleet.start("gw2", "gateway")  # once the first is the gateway
        await wait_until(reported, "every process in the process table", 60, [gateway, worker, standby])

        embed = await world.status()
        shown = {f["name"]: f["value"].replace("\\", "") for f in embed["fields"]}
        lines = shown["Bot processes (3 running)"].splitlines()
        heads = [line for line in lines if line.startswith("**")]
        assert heads[0].startswith("**gateway** ") and heads[0].endswith(
            " (this process): the Discord gateway"
        )
        assert heads[1].startswith("**gateway standby** ")
        assert heads[1].endswith(": standing by to take over the Discord gateway")
        assert heads[2].startswith("**worker** ") and heads[2].endswith(": polls 3 of this server's groups")
        worker_accounts = lines[lines.index(heads[2]) + 1 :]
        assert len(worker_accounts) == 1 and "3 of this server's groups; session OK" in worker_accounts[0]
        assert "requests in the last minute" in worker_accounts[0]

        group_id = world.community.group.id
        newcomer = world.sim.state.add_user("Gina")
        invite = await world.command("vrc", "invite", {"user": newcomer.id, "group": group_id}, who=MOD_ID)
        await invite.wait_for(lambda x: bool(x.followups), 20, "the invite's answer")
        heard = f"{group_id} was acted on in another process"
        await world.wait_for(
            lambda: heard in worker.log(), "the worker to hear the invite", 20, process=worker
        )
        assert heard not in gateway.log()
    finally:
        await fleet.stop_all()
        if store is not None:
            await store.close()
        await world.close()
