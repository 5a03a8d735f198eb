"""`videorecs up` as README's first command runs it: a fresh state folder, the app on
loopback, a recommendation through the web app's origin, Ctrl-C, then a second start
that reuses everything."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import boto3
import httpx
import pytest

from services.cli.ports import free_port_block
from services.cli.prepare import CSV_NAME
from tests.cli.running import (
    FIRST_START_TIMEOUT,
    NEXT_START_TIMEOUT,
    stop_with_ctrl_c,
    videorecs_up,
)


def _personal_recommendations(url: str) -> list[dict[str, object]]:
    with httpx.Client(base_url=url, timeout=30) as client:
        models = client.get("/api/registry/models").json()["data"]
        model = next(m for m in models if m["name"] == "Personal Recommendations")
        assert model["recipe"] == "aws-user-personalization"
        response = client.get("/api/recommender/users/1/recommendations",
                              params={"models": str(model["id"]), "num": 10})
    assert response.status_code == 200, response.text
    (block,) = response.json()["blocks"]
    assert block["error"] is None
    return list(block["items"])


@pytest.mark.timeout(FIRST_START_TIMEOUT + NEXT_START_TIMEOUT + 120)
def test_up_serves_recommendations_stops_on_ctrl_c_and_restarts_fast(
    tmp_path: Path, movielens_dir: Path, posters_file: Path
) -> None:
    base = free_port_block()
    with videorecs_up(tmp_path, movielens_dir, posters_file, base, FIRST_START_TIMEOUT) as run:
        home = httpx.get(run.url + "/", timeout=10)
        assert home.status_code == 200 and "text/html" in home.headers["content-type"]
        assert httpx.get(run.url + "/api/catalog/stats", timeout=10).json()["reviews"] == 100_000
        first_items = _personal_recommendations(run.url)
        assert len(first_items) == 10
        secrets = tmp_path / ".data" / "secrets.env"
        assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
        assert str(secrets) in run.text()
        _assert_private(tmp_path / ".data")
        _assert_engine_reads_only_the_imports_folder(tmp_path / ".data", base + 4)
        stop_with_ctrl_c(run, base)
    _assert_private(tmp_path / ".data")

    # A folder from an older version, made under a looser umask: the next start tightens it.
    state = tmp_path / ".data"
    for path in [state, state / "logs", state / "artifacts"]:
        path.chmod(0o755)
    for path in [state / "engine.db", state / "logs" / "engine.log", state / "state.json"]:
        path.chmod(0o644)

    # Second start: same folder, nothing to load or train.
    with videorecs_up(tmp_path, movielens_dir, posters_file, base, NEXT_START_TIMEOUT) as run:
        text = run.text()
        assert "catalog: reused" in text
        assert "trained" not in text and "created" not in text
        assert _personal_recommendations(run.url) == first_items
        _assert_private(state)
        stop_with_ctrl_c(run, base)
    _assert_private(state)


def _assert_engine_reads_only_the_imports_folder(state: Path, engine_port: int) -> None:
    """The engine signs with secrets.env's pair and refuses to import secrets.env itself
    (or anything else in the state folder but the pipeline's imports/)."""
    values = dict(
        line.split("=", 1)
        for line in (state / "secrets.env").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    personalize = boto3.client(
        "personalize", endpoint_url=f"http://127.0.0.1:{engine_port}", region_name="us-east-1",
        aws_access_key_id=values["ENGINE_ACCESS_KEY_ID"],
        aws_secret_access_key=values["ENGINE_SECRET_ACCESS_KEY"],
    )
    dataset = personalize.list_datasets()["datasets"][0]["datasetArn"]
    for leaked in ("secrets.env", "engine.db", "logs/engine.log"):
        with pytest.raises(personalize.exceptions.InvalidInputException, match="import roots"):
            personalize.create_dataset_import_job(
                jobName=f"leak-{leaked.replace('/', '-').replace('.', '-')}",
                datasetArn=dataset, roleArn="arn:aws:iam::000000000000:role/x",
                dataSource={"dataLocation": (state / leaked).as_uri()},
            )


def _assert_private(state: Path) -> None:
    """Every folder under the state folder is 0700 and every file 0600 (databases, logs,
    artifacts, the training CSV, state.json, secrets.env), and no log holds a secret."""
    loose = []
    for path in [state, *state.rglob("*")]:
        if path.is_symlink() or not path.exists():  # e.g. a SQLite journal just removed
            continue
        expected = 0o700 if path.is_dir() else 0o600
        if stat.S_IMODE(path.stat().st_mode) != expected:
            loose.append(f"{path.relative_to(state)} {oct(stat.S_IMODE(path.stat().st_mode))}")
    assert loose == []
    names = {p.relative_to(state).as_posix() for p in state.rglob("*")}
    expected = {"engine.db", "logs/engine.log", "artifacts", "state.json", f"imports/{CSV_NAME}"}
    assert expected <= names
    values = dict(
        line.split("=", 1)
        for line in (state / "secrets.env").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    logs = list((state / "logs").glob("*.log"))
    assert {"engine.log", "registry.log"} <= {log.name for log in logs}
    for log in logs:
        text = log.read_text(errors="replace")
        for name in ("ADMIN_PASSWORD", "SECRET_KEY", "API_TOKEN", "ENGINE_SECRET_ACCESS_KEY"):
            assert values[name] not in text, f"{name} is written in {log.name}"
        assert "development sign-in" not in text and "sign-in is disabled" not in text


def test_busy_port_is_refused_before_anything_starts(
    tmp_path: Path, movielens_dir: Path, posters_file: Path
) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        busy = sock.getsockname()[1]
        done = subprocess.run(
            [str(Path(sys.executable).with_name("videorecs")), "up",
             "--data", str(movielens_dir.resolve()), "--posters", str(posters_file.resolve()),
             "--port", str(busy), "--base-port", str(free_port_block())],
            cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
        )
    assert done.returncode == 1
    assert f"ports in use: frontend ({busy})" in done.stderr
    assert not (tmp_path / ".data").exists()
