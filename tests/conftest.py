"""Fixtures every test package can use: database backends, moto's S3 server, data paths."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis.configuration import set_hypothesis_home_dir

from tests.utils.databases import BACKENDS, new_database_url

if TYPE_CHECKING:
    from tests.utils.stack import Stack

ROOT = Path(__file__).resolve().parents[1]
# Hypothesis keeps its caches (and any example database) in .hypothesis/ under the working
# directory: keep them out of the repository.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "videorecs-hypothesis")


@pytest.fixture(params=BACKENDS)
def db_backend(request: pytest.FixtureRequest) -> str:
    """Each test that uses it runs once on SQLite and once on PostgreSQL."""
    return str(request.param)


@pytest.fixture
async def database_url(db_backend: str, tmp_path: Path) -> str:
    return await new_database_url(db_backend, tmp_path)


@pytest.fixture(scope="session")
def movielens_dir() -> Path:
    """ml-100k, read from MOVIELENS_DIR or ../shared/datasets (never from the repository)."""
    path = Path(os.environ.get("MOVIELENS_DIR", ROOT.parent / "shared/datasets/ml-100k"))
    if not (path / "u.data").is_file():
        pytest.fail(f"ml-100k not found at {path}: set MOVIELENS_DIR to a local copy")
    return path


@pytest.fixture(scope="session")
def posters_file() -> Path:
    path = Path(
        os.environ.get("MOVIELENS_POSTERS", ROOT.parent / "shared/datasets/ml-100k-posters/u.item")
    )
    if not path.is_file():
        pytest.fail(f"poster file not found at {path}: set MOVIELENS_POSTERS")
    return path


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto in server mode (S3), on a free loopback port; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def artifacts_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where tests put screenshots and logs that CI keeps (TEST_OUTPUT_DIR)."""
    path = Path(os.environ.get("TEST_OUTPUT_DIR", ROOT / "test-output"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def lab_stack(
    tmp_path_factory: pytest.TempPathFactory,
    movielens_dir: Path,
    posters_file: Path,
    moto_server: str,
) -> Iterator[Stack]:
    """Every service running on loopback, all recipes trained, campaigns registered.

    Session-scoped so the whole suite trains once. Engine, catalog and registry use
    PostgreSQL (TEST_POSTGRES_URL), as in docker-compose; the engine reads s3:// imports
    from moto. See tests/utils/stack.py.
    """
    from tests.utils.stack import postgres_databases, start_stack

    tmp = tmp_path_factory.mktemp("lab-stack")
    with start_stack(
        tmp,
        movielens_dir=movielens_dir,
        posters_file=posters_file,
        database_url_factory=postgres_databases(("engine", "catalog", "registry"), tmp),
        extra_env={"engine": {"S3_ENDPOINT_URL": moto_server}},
    ) as stack:
        yield stack


# Training every recipe happens in the setup of the first test that asks for lab_stack,
# and pytest-timeout counts fixture setup: give those tests room on small CI machines.
LAB_STACK_TIMEOUT = 900


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "lab_stack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.timeout(LAB_STACK_TIMEOUT))
