"""The lab's pipeline as a library: data, Personalize resources, campaigns, registry.

`run_pipeline(config)` does, in order, what the lab notebook does (workshop-app.md
section 6), through the same public APIs a user would call:

1. write the training CSV (ratings > 3.6, timestamps shifted) and, for an s3://
   location, upload it;
2. schema, dataset group, INTERACTIONS dataset and import job;
3. the already-watched filter;
4. one solution, solution version and campaign per recipe, trained concurrently;
5. one registry model per campaign (when a registry URL is given).

Every step looks its resource up by name first and reuses it, so a second run only
lists and describes. Test fixtures and `videorecs up` call this function directly.
"""

from __future__ import annotations

import asyncio
import os
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from aiobotocore.session import get_session

from services.cli import personalize as pz
from services.cli.prepare import CSV_NAME, PreparedData, prepare_interactions
from services.cli.progress import PipelineProgress
from services.cli.registry import (
    DEFAULT_MODELS,
    SIMILAR_ITEMS_RECIPE,
    ModelSpec,
    register_models,
)
from services.common.aws import AwsSettings, open_clients

ALL_RECIPES = (
    "aws-user-personalization",
    "aws-hrnn",
    "aws-sims",
    "aws-similar-items",
    "aws-personalized-ranking",
    "aws-popularity-count",
)
# The app's similar-items solution (registry.SIMILAR_ITEMS_RECIPE) is trained with the
# values `python -m bench.related_items` chose on a validation split of the training users
# (services/engine/README.md, "Recipes"). They are the bundled engine's knobs: Personalize's
# own aws-similar-items has other hyperparameters, so against AWS the solution keeps AWS's
# defaults.
SIMILAR_ITEMS_SOLUTION_CONFIG: dict[str, dict[str, str]] = {
    "algorithmHyperParameters": {
        "popularity_discount_factor": "0.1",
        "cooccurrence_window": "10",
    },
}
SOLUTION_CONFIGS: dict[str, dict[str, dict[str, str]]] = {
    SIMILAR_ITEMS_RECIPE: SIMILAR_ITEMS_SOLUTION_CONFIG,
}
EXCLUDE_WATCHED_EXPRESSION = 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")'


@dataclass(frozen=True)
class LabNames:
    """Resource names; the lab's where it names them (workshop-app.md section 6)."""

    schema: str = "personalize-lab-recs-schema"
    dataset_group: str = "personalize-recs-dataset-group"
    dataset: str = "personalize-recs-dataset"
    import_job: str = "personalize-recs-dataset-import-job"
    filter: str = "personalize-lab-exclude-watched"
    solutions: dict[str, str] = field(
        default_factory=lambda: {
            "aws-user-personalization": "personalize-lab-user-personalization-solution",
            "aws-hrnn": "personalize-lab-recs-solution",
            "aws-sims": "personalize-lab-sims-solution",
            "aws-similar-items": "personalize-lab-similar-items-solution",
            "aws-personalized-ranking": "personalize-lab-ranking-solution",
            "aws-popularity-count": "personalize-lab-popularity-solution",
        }
    )
    campaigns: dict[str, str] = field(
        default_factory=lambda: {
            "aws-user-personalization": "personalize-lab-user-personalization-campaign",
            "aws-hrnn": "personalize-lab-recs-campaign",
            "aws-sims": "similar-items-campaign",
            "aws-similar-items": "related-items-campaign",
            "aws-personalized-ranking": "rankings-campaign",
            "aws-popularity-count": "popularity-campaign",
        }
    )


@dataclass
class PipelineConfig:
    """Where the data is and which endpoints to use; None endpoints mean AWS."""

    movielens_dir: Path
    # Where the training CSV is written before import (or upload).
    work_dir: Path
    personalize_endpoint_url: str | None = None
    region: str = "us-east-1"
    # The engine's key pair (with personalize_endpoint_url; AWS takes the credential chain).
    engine_access_key_id: str | None = None
    engine_secret_access_key: str | None = field(default=None, repr=False)
    # None: import from file://<work_dir>/<CSV_NAME> (the local engine reads it).
    # s3://bucket/key: upload the CSV there first, then import from it (AWS or moto/MinIO).
    data_location: str | None = None
    s3_endpoint_url: str | None = None
    # IAM role Personalize assumes to read S3 (AWS only; the local engine ignores it).
    role_arn: str | None = None
    recipes: tuple[str, ...] = ALL_RECIPES
    registry_url: str | None = None
    api_token: str | None = None
    models: tuple[ModelSpec, ...] = DEFAULT_MODELS
    names: LabNames = field(default_factory=LabNames)
    poll_interval: float = 0.5
    timeout: float = 3600.0

    def __post_init__(self) -> None:
        unknown = [r for r in self.recipes if r not in ALL_RECIPES]
        if unknown:
            raise ValueError(f"unknown recipe(s) {unknown}; choose from {list(ALL_RECIPES)}")
        if self.data_location and not self.data_location.startswith(("s3://", "file://")):
            raise ValueError("data_location must be s3://bucket/key or file:///path")
        if self.registry_url and not self.api_token:
            raise ValueError("api_token is required to register models in the registry")


@dataclass
class PipelineResult:
    """ARNs by recipe, registry ids by model name, and which steps reused existing work."""

    data: PreparedData
    data_location: str
    dataset_group_arn: str
    dataset_arn: str
    import_job_arn: str
    filter_arn: str
    solution_version_arns: dict[str, str]
    campaign_arns: dict[str, str]
    model_ids: dict[str, int]
    reused: list[str]

    @property
    def trained(self) -> bool:
        """True when this run trained at least one solution version."""
        return any(
            f"solution-version:{recipe}" not in self.reused for recipe in self.campaign_arns
        )


class _NullProgress:
    def start(self, step: str, description: str) -> None:
        pass

    def finish(self, step: str, detail: str) -> None:
        pass


async def upload_to_s3(path: Path, location: str, *, region: str, endpoint_url: str | None) -> None:
    """Put the CSV at s3://bucket/key (the bucket must exist; the lab creates it first)."""
    parsed = urlparse(location)
    bucket, key = parsed.netloc, parsed.path.lstrip("/")
    if not bucket or not key:
        raise ValueError(f"{location} is not s3://bucket/key")
    kwargs: dict[str, Any] = {"region_name": region}
    if endpoint_url:
        kwargs["endpoint_url"] = endpoint_url
        if not os.environ.get("AWS_ACCESS_KEY_ID"):
            # moto accepts any keys; MinIO needs the real ones from the environment.
            kwargs.update(aws_access_key_id="local", aws_secret_access_key="local")
    async with get_session().create_client("s3", **kwargs) as s3:
        await s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes(), ContentType="text/csv")


async def _step(
    progress: PipelineProgress, step: str, description: str, reused: list[str], work: Any
) -> Any:
    progress.start(step, description)
    result = await work
    arn, was_reused = result
    if was_reused:
        reused.append(step)
    progress.finish(step, "reused" if was_reused else "created")
    return arn


async def _train_recipe(
    client: Any,
    *,
    recipe: str,
    config: PipelineConfig,
    dataset_group_arn: str,
    polling: pz.Polling,
    progress: PipelineProgress,
    reused: list[str],
) -> tuple[str, str]:
    names = config.names
    step = f"solution-version:{recipe}"
    progress.start(step, f"Training {recipe}")
    # Tuned values are for the bundled engine (see SIMILAR_ITEMS_SOLUTION_CONFIG); AWS keeps
    # its own defaults.
    solution_config = SOLUTION_CONFIGS.get(recipe) if config.personalize_endpoint_url else None
    solution_arn = await pz.ensure_solution(
        client, name=names.solutions[recipe], dataset_group_arn=dataset_group_arn,
        recipe=recipe, polling=polling, solution_config=solution_config,
    )
    version_arn, was_reused = await pz.ensure_solution_version(
        client, solution_arn=solution_arn, polling=polling
    )
    if was_reused:
        reused.append(step)
    progress.finish(step, "reused" if was_reused else "trained")
    campaign_arn = await _step(
        progress, f"campaign:{recipe}", f"Deploying campaign {names.campaigns[recipe]}", reused,
        pz.ensure_campaign(
            client, name=names.campaigns[recipe], solution_arn=solution_arn,
            solution_version_arn=version_arn, polling=polling,
        ),
    )
    return version_arn, campaign_arn


async def run_pipeline(
    config: PipelineConfig, *, progress: PipelineProgress | None = None
) -> PipelineResult:
    """Run every step of the lab, reusing what already exists; see the module docstring."""
    report: PipelineProgress = progress or _NullProgress()
    reused: list[str] = []
    polling = pz.Polling(interval=config.poll_interval, timeout=config.timeout)

    report.start("prepare", "Preparing the training data (ratings > 3.6)")
    csv_path = Path(config.work_dir).resolve() / CSV_NAME
    data = await asyncio.to_thread(prepare_interactions, config.movielens_dir, csv_path)
    report.finish("prepare", f"{data.rows:,} rows, {data.users} users, {data.items} items")

    location = config.data_location or csv_path.as_uri()
    if location.startswith("s3://"):
        report.start("upload", f"Uploading to {location}")
        await upload_to_s3(
            csv_path, location, region=config.region, endpoint_url=config.s3_endpoint_url
        )
        report.finish("upload", "uploaded")

    aws = AwsSettings(
        endpoint_url=config.personalize_endpoint_url, region=config.region,
        access_key_id=config.engine_access_key_id,
        secret_access_key=config.engine_secret_access_key,
        connect_timeout=5.0, read_timeout=60.0, max_attempts=3,
    )
    names = config.names
    async with AsyncExitStack() as stack:
        client = (await open_clients(stack, aws, "personalize"))["personalize"]
        schema_arn = await _step(
            report, "schema", f"Schema {names.schema}", reused,
            pz.ensure_schema(client, name=names.schema),
        )
        group_arn = await _step(
            report, "dataset-group", f"Dataset group {names.dataset_group}", reused,
            pz.ensure_dataset_group(client, name=names.dataset_group, polling=polling),
        )
        dataset_arn = await _step(
            report, "dataset", f"Dataset {names.dataset}", reused,
            pz.ensure_dataset(
                client, name=names.dataset, dataset_group_arn=group_arn,
                schema_arn=schema_arn, polling=polling,
            ),
        )
        import_arn = await _step(
            report, "import", f"Importing {location}", reused,
            pz.ensure_import_job(
                client, name=names.import_job, dataset_arn=dataset_arn, data_location=location,
                role_arn=config.role_arn, polling=polling,
            ),
        )
        filter_task = _step(
            report, "filter", f"Filter {names.filter}", reused,
            pz.ensure_filter(
                client, name=names.filter, dataset_group_arn=group_arn,
                expression=EXCLUDE_WATCHED_EXPRESSION, polling=polling,
            ),
        )
        trainings = [
            _train_recipe(
                client, recipe=recipe, config=config, dataset_group_arn=group_arn,
                polling=polling, progress=report, reused=reused,
            )
            for recipe in config.recipes
        ]
        filter_arn, *trained = await asyncio.gather(filter_task, *trainings)

    version_arns = {r: v for r, (v, _) in zip(config.recipes, trained, strict=True)}
    campaign_arns = {r: c for r, (_, c) in zip(config.recipes, trained, strict=True)}

    model_ids: dict[str, int] = {}
    if config.registry_url and config.api_token:
        specs = [spec for spec in config.models if spec.recipe in campaign_arns]
        report.start("register", f"Registering {len(specs)} models")
        model_ids = await register_models(
            registry_url=config.registry_url, api_token=config.api_token, specs=specs,
            campaign_arns=campaign_arns,
        )
        report.finish("register", ", ".join(f"{n} #{i}" for n, i in model_ids.items()))

    return PipelineResult(
        data=data,
        data_location=location,
        dataset_group_arn=group_arn,
        dataset_arn=dataset_arn,
        import_job_arn=import_arn,
        filter_arn=filter_arn,
        solution_version_arns=version_arns,
        campaign_arns=campaign_arns,
        model_ids=model_ids,
        reused=reused,
    )
