"""`videorecs up`'s state folder is private, and the engine gets its secrets and import root
from it (fast checks without processes; tests/cli/test_up.py checks a real run)."""

from __future__ import annotations

import io
import json
import stat
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from services.cli.embedded import EmbeddedApp, UpConfig
from services.cli.state_dir import make_private


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_make_private_tightens_an_older_folder_and_leaves_symlink_targets(tmp_path: Path) -> None:
    state = tmp_path / ".data"
    (state / "logs").mkdir(parents=True)
    (state / "artifacts" / "model").mkdir(parents=True)
    for path in (state, state / "logs", state / "artifacts", state / "artifacts" / "model"):
        path.chmod(0o755)
    files = [state / "engine.db", state / "logs" / "engine.log", state / "artifacts/model/m.npz"]
    for path in files:
        path.write_text("x")
        path.chmod(0o644)
    outside = tmp_path / "outside.txt"
    outside.write_text("not ours")
    outside.chmod(0o644)
    (state / "link").symlink_to(outside)

    make_private(state)

    for folder in (state, state / "logs", state / "artifacts", state / "artifacts" / "model"):
        assert _mode(folder) == 0o700, folder
    for path in files:
        assert _mode(path) == 0o600, path
    assert _mode(outside) == 0o644  # a symlink's target outside the folder is not touched


def test_make_private_creates_a_missing_folder_owner_only(tmp_path: Path) -> None:
    make_private(tmp_path / "new" / ".data")
    assert _mode(tmp_path / "new" / ".data") == 0o700


def test_run_up_sets_an_owner_only_umask_for_itself_and_its_children(tmp_path: Path) -> None:
    """In a child interpreter (the umask is per process): run_up with the app stubbed out,
    then what it and a process it starts create is owner-only."""
    script = f"""
import os, pathlib, subprocess, sys
import services.cli.embedded as embedded
embedded.asyncio.run = lambda coro: coro.close()
embedded.run_up(embedded.UpConfig(state_dir=pathlib.Path("s"), movielens_dir=pathlib.Path("."),
                                  posters=None))
root = pathlib.Path({str(tmp_path)!r})
(root / "own.log").write_text("x")
child = "import pathlib; p = pathlib.Path('child'); p.mkdir(); (p / 'f.db').write_text('x')"
subprocess.run([sys.executable, "-c", child], cwd=root, check=True)
"""
    subprocess.run([sys.executable, "-c", script], check=True, cwd=Path.cwd())
    assert _mode(tmp_path / "own.log") == 0o600
    assert _mode(tmp_path / "child") == 0o700
    assert _mode(tmp_path / "child" / "f.db") == 0o600


def test_the_engine_gets_the_console_secrets_and_the_imports_folder_as_import_root(
    tmp_path: Path,
) -> None:
    state = tmp_path / ".data"
    state.mkdir()
    state.chmod(0o755)
    config = UpConfig(state_dir=state, movielens_dir=tmp_path, posters=None)
    app = EmbeddedApp(config, Console(file=io.StringIO()))
    assert _mode(state) == 0o700
    assert _mode(state / "secrets.env") == 0o600
    env = app.topology.env("engine")
    # The console signs in with secrets.env's credentials: nothing is made up or logged.
    assert env["ADMIN_USERNAME"] == app.secrets.admin_username
    assert env["ADMIN_PASSWORD"] == app.secrets.admin_password
    assert env["SECRET_KEY"] == app.secrets.secret_key
    # The pipeline writes its training CSV into imports/: the one import root, so an
    # engine key holder cannot have the engine read secrets.env, the databases or logs.
    assert json.loads(env["IMPORT_ROOTS"]) == [str(state.resolve() / "imports")]
    # Other services get nothing new from this.
    assert "IMPORT_ROOTS" not in app.topology.env("catalog")
