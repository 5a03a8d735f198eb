"""Development secrets: generated once, private, reused."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from services.cli.secrets import engine_credentials, load_or_create


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


def test_engine_key_pair_is_generated_and_shaped_like_aws(tmp_path: Path) -> None:
    made, _ = load_or_create(tmp_path / "secrets.env")
    assert re.fullmatch(r"VRAK[A-Z2-7]{16}", made.engine_access_key_id)
    assert len(made.engine_secret_access_key) >= 40
    env = made.as_env()
    assert env["ENGINE_ACCESS_KEY_ID"] == made.engine_access_key_id
    assert env["ENGINE_SECRET_ACCESS_KEY"] == made.engine_secret_access_key
    assert made != load_or_create(tmp_path / "other.env")[0]


def test_file_from_before_engine_keys_gets_a_pair_added(tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"
    path.write_text("ADMIN_USERNAME=admin\nADMIN_PASSWORD=pw\nSECRET_KEY=k\nAPI_TOKEN=t\n")
    path.chmod(0o600)
    upgraded, created = load_or_create(path)
    assert not created
    assert (upgraded.admin_password, upgraded.secret_key) == ("pw", "k")
    assert upgraded.engine_access_key_id and upgraded.engine_secret_access_key
    assert load_or_create(path)[0] == upgraded  # written down, so stable from now on
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_half_an_engine_pair_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"
    path.write_text("ADMIN_USERNAME=admin\nADMIN_PASSWORD=pw\nSECRET_KEY=k\nAPI_TOKEN=t\n"
                    "ENGINE_ACCESS_KEY_ID=VRAKAAAAAAAAAAAAAAAA\n")
    with pytest.raises(SystemExit, match="ENGINE_SECRET_ACCESS_KEY"):
        load_or_create(path)


def test_cli_reads_the_engine_pair_from_the_environment_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made, _ = load_or_create(tmp_path / "secrets.env")
    monkeypatch.delenv("ENGINE_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("ENGINE_SECRET_ACCESS_KEY", raising=False)
    assert engine_credentials(tmp_path / "secrets.env") == (
        made.engine_access_key_id, made.engine_secret_access_key)
    assert engine_credentials(tmp_path / "absent.env") == (None, None)
    monkeypatch.setenv("ENGINE_ACCESS_KEY_ID", "VRAKFROMENVIRONMENT1")
    monkeypatch.setenv("ENGINE_SECRET_ACCESS_KEY", "from-the-environment-0123456789")
    assert engine_credentials(tmp_path / "secrets.env") == (
        "VRAKFROMENVIRONMENT1", "from-the-environment-0123456789")
