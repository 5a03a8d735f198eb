"""IMPORT_ROOTS without a server: the settings, the check at creation, the re-check at read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from services.common.config import load_settings
from services.engine import import_roots
from services.engine.config import Settings
from services.engine.import_roots import (
    OutsideRoots,
    Unreadable,
    check,
    open_inside,
    refusal,
)


def read_inside(location: str, roots: list[str]) -> bytes | None:
    """The bytes of the file `open_inside` opens (None: no such file)."""
    handle = open_inside(location, roots)
    if handle is None:
        return None
    with handle:
        return handle.read()


def _settings(monkeypatch: pytest.MonkeyPatch, roots: str | None) -> Settings:
    monkeypatch.setenv("DATABASE_URL", "sqlite:///unused.db")
    monkeypatch.setenv("ARTIFACTS_URL", "file:///unused")
    monkeypatch.setenv("ENGINE_ALLOW_ANONYMOUS", "true")
    if roots is None:
        monkeypatch.delenv("IMPORT_ROOTS", raising=False)
    else:
        monkeypatch.setenv("IMPORT_ROOTS", roots)
    return load_settings(Settings)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, []),
        ("", []),
        ("/data/a,/data/b", ["/data/a", "/data/b"]),
        (f"/data/a{os.pathsep}/data/b", ["/data/a", "/data/b"]),
        ('["/data/a,b", "/data/c"]', ["/data/a,b", "/data/c"]),
    ],
)
def test_roots_setting_forms(
    monkeypatch: pytest.MonkeyPatch, value: str | None, expected: list[str]
) -> None:
    assert _settings(monkeypatch, value).IMPORT_ROOTS == expected


@pytest.mark.parametrize("value", ["relative/dir", "[1", '["/ok", "not/absolute"]'])
def test_bad_roots_stop_the_engine_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    with pytest.raises(SystemExit, match="IMPORT_ROOTS"):
        _settings(monkeypatch, value)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "root"
    folder.mkdir()
    (folder / "good.csv").write_text("USER_ID,ITEM_ID,TIMESTAMP\n")
    return folder


def test_no_roots_refuse_every_file(root: Path) -> None:
    location = (root / "good.csv").as_uri()
    with pytest.raises(OutsideRoots) as refused:
        check(location, [])
    assert str(refused.value) == refusal(location)


def test_inside_is_allowed_and_read(root: Path) -> None:
    location = (root / "good.csv").as_uri()
    assert check(location, [str(root)]) == os.path.realpath(root / "good.csv")
    assert read_inside(location, [str(root)]) == b"USER_ID,ITEM_ID,TIMESTAMP\n"
    assert read_inside((root / "absent.csv").as_uri(), [str(root)]) is None


def test_a_root_reached_through_a_symlink_still_counts(root: Path, tmp_path: Path) -> None:
    alias = tmp_path / "alias"
    alias.symlink_to(root)
    assert read_inside(f"file://{alias}/good.csv", [str(alias)]) is not None
    assert read_inside(f"file://{root}/good.csv", [str(alias)]) is not None


@pytest.mark.parametrize(
    "make",
    [
        lambda root: "file:///etc/passwd",
        lambda root: "file:///proc/self/environ",
        lambda root: f"file://{root}/../../../../etc/passwd",
        lambda root: f"file://{root}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        lambda root: f"file://{root}-sibling/x.csv",  # a prefix of the root is not inside it
        lambda root: "file://localhost/etc/passwd",
        lambda root: f"file://example.com{root}/good.csv",  # another host
        lambda root: "file://relative.csv",
        lambda root: f"file://{root}/good.csv%00",
    ],
)
def test_outside_is_refused_with_one_message(root: Path, make: object) -> None:
    location = make(root)  # type: ignore[operator]
    with pytest.raises(OutsideRoots) as refused:
        check(location, [str(root)])
    assert str(refused.value) == refusal(location)
    with pytest.raises(OutsideRoots):
        read_inside(location, [str(root)])


def test_a_symlink_out_of_the_root_is_refused(root: Path) -> None:
    (root / "link.csv").symlink_to("/etc/passwd")
    with pytest.raises(OutsideRoots):
        check((root / "link.csv").as_uri(), [str(root)])


def test_a_symlink_swapped_in_after_the_check_is_refused_at_read(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check passes on a plain file; the file is then replaced by a symlink to
    /etc/passwd before the open: O_NOFOLLOW and the opened file's own path refuse it."""
    target = root / "swap.csv"
    target.write_text("USER_ID,ITEM_ID,TIMESTAMP\n")
    real_check = import_roots.check

    def check_then_swap(location: str, roots: list[str]) -> str:
        resolved = real_check(location, roots)
        target.unlink()
        target.symlink_to("/etc/passwd")
        return resolved

    monkeypatch.setattr(import_roots, "check", check_then_swap)
    with pytest.raises(OutsideRoots) as refused:
        read_inside(target.as_uri(), [str(root)])
    assert str(refused.value) == refusal(target.as_uri())


def test_a_folder_swapped_for_a_symlink_after_the_check_is_refused_at_read(
    root: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "data.csv").write_text("secret,outside\n")
    sub = root / "sub"
    sub.mkdir()
    (sub / "data.csv").write_text("USER_ID,ITEM_ID,TIMESTAMP\n")
    real_check = import_roots.check

    def check_then_swap(location: str, roots: list[str]) -> str:
        resolved = real_check(location, roots)
        (sub / "data.csv").unlink()
        sub.rmdir()
        sub.symlink_to(outside)
        return resolved

    monkeypatch.setattr(import_roots, "check", check_then_swap)
    with pytest.raises(OutsideRoots):
        read_inside((root / "sub" / "data.csv").as_uri(), [str(root)])


def test_a_fifo_or_folder_inside_is_no_file(root: Path) -> None:
    os.mkfifo(root / "pipe.csv")
    (root / "folder.csv").mkdir()
    for name in ("pipe.csv", "folder.csv"):
        with pytest.raises(Unreadable, match="is not a regular file"):
            read_inside((root / name).as_uri(), [str(root)])
