"""`videorecs --version` names the installed release, the one every /healthz reports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from services.cli.main import build_parser
from services.common.health import package_version


def test_version_flag_prints_the_release(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"videorecs {package_version()}"


def test_installed_command_prints_it() -> None:
    command = Path(sys.executable).parent / "videorecs"
    done = subprocess.run(
        [str(command), "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert (done.returncode, done.stdout.strip()) == (0, f"videorecs {package_version()}")
    assert package_version() != "unknown"
