"""CHANGELOG.md and pyproject.toml name the same release."""

from __future__ import annotations

import re
import tomllib

from tests.utils.servers import ROOT


def test_the_changelogs_newest_heading_is_pyprojects_version() -> None:
    with (ROOT / "pyproject.toml").open("rb") as file:
        version = tomllib.load(file)["project"]["version"]
    headings = re.findall(r"^## (\S+)", (ROOT / "CHANGELOG.md").read_text(), flags=re.MULTILINE)
    assert headings, "CHANGELOG.md has no `## <version>` heading"
    assert headings[0] == version, f"CHANGELOG.md's newest is {headings[0]}, pyproject's {version}"
    assert len(headings) == len(set(headings)), "a version is listed twice"
