"""Faults survived (issue 20): `kill -9` of each service of a running `videorecs up`
under a steady load of the two-model comparison through the web app.

The measuring is services/cli/faults.py, which `python -m bench.faults` runs longer.
Each killed service must answer again within BACK_LIMIT, requests may fail only while a
service they need is down (never the other kinds, never after it is back), its restart
shows in services.json and `videorecs status`, and nothing the pipeline made is lost.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from services.cli.faults import (
    TARGET_BACK_SECONDS,
    engine_inventory,
    read_services,
    registry_inventory,
    run_faults,
    table,
)
from services.cli.ports import free_port_block
from tests.cli.running import (
    FIRST_START_TIMEOUT,
    stop_with_ctrl_c,
    videorecs_up,
)

# Every service, the engine and the recommender first (the case).
KILLED = ("engine", "recommender", "catalog", "registry", "frontend")
RATE = 30  # requests/s through the web app
SETTLE_SECONDS = 2.0  # after each restart: answers sent then must all be whole
BACK_LIMIT = TARGET_BACK_SECONDS


@pytest.mark.timeout(FIRST_START_TIMEOUT + 180)
def test_each_service_killed_comes_back_and_only_its_requests_fail(
    tmp_path: Path, movielens_dir: Path, posters_file: Path, artifacts_dir: Path
) -> None:
    base = free_port_block()
    state = tmp_path / ".data"
    with videorecs_up(tmp_path, movielens_dir, posters_file, base, FIRST_START_TIMEOUT) as run:
        engine_url = read_services(state)["engine"]["url"]
        before = engine_inventory(state, engine_url), registry_inventory(run.url)

        results = asyncio.run(
            run_faults(run.url, state, KILLED, rate=RATE, settle=SETTLE_SECONDS)
        )
        figures = table(results)
        (artifacts_dir / "faults.txt").write_text(figures + "\n")

        for result in results:
            assert result.back_seconds is not None, figures
            assert result.back_seconds <= BACK_LIMIT, figures
            assert result.bystander_failures == [], (figures, result.bystander_failures[:5])
            assert result.late_bad == [], (figures, result.late_bad[:5])
            assert result.restarts_recorded == 1, figures
            assert f"{result.service} exited (killed by SIGKILL" in run.text()
        # The engine's absence only degrades the comparison (a block with an error).
        (engine,) = [r for r in results if r.service == "engine"]
        assert engine.failed == {}, figures

        after = engine_inventory(state, engine_url), registry_inventory(run.url)
        assert after == before

        status = subprocess.run(
            [str(Path(sys.executable).with_name("videorecs")), "status"],
            cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
        )
        assert status.returncode == 0, status.stderr
        rows = {line.split("\t")[0]: line.split("\t") for line in status.stderr.splitlines()}
        for service in KILLED:
            assert service in rows, status.stderr
            _, _, _, state_now, _, restarts, last_exit, _spare = rows[service]
            assert (state_now, restarts) == ("running", "1")
            assert last_exit.startswith("killed by SIGKILL")
        assert "Personal Recommendations" in status.stderr

        stop_with_ctrl_c(run, base)
    assert all(row["state"] == "stopped" for row in read_services(state).values())

