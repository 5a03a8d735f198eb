"""Every service image runs as a non-root user (docker itself is not needed: the files are read)."""

from __future__ import annotations

import re
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
