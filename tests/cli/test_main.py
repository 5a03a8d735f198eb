"""The command line: arguments, validation and error messages (no services needed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.cli.main import build_parser, main
from services.cli.pipeline import ALL_RECIPES, PipelineConfig
from services.cli.status import running_services
from services.cli.supervisor import SERVICES_FILE


def test_every_subcommand_is_declared() -> None:
    parser = build_parser()
    for argv in (["up"], ["prepare"], ["load-catalog"], ["pipeline"], ["status"]):
        assert parser.parse_args(argv).command == argv[0]


def test_up_defaults_match_the_contract_ports() -> None:
    args = build_parser().parse_args(["up"])
    assert (args.port, args.base_port, args.state_dir) == (8000, 8001, Path(".data"))
    assert tuple(args.recipes) == ALL_RECIPES


def test_unknown_recipe_is_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["pipeline", "--recipes", "aws-nope"])
    assert exc.value.code == 2
    assert "invalid choice: 'aws-nope'" in capsys.readouterr().err


def test_prepare_writes_the_csv(movielens_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "lab.csv"
    assert main(["prepare", "--data", str(movielens_dir), "--out", str(out)]) == 0
    assert out.read_text().count("\n") == 55_376


def test_load_catalog_needs_a_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(SystemExit, match="--database-url or DATABASE_URL is required"):
        main(["load-catalog"])


def test_bad_data_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="does not hold u.user, u.item and u.data"):
        main(["prepare", "--data", str(tmp_path)])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"recipes": ("aws-nope",)}, "unknown recipe", id="recipe"),
        pytest.param({"data_location": "ftp://x/y"}, "s3://bucket/key", id="location"),
        pytest.param({"registry_url": "http://r"}, "api_token is required", id="token"),
    ],
)
def test_pipeline_config_is_checked(
    tmp_path: Path, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        PipelineConfig(movielens_dir=tmp_path, work_dir=tmp_path, **kwargs)  # type: ignore[arg-type]


def test_console_script_is_installed() -> None:
    done = subprocess.run(
        [str(Path(sys.executable).with_name("videorecs")), "--help"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0
    assert "{up,prepare,load-catalog,pipeline,status}" in done.stdout


def test_up_keeps_warm_spares_unless_told_not_to() -> None:
    assert build_parser().parse_args(["up"]).spares is True
    assert build_parser().parse_args(["up", "--no-spares"]).spares is False


def test_status_ignores_the_services_file_of_a_run_that_is_gone(tmp_path: Path) -> None:
    """services.json outlives a `videorecs up` killed with -9: only a live run counts."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    body = {"pid": gone.pid, "services": {}}
    (tmp_path / SERVICES_FILE).write_text(json.dumps(body))
    assert running_services(tmp_path) is None
    body["pid"] = os.getpid()
    (tmp_path / SERVICES_FILE).write_text(json.dumps(body))
    assert running_services(tmp_path) == body
