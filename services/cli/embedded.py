"""`videorecs up`: the whole app on one machine, with SQLite and the local engine.

Starts engine, catalog, registry and frontend as child processes on loopback, loads the
catalog if it is empty, runs the pipeline (which reuses everything a previous run made),
then starts the recommender with the already-watched filter and waits for Ctrl-C.
Meanwhile a service that exits is restarted (services/cli/supervisor.py); one that keeps
failing stops the app with the reason. State lives in one folder (`.data/` by default):
databases, model artifacts, the training CSV, logs, the generated development secrets and
`services.json` (each service's process and restarts, for `videorecs status`).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console

from services.cli.personalize import PipelineError
from services.cli.pipeline import ALL_RECIPES, PipelineConfig, PipelineResult, run_pipeline
from services.cli.ports import port_in_use
from services.cli.prepare import DataError
from services.cli.progress import LogProgress, PipelineProgress, RichProgress
from services.cli.registry import RegistryError
from services.cli.secrets import SECRETS_FILE, load_or_create
from services.cli.state_dir import PRIVATE_UMASK, make_private
from services.cli.supervisor import (
    SERVICES_FILE,
    Child,
    ChildFailed,
    Supervisor,
    spawn,
    spawn_standby,
    stop_all,
    wait_ready,
)
from services.cli.topology import Topology, app_path

# What the last run made that the next one needs before the pipeline has run.
STATE_FILE = "state.json"
# Where the pipeline writes the training CSV: the engine's only import root.
IMPORTS_DIR = "imports"


@dataclass
class UpConfig:
    state_dir: Path
    movielens_dir: Path
    posters: Path | None
    host: str = "127.0.0.1"
    port: int = 8000
    base_port: int = 8001
    recipes: tuple[str, ...] = ALL_RECIPES
    # A warm spare per service, so a restart skips the imports (services/cli/standby.py).
    spares: bool = True

    def ports(self) -> dict[str, int]:
        return {
            "frontend": self.port,
            "catalog": self.base_port,
            "registry": self.base_port + 1,
            "recommender": self.base_port + 2,
            "engine": self.base_port + 3,
        }


async def catalog_loaded(catalog_url: str) -> bool:
    """True when the catalog already answers with reviews (skip the load)."""
    async with httpx.AsyncClient(timeout=5.0) as client:
        try:
            response = await client.get(catalog_url + "/stats")
        except httpx.HTTPError:
            return False
    return response.status_code == 200 and response.json().get("reviews", 0) > 0


async def load_catalog(database_url: str, movielens_dir: Path, posters: Path | None) -> str:
    # The CLI is not a service, so it may use the catalog's loader directly.
    from services.catalog.loader import load_movielens

    report = await load_movielens(database_url=database_url, data_dir=movielens_dir,
                                  posters=posters)
    return report.summary()


def check_ports(config: UpConfig) -> None:
    """Refuse to start, naming them, when any of the app's ports is taken."""
    busy = [f"{n} ({p})" for n, p in config.ports().items() if port_in_use(config.host, p)]
    if busy:
        raise SystemExit(
            f"ports in use: {', '.join(busy)}; stop what uses them or pass --port/--base-port"
        )


class EmbeddedApp:
    """The running children and how to start and stop them."""

    def __init__(self, config: UpConfig, console: Console) -> None:
        self.config = config
        self.console = console
        state = config.state_dir.resolve()
        self.state = state
        make_private(state)  # a folder from an older, looser run is tightened too
        self.supervisor = Supervisor(
            self._spawn_child,
            spare_spawner=self._spawn_spare if config.spares else None,
            status_file=state / SERVICES_FILE,
            report=lambda line: console.print(line, highlight=False),
        )
        self.secrets, self.secrets_created = load_or_create(state / SECRETS_FILE)
        ports = config.ports()
        self.topology = Topology(
            urls={name: f"http://{config.host}:{port}" for name, port in ports.items()},
            database_urls={
                name: f"sqlite+aiosqlite:///{state / f'{name}.db'}"
                for name in ("engine", "catalog", "registry")
            },
            artifacts_url=(state / "artifacts").as_uri(),
            secrets=self.secrets,
            # Only the pipeline's own folder: the engine may read its training CSV, never
            # secrets.env, the databases or the logs beside it.
            import_roots=(str(state / IMPORTS_DIR),),
        )

    @property
    def children(self) -> list[Child]:
        return list(self.supervisor.children.values())

    def _spawn_child(self, name: str) -> Child:
        """One service's process with the topology's current settings (a restart too)."""
        port = self.config.ports()[name]
        return spawn(name, app_path(name), host=self.config.host, port=port,
                     env=self.topology.env(name), log_dir=self.state / "logs")

    def _spawn_spare(self, name: str) -> Child:
        return spawn_standby(
            name,
            app_path(name),
            host=self.config.host,
            port=self.config.ports()[name],
            env=self.topology.env(name),
            log_dir=self.state / "logs",
        )

    async def _start_ready(self, names: list[str]) -> None:
        started = [self.supervisor.spawn(name) for name in names]
        await asyncio.gather(*(wait_ready(c, others=self.children) for c in started))
        for name in names:
            self.supervisor.set_state(name, "running")

    def _remembered_filter(self) -> str | None:
        try:
            return json.loads((self.state / STATE_FILE).read_text()).get("exclude_filter_arn")
        except (FileNotFoundError, ValueError):
            return None

    def _remember(self, result: PipelineResult) -> None:
        state = {"exclude_filter_arn": result.filter_arn, "campaigns": result.campaign_arns}
        (self.state / STATE_FILE).write_text(json.dumps(state, indent=2))

    async def start(self, progress: PipelineProgress) -> PipelineResult:
        (self.state / "artifacts").mkdir(parents=True, exist_ok=True)
        (self.state / IMPORTS_DIR).mkdir(exist_ok=True)
        # A previous run left the filter's ARN: start the recommender with the rest.
        self.topology.exclude_filter_arn = self._remembered_filter()
        names = ["engine", "catalog", "registry", "frontend"]
        if self.topology.exclude_filter_arn:
            names.append("recommender")
        progress.start("services", f"Starting {', '.join(names)}")
        await self._start_ready(names)
        progress.finish("services", "ready")

        # The catalog load and the pipeline touch different databases: run them together.
        _, result = await asyncio.gather(
            self._load_catalog(progress),
            run_pipeline(
                PipelineConfig(
                    movielens_dir=self.config.movielens_dir,
                    work_dir=self.state / IMPORTS_DIR,
                    personalize_endpoint_url=self.topology.urls["engine"],
                    recipes=self.config.recipes,
                    registry_url=self.topology.urls["registry"],
                    api_token=self.secrets.api_token,
                    engine_access_key_id=self.secrets.engine_access_key_id,
                    engine_secret_access_key=self.secrets.engine_secret_access_key,
                    poll_interval=0.25,
                ),
                progress=progress,
            ),
        )
        self._remember(result)
        if result.filter_arn != self.topology.exclude_filter_arn:
            self.topology.exclude_filter_arn = result.filter_arn
            if "recommender" in names:
                stop_all([self.supervisor.children["recommender"]])
                self.supervisor.forget("recommender")
            progress.start("recommender", "Starting the recommender")
            await self._start_ready(["recommender"])
            progress.finish("recommender", "ready")
        return result

    async def _load_catalog(self, progress: PipelineProgress) -> None:
        progress.start("catalog", "Loading MovieLens into the catalog")
        if await catalog_loaded(self.topology.urls["catalog"]):
            progress.finish("catalog", "reused")
            return
        summary = await load_catalog(
            self.topology.database_urls["catalog"], self.config.movielens_dir, self.config.posters
        )
        progress.finish("catalog", summary)

    async def watch(self, stop: asyncio.Event) -> None:
        """Return when `stop` is set, restarting children that exit meanwhile; raise
        ChildFailed when one keeps failing."""
        await self.supervisor.watch(stop)

    async def stop(self) -> None:
        await self.supervisor.cancel_restarts()
        await asyncio.to_thread(self.supervisor.stop_all)


def _banner(app: EmbeddedApp, seconds: float) -> str:
    secrets_path = app.state / SECRETS_FILE
    admin_url = app.topology.urls["frontend"] + "/api/registry/admin/"
    lines = [
        f"[bold green]videorecs is running at {app.topology.urls['frontend']}[/] "
        f"(ready in {seconds:.1f}s)",
        f"  admin pages: {admin_url} — user and password in {secrets_path}"
        + (" (generated now)" if app.secrets_created else ""),
        f"  logs: {app.state / 'logs'}/<service>.log",
        "  a service that exits is restarted; `videorecs status` shows restarts",
        "  press Ctrl-C to stop",
    ]
    return "\n".join(lines)


async def _main(config: UpConfig, console: Console) -> int:
    started = time.monotonic()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    check_ports(config)
    app = EmbeddedApp(config, console)
    reporter: RichProgress | LogProgress
    reporter = RichProgress(console) if console.is_terminal else LogProgress(console)
    try:
        startup = asyncio.ensure_future(_start(app, reporter))
        stopper = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait({startup, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if startup not in done:
            startup.cancel()
            await asyncio.gather(startup, return_exceptions=True)
            console.print("stopped during startup")
            return 0
        stopper.cancel()
        startup.result()
        console.print(_banner(app, time.monotonic() - started))
        app.supervisor.keep_spares()
        await app.watch(stop)
        console.print("stopping…")
        return 0
    except (ChildFailed, PipelineError, RegistryError, DataError, httpx.HTTPError) as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False)
        return 1
    finally:
        await app.stop()


async def _start(app: EmbeddedApp, reporter: RichProgress | LogProgress) -> PipelineResult:
    if isinstance(reporter, RichProgress):
        with reporter:
            return await app.start(reporter)
    return await app.start(reporter)


def run_up(config: UpConfig) -> int:
    # Owner-only files for this process and every child (services, training workers): the
    # databases, logs, artifacts and CSV under the state folder (services/cli/state_dir.py).
    os.umask(PRIVATE_UMASK)
    console = Console(stderr=True)
    return asyncio.run(_main(config, console))
