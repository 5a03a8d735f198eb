"""The whole app as real processes on loopback, trained once: for tests and benchmarks.

    with start_stack(tmp_dir, movielens_dir=..., posters_file=...) as stack:
        httpx.get(f"{stack.recommender_url}/users/1/recommendations?models={stack.model_ids[...]}")

Starts engine, catalog, registry and frontend as uvicorn processes on free ports, loads
the catalog, runs `run_pipeline` (datasets, training of every recipe, campaigns, the
already-watched filter, registry models), then starts the recommender with that filter
— the same order and settings as `videorecs up` (services/cli/topology.py), but on free
ports and in a throwaway folder. The test suite (tests/utils/stack.py, the `lab_stack`
fixture) and `python -m bench.recommender` both start the app through it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO, TypeVar

from rich.console import Console

from services.cli.embedded import load_catalog
from services.cli.pipeline import ALL_RECIPES, PipelineConfig, PipelineResult, run_pipeline
from services.cli.ports import free_port
from services.cli.progress import LogProgress
from services.cli.secrets import Secrets, generate
from services.cli.supervisor import Child, spawn, stop_all, wait_ready
from services.cli.topology import Topology, app_path
from services.common.aws import AwsSettings

# The checkout's root (the frontend's templates live in frontend/ beside services/).
ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")
# service name ("engine", "catalog", "registry") -> async SQLAlchemy URL of a fresh database
DatabaseUrlFactory = Callable[[str], Awaitable[str]]
DATABASE_SERVICES = ("engine", "catalog", "registry")


def sqlite_databases(tmp_dir: Path) -> DatabaseUrlFactory:
    async def factory(service: str) -> str:
        return f"sqlite+aiosqlite:///{tmp_dir / f'{service}.db'}"

    return factory


def frontend_present() -> bool:
    return (ROOT / "services/frontend/main.py").is_file() and (
        ROOT / "frontend/templates/index.html"
    ).is_file()


@dataclass
class Stack:
    """URLs of the running services and what the pipeline made."""

    urls: dict[str, str]
    topology: Topology
    result: PipelineResult
    secrets: Secrets
    logs_dir: Path
    children: dict[str, Child] = field(default_factory=dict)

    @property
    def engine_url(self) -> str:
        return self.urls["engine"]

    @property
    def catalog_url(self) -> str:
        return self.urls["catalog"]

    @property
    def registry_url(self) -> str:
        return self.urls["registry"]

    @property
    def recommender_url(self) -> str:
        return self.urls["recommender"]

    @property
    def frontend_url(self) -> str | None:
        return self.urls.get("frontend")

    @property
    def api_token(self) -> str:
        return self.secrets.api_token

    @property
    def campaign_arns(self) -> dict[str, str]:
        """Campaign ARN by recipe name (e.g. "aws-sims")."""
        return self.result.campaign_arns

    @property
    def model_ids(self) -> dict[str, int]:
        """Registry model id by model name (e.g. "Personal Recommendations")."""
        return self.result.model_ids

    @property
    def filter_arn(self) -> str:
        return self.result.filter_arn

    def log(self, service: str) -> str:
        return self.children[service].log_path.read_text(errors="replace")

    def personalize_aws(self, **options: Any) -> AwsSettings:
        """Client settings that sign with this stack's engine key pair."""
        return AwsSettings(
            endpoint_url=self.engine_url,
            access_key_id=self.secrets.engine_access_key_id,
            secret_access_key=self.secrets.engine_secret_access_key,
            **options,
        )


def _run(coro: Awaitable[T]) -> T:
    """Run `coro` on a fresh loop in a worker thread (callers may be inside a running loop)."""

    async def main() -> T:
        return await coro

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result()


async def _start(
    tmp_dir: Path,
    *,
    movielens_dir: Path,
    posters_file: Path | None,
    factory: DatabaseUrlFactory,
    recipes: tuple[str, ...],
    with_frontend: bool,
    children: dict[str, Child],
    extra_env: dict[str, dict[str, str]],
    secrets: Secrets,
) -> Stack:
    names = ["engine", "catalog", "registry", "recommender"]
    if with_frontend:
        names.append("frontend")
    ports = {name: free_port() for name in names}
    databases = {name: await factory(name) for name in DATABASE_SERVICES}
    topology = Topology(
        urls={name: f"http://127.0.0.1:{port}" for name, port in ports.items()},
        database_urls=databases,
        artifacts_url=(tmp_dir / "artifacts").as_uri(),
        secrets=secrets,
        environment="test",
        import_roots=(str(tmp_dir.resolve()),),  # _pipeline writes its CSV there
        extra=extra_env,
    )
    (tmp_dir / "artifacts").mkdir(parents=True, exist_ok=True)
    logs = tmp_dir / "logs"

    def start(name: str) -> Child:
        child = spawn(
            name,
            app_path(name),
            host="127.0.0.1",
            port=ports[name],
            env=topology.env(name),
            log_dir=logs,
        )
        children[name] = child
        return child

    first = [start(name) for name in names if name != "recommender"]
    await asyncio.gather(*(wait_ready(c, others=first) for c in first))
    with (logs / "pipeline.log").open("w") as pipeline_log:
        _, result = await asyncio.gather(
            load_catalog(databases["catalog"], movielens_dir, posters_file),
            _pipeline(topology, movielens_dir, tmp_dir, recipes, secrets, pipeline_log),
        )
    topology.exclude_filter_arn = result.filter_arn
    await wait_ready(start("recommender"), others=list(children.values()))
    return Stack(topology.urls, topology, result, secrets, logs, children)


async def _pipeline(
    topology: Topology,
    movielens_dir: Path,
    tmp_dir: Path,
    recipes: tuple[str, ...],
    secrets: Secrets,
    log: TextIO,
) -> PipelineResult:
    return await run_pipeline(
        PipelineConfig(
            movielens_dir=movielens_dir,
            work_dir=tmp_dir,
            personalize_endpoint_url=topology.urls["engine"],
            engine_access_key_id=secrets.engine_access_key_id,
            engine_secret_access_key=secrets.engine_secret_access_key,
            recipes=recipes,
            registry_url=topology.urls["registry"],
            api_token=secrets.api_token,
            poll_interval=0.2,
            timeout=600,
        ),
        # Each step with its time, in logs/pipeline.log next to the services' logs.
        progress=LogProgress(Console(file=log, width=200)),
    )


@contextmanager
def start_stack(
    tmp_dir: Path,
    *,
    movielens_dir: Path,
    posters_file: Path | None,
    database_url_factory: DatabaseUrlFactory | None = None,
    recipes: tuple[str, ...] = ALL_RECIPES,
    with_frontend: bool | None = None,
    extra_env: dict[str, dict[str, str]] | None = None,
    secrets: Secrets | None = None,
) -> Iterator[Stack]:
    """Start the app, train and register every recipe, yield the Stack, stop everything.

    `secrets`: the admin credentials, API token and engine key pair; freshly generated
    unless given (the tests pass a fixed engine key pair their helper processes share)."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    children: dict[str, Child] = {}
    kwargs: dict[str, Any] = {
        "movielens_dir": movielens_dir,
        "posters_file": posters_file,
        "factory": database_url_factory or sqlite_databases(tmp_dir),
        "recipes": recipes,
        "with_frontend": frontend_present() if with_frontend is None else with_frontend,
        "children": children,
        "extra_env": extra_env or {},
        "secrets": secrets or generate(),
    }
    try:
        yield _run(_start(tmp_dir, **kwargs))
    finally:
        stop_all(list(children.values()))
