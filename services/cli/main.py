"""`videorecs`: the lab pipeline and the embedded run, as subcommands.

    videorecs up                  # the whole app on this machine (SQLite, local engine)
    videorecs prepare             # write the lab's training CSV
    videorecs load-catalog        # load MovieLens into the catalog database
    videorecs pipeline            # Personalize resources, campaigns, registry models
    videorecs status              # what exists on the Personalize endpoint and the registry

Settings come from flags or the environment variables the services use
(PERSONALIZE_ENDPOINT_URL, AWS_REGION, REGISTRY_URL, API_TOKEN, DATABASE_URL,
MOVIELENS_DIR, MOVIELENS_POSTERS); PERSONALIZE_ENDPOINT_URL unset means AWS.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from services.cli.pipeline import ALL_RECIPES
from services.common.health import package_version

DEFAULT_STATE_DIR = Path(".data")


def _env(name: str) -> str | None:
    return os.environ.get(name) or None


def _add_data(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, help="ml-100k folder (default: MOVIELENS_DIR, "
                        "../shared/datasets/ml-100k, the cache, or a download)")


def _add_recipes(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--recipes", nargs="+", choices=ALL_RECIPES, default=list(ALL_RECIPES),
                        metavar="RECIPE", help=f"recipes to train (default: all of {ALL_RECIPES})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="videorecs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run the whole app locally (Ctrl-C stops it)")
    _add_data(up)
    up.add_argument("--posters", type=Path, help="the lab's u.item with poster URLs")
    up.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR,
                    help="databases, artifacts, logs and secrets (default: .data)")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=int, default=8000, help="the web app's port (default 8000)")
    up.add_argument("--base-port", type=int, default=8001,
                    help="catalog, registry, recommender, engine take this port and the next 3")
    up.add_argument("--no-spares", dest="spares", action="store_false",
                    help="keep no warm spare process per service: saves about 0.5 GB of "
                    "memory, but a restarted service then starts cold (2-8 s instead of 1-2 s)")
    _add_recipes(up)

    prepare = sub.add_parser("prepare", help="write the lab's training CSV")
    _add_data(prepare)
    prepare.add_argument("--out", type=Path, default=DEFAULT_STATE_DIR / "DEMO-movie-lens-100k.csv")

    load = sub.add_parser("load-catalog", help="load MovieLens into the catalog database")
    _add_data(load)
    load.add_argument("--posters", type=Path, help="the lab's u.item with poster URLs")
    load.add_argument("--database-url", default=_env("DATABASE_URL"),
                      help="the catalog's database (default: DATABASE_URL)")

    pipe = sub.add_parser("pipeline", help="create datasets, train, deploy and register")
    _add_data(pipe)
    pipe.add_argument("--work-dir", type=Path, default=DEFAULT_STATE_DIR,
                      help="where the training CSV is written (default: .data)")
    pipe.add_argument("--endpoint-url", default=_env("PERSONALIZE_ENDPOINT_URL"),
                      help="the local engine's URL (default: PERSONALIZE_ENDPOINT_URL; unset: AWS)")
    pipe.add_argument("--region", default=_env("AWS_REGION") or "us-east-1")
    _add_state_dir(pipe)
    pipe.add_argument("--data-location", default=_env("DATA_LOCATION"),
                      help="s3://bucket/key to upload the CSV to and import from "
                      "(default: DATA_LOCATION; unset: file:// of the local CSV)")
    pipe.add_argument("--s3-endpoint-url", default=_env("S3_ENDPOINT_URL"))
    pipe.add_argument("--role-arn", default=_env("PERSONALIZE_ROLE_ARN"),
                      help="IAM role Personalize uses to read the bucket (AWS only)")
    pipe.add_argument("--registry-url", default=_env("REGISTRY_URL"),
                      help="register the campaigns here (default: REGISTRY_URL; unset: skip)")
    pipe.add_argument("--api-token", default=_env("API_TOKEN"),
                      help="the registry's API token (default: API_TOKEN)")
    pipe.add_argument("--poll-interval", type=float, default=None,
                      help="seconds between status polls (default: 0.5 locally, 30 on AWS)")
    _add_recipes(pipe)

    status = sub.add_parser(
        "status", help="services of a running `videorecs up` (restarts, last exit), campaigns "
        "and registered models")
    status.add_argument("--endpoint-url", default=_env("PERSONALIZE_ENDPOINT_URL"))
    status.add_argument("--region", default=_env("AWS_REGION") or "us-east-1")
    _add_state_dir(status)
    status.add_argument("--registry-url", default=_env("REGISTRY_URL"))
    return parser


def _add_state_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-dir", type=Path, default=DEFAULT_STATE_DIR,
        help="where `videorecs up` keeps secrets.env: the engine's key pair is read from "
        "there unless ENGINE_ACCESS_KEY_ID and ENGINE_SECRET_ACCESS_KEY are set",
    )


def _engine_credentials(args: argparse.Namespace) -> tuple[str | None, str | None]:
    from services.cli.secrets import SECRETS_FILE, engine_credentials

    return engine_credentials(args.state_dir / SECRETS_FILE)


def _data_dir(explicit: Path | None) -> Path:
    from services.catalog.sources import DatasetUnavailable
    from services.cli.datasets import resolve_movielens_dir

    try:
        return resolve_movielens_dir(explicit)
    except DatasetUnavailable as exc:
        raise SystemExit(f"error: {exc}") from None


def cmd_up(args: argparse.Namespace) -> int:
    from services.cli.datasets import resolve_posters
    from services.cli.embedded import UpConfig, run_up

    data = _data_dir(args.data)
    config = UpConfig(
        state_dir=args.state_dir, movielens_dir=data, posters=resolve_posters(args.posters, data),
        host=args.host, port=args.port, base_port=args.base_port, recipes=tuple(args.recipes),
        spares=args.spares,
    )
    return run_up(config)


def cmd_prepare(args: argparse.Namespace, console: Console) -> int:
    from services.cli.prepare import prepare_interactions

    report = prepare_interactions(_data_dir(args.data), args.out)
    console.print(f"wrote {report.path}: {report.rows:,} rows, {report.users} users, "
                  f"{report.items} items")
    return 0


def cmd_load_catalog(args: argparse.Namespace, console: Console) -> int:
    from services.cli.datasets import resolve_posters
    from services.cli.embedded import load_catalog

    if not args.database_url:
        raise SystemExit("error: --database-url or DATABASE_URL is required")
    data = _data_dir(args.data)
    posters = resolve_posters(args.posters, data)
    summary = asyncio.run(load_catalog(args.database_url, data, posters))
    console.print(summary)
    return 0


def cmd_pipeline(args: argparse.Namespace, console: Console) -> int:
    from services.cli.pipeline import PipelineConfig, run_pipeline
    from services.cli.progress import LogProgress, RichProgress

    poll = args.poll_interval or (0.5 if args.endpoint_url else 30.0)
    key_id, secret = _engine_credentials(args) if args.endpoint_url else (None, None)
    config = PipelineConfig(
        movielens_dir=_data_dir(args.data), work_dir=args.work_dir,
        personalize_endpoint_url=args.endpoint_url, region=args.region,
        engine_access_key_id=key_id, engine_secret_access_key=secret,
        data_location=args.data_location, s3_endpoint_url=args.s3_endpoint_url,
        role_arn=args.role_arn, recipes=tuple(args.recipes),
        registry_url=args.registry_url, api_token=args.api_token, poll_interval=poll,
    )
    if console.is_terminal:
        with RichProgress(console) as progress:
            result = asyncio.run(run_pipeline(config, progress=progress))
    else:
        result = asyncio.run(run_pipeline(config, progress=LogProgress(console)))
    for recipe, arn in result.campaign_arns.items():
        console.print(f"{recipe:28} {arn}", highlight=False)
    for name, model_id in result.model_ids.items():
        console.print(f"registry model #{model_id}: {name}", highlight=False)
    return 0


def cmd_status(args: argparse.Namespace, console: Console) -> int:
    from services.cli.status import print_services, print_status

    running = print_services(console, args.state_dir)
    if running is not None and not args.endpoint_url and not args.registry_url:
        # Neither flag nor environment names an endpoint: the running app's engine and
        # registry rather than AWS.
        urls = {name: row["url"] for name, row in running["services"].items()}
        args.endpoint_url, args.registry_url = urls.get("engine"), urls.get("registry")
    credentials = _engine_credentials(args) if args.endpoint_url else (None, None)
    return asyncio.run(print_status(console, endpoint_url=args.endpoint_url, region=args.region,
                                    registry_url=args.registry_url,
                                    engine_credentials=credentials))


def main(argv: Sequence[str] | None = None) -> int:
    from services.cli.personalize import PipelineError
    from services.cli.prepare import DataError
    from services.cli.registry import RegistryError

    args = build_parser().parse_args(argv)
    console = Console(stderr=True)
    try:
        if args.command == "up":
            return cmd_up(args)
        handlers = {"prepare": cmd_prepare, "load-catalog": cmd_load_catalog,
                    "pipeline": cmd_pipeline, "status": cmd_status}
        return handlers[args.command](args, console)
    except (PipelineError, RegistryError, DataError, ValueError) as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
