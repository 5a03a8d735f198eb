"""Every service image runs as a non-root user with a HEALTHCHECK (docker itself is not
needed: the files are read)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from tests.utils.servers import ROOT

DOCKERFILES = sorted((ROOT / "services").glob("*/Dockerfile"))


def _final_stage(path: Path) -> list[str]:
    """The instructions of the last stage, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", path.read_text())
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    last_from = max(i for i, line in enumerate(lines) if line.upper().startswith("FROM "))
    return lines[last_from:]


def test_every_service_has_a_dockerfile() -> None:
    names = {path.parent.name for path in DOCKERFILES}
    assert {"catalog", "cli", "engine", "frontend", "recommender", "registry"} <= names


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_the_image_runs_as_a_created_non_root_user(dockerfile: Path) -> None:
    stage = _final_stage(dockerfile)
    users = [line.split(None, 1)[1].strip() for line in stage if line.upper().startswith("USER ")]
    assert users, f"{dockerfile}: no USER in the final stage"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    created = " ".join(line for line in stage if line.upper().startswith("RUN "))
    assert re.search(rf"useradd\b[^;&]*\b{re.escape(user)}\b", created), "the user is created"
    # Instructions after the last USER run as that user: none may switch back to root.
    after = stage[max(i for i, line in enumerate(stage) if line.upper().startswith("USER ")) :]
    assert not any(line.upper().startswith("RUN ") for line in after[1:])


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_what_the_image_writes_belongs_to_its_user(dockerfile: Path) -> None:
    """A VOLUME (the engine's artifacts) is created and chowned to the user before USER, so
    a fresh named volume starts out writable by it."""
    stage = _final_stage(dockerfile)
    run = " ".join(line for line in stage if line.upper().startswith("RUN "))
    for line in stage:
        if line.upper().startswith("VOLUME "):
            for volume in re.findall(r'"([^"]+)"', line) or line.split()[1:]:
                assert f"chown -R app:app {volume}" in run, f"{volume} is not chowned"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_the_image_has_a_healthcheck(dockerfile: Path) -> None:
    """Each server image probes its own /healthz; the cli image runs one-shot jobs (the
    bootstrap), which have no server to probe: it says so with HEALTHCHECK NONE."""
    checks = [line for line in _final_stage(dockerfile) if line.upper().startswith("HEALTHCHECK")]
    assert len(checks) == 1, f"{dockerfile}: one HEALTHCHECK in the final stage"
    if dockerfile.parent.name == "cli":
        assert checks[0].split()[1:] == ["NONE"]
    else:
        assert " CMD " in f" {checks[0]} " and "/healthz" in checks[0]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_the_build_copies_what_pyproject_names(dockerfile: Path) -> None:
    """pyproject.toml names README.md (readme) and LICENSE (license-files): building the
    project without them fails, so the build stage copies them beside it."""
    copies = " ".join(line for line in dockerfile.read_text().splitlines() if "pyproject" in line)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        assert name in copies, f"{dockerfile}: {name} is not copied with pyproject.toml"


def test_the_engine_image_installs_pyprojects_torch_as_the_cpu_build() -> None:
    """The image installs torch before the project, from PyTorch's CPU index: the same
    release as pyproject.toml's pin (else `pip install .[engine]` would replace it with
    PyPI's CUDA build), with the `+cpu` label only that index serves."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        engine = tomllib.load(file)["project"]["optional-dependencies"]["engine"]
    (pin,) = [spec.removeprefix("torch==") for spec in engine if spec.startswith("torch==")]
    build = (ROOT / "services/engine/Dockerfile").read_text()
    assert f'"torch=={pin}+cpu"' in build
    assert "--index-url https://download.pytorch.org/whl/cpu" in build
