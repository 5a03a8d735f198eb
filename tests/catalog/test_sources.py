"""Finding ml-100k: --data, MOVIELENS_DIR, the cache, then a verified download (no network)."""

from __future__ import annotations

import http.server
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.catalog.sources import DatasetUnavailable, default_cache_dir, find_data_dir
from tests.catalog.conftest import write_small
from tests.catalog.test_loader import run_loader
from tests.utils.servers import free_port


def unreachable_url() -> str:
    # A loopback port nothing listens on: the download fails at once, as offline.
    return f"http://127.0.0.1:{free_port()}/ml-100k.zip"


@pytest.fixture
def folders(tmp_path: Path) -> dict[str, Path]:
    return {name: write_small(tmp_path / name) for name in ("explicit", "env", "cache")}


def test_explicit_folder_comes_first(folders: dict[str, Path]) -> None:
    found = find_data_dir(
        explicit=folders["explicit"],
        env_dir=folders["env"],
        cache_dir=folders["cache"],
        download_url=unreachable_url(),
    )
    assert found == folders["explicit"]


def test_environment_folder_before_cache(folders: dict[str, Path]) -> None:
    found = find_data_dir(
        explicit=None,
        env_dir=folders["env"],
        cache_dir=folders["cache"],
        download_url=unreachable_url(),
    )
    assert found == folders["env"]


def test_cache_before_download(folders: dict[str, Path]) -> None:
    found = find_data_dir(
        explicit=None, env_dir=None, cache_dir=folders["cache"], download_url=unreachable_url()
    )
    assert found == folders["cache"]


def test_default_cache_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "videorecs" / "ml-100k"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == Path.home() / ".cache" / "videorecs" / "ml-100k"


def test_explicit_folder_without_data_is_an_error(tmp_path: Path, folders: dict[str, Path]) -> None:
    with pytest.raises(DatasetUnavailable) as caught:
        find_data_dir(
            explicit=tmp_path / "empty",
            env_dir=None,
            cache_dir=folders["cache"],
            download_url=unreachable_url(),
        )
    assert str(caught.value) == (
        f"--data {tmp_path / 'empty'} does not hold u.user, u.item and u.data; point the loader "
        "at a local copy with --data DIR or MOVIELENS_DIR=DIR (a folder holding u.user, u.item "
        "and u.data)"
    )


def test_offline_without_data_says_how_to_point_at_a_copy(tmp_path: Path) -> None:
    url = unreachable_url()
    cache = tmp_path / "cache" / "ml-100k"
    with pytest.raises(DatasetUnavailable) as caught:
        find_data_dir(explicit=None, env_dir=None, cache_dir=cache, download_url=url)
    message = str(caught.value)
    assert message.startswith(
        f"MovieLens 100k is not available locally and downloading {url} failed (ConnectError"
    )
    assert message.endswith(
        "--data DIR or MOVIELENS_DIR=DIR (a folder holding u.user, u.item and u.data)"
    )
    assert not cache.exists() and list(cache.parent.iterdir()) == []


def test_cli_offline_message(tmp_path: Path) -> None:
    done = run_loader(
        env={
            "DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
            "XDG_CACHE_HOME": str(tmp_path / "xdg"),
            "MOVIELENS_DOWNLOAD_URL": unreachable_url(),
        }
    )
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert lines[0].startswith("error: MovieLens 100k is not available locally")
    assert "--data DIR or MOVIELENS_DIR=DIR" in lines[0]
    assert not (tmp_path / "c.db").exists()


def make_zip(path: Path, source: Path, *, tamper: bool = False) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name in ("u.user", "u.item", "u.data", "u.genre"):
            data = (source / name).read_bytes()
            if tamper and name == "u.data":
                data = data.replace(b"\t3\t", b"\t4\t", 1)
            archive.writestr(f"ml-100k/{name}", data)
    return path


@pytest.fixture
def zip_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A loopback HTTP server for files put in the returned folder."""
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()


def test_download_is_verified_and_cached(
    zip_server: tuple[str, Path], movielens_dir: Path, tmp_path: Path
) -> None:
    base, root = zip_server
    make_zip(root / "ml-100k.zip", movielens_dir)
    cache = tmp_path / "cache" / "ml-100k"
    found = find_data_dir(
        explicit=None, env_dir=None, cache_dir=cache, download_url=f"{base}/ml-100k.zip"
    )
    assert found == cache
    assert (cache / "u.data").read_bytes() == (movielens_dir / "u.data").read_bytes()
    # The next run finds the cache and never asks the server.
    (root / "ml-100k.zip").unlink()
    assert (
        find_data_dir(
            explicit=None, env_dir=None, cache_dir=cache, download_url=f"{base}/ml-100k.zip"
        )
        == cache
    )


def test_download_failing_checksum_is_refused(
    zip_server: tuple[str, Path], movielens_dir: Path, tmp_path: Path
) -> None:
    base, root = zip_server
    make_zip(root / "ml-100k.zip", movielens_dir, tamper=True)
    cache = tmp_path / "cache" / "ml-100k"
    with pytest.raises(
        DatasetUnavailable, match="ml-100k/u.data is missing or fails its SHA-256 check"
    ):
        find_data_dir(
            explicit=None, env_dir=None, cache_dir=cache, download_url=f"{base}/ml-100k.zip"
        )
    assert not cache.exists()


def test_download_http_error(zip_server: tuple[str, Path], tmp_path: Path) -> None:
    base, _ = zip_server
    with pytest.raises(
        DatasetUnavailable, match=r"downloading .*/nothing.zip failed \(HTTPStatusError"
    ):
        find_data_dir(
            explicit=None,
            env_dir=None,
            cache_dir=tmp_path / "c",
            download_url=f"{base}/nothing.zip",
        )
