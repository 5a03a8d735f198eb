"""Development secrets: generated once, private, reused."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from services.cli.secrets import load_or_create


def test_created_once_with_mode_600_then_reused(tmp_path: Path) -> None:
    path = tmp_path / ".data" / "secrets.env"
    first, created = load_or_create(path)
    assert created
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first.api_token) >= 32 and len(first.secret_key) >= 32
    assert first.admin_username == "admin" and first.admin_password
    again, created_again = load_or_create(path)
    assert not created_again
    assert again == first


def test_incomplete_file_is_refused_with_the_missing_names(tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"
    path.write_text("ADMIN_USERNAME=admin\nADMIN_PASSWORD=x\n")
    with pytest.raises(SystemExit, match="SECRET_KEY, API_TOKEN"):
        load_or_create(path)
