"""run_pipeline against the real services (the session's lab_stack): what it made, and
that a second run reuses all of it. Also the s3:// path through moto."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiobotocore.session import get_session

from services.cli.main import main
from services.cli.personalize import RECIPE_ARN_PREFIX, PipelineError
from services.cli.pipeline import (
    ALL_RECIPES,
    EXCLUDE_WATCHED_EXPRESSION,
    SIMILAR_ITEMS_SOLUTION_CONFIG,
    LabNames,
    PipelineConfig,
    run_pipeline,
)
from services.cli.prepare import CSV_NAME
from services.cli.registry import SIMILAR_ITEMS_RECIPE
from services.common.aws import open_clients
from tests.utils.stack import Stack

EXPECTED_MODELS = {
    "Personal Recommendations": ("recommendations", 1, "aws-user-personalization"),
    "HRNN Recommendations": ("recommendations", 2, "aws-hrnn"),
    "Popular Movies": ("recommendations", 3, "aws-popularity-count"),
    "Personal Ranking": ("ranking", 1, "aws-personalized-ranking"),
    "Similar Items": ("similar-items", 1, SIMILAR_ITEMS_RECIPE),
}


@pytest.fixture
async def personalize(lab_stack: Stack) -> AsyncIterator[Any]:
    async with AsyncExitStack() as stack:
        aws = lab_stack.personalize_aws(max_attempts=1)
        yield (await open_clients(stack, aws, "personalize"))["personalize"]


def _config(lab_stack: Stack, work_dir: Path, **kwargs: Any) -> PipelineConfig:
    return PipelineConfig(
        movielens_dir=kwargs.pop("data"),
        work_dir=work_dir,
        personalize_endpoint_url=lab_stack.engine_url,
        engine_access_key_id=lab_stack.secrets.engine_access_key_id,
        engine_secret_access_key=lab_stack.secrets.engine_secret_access_key,
        poll_interval=0.2,
        timeout=300,
        **kwargs,
    )


async def test_every_recipe_has_an_active_campaign(lab_stack: Stack, personalize: Any) -> None:
    assert set(lab_stack.campaign_arns) == set(ALL_RECIPES)
    for recipe, arn in lab_stack.campaign_arns.items():
        campaign = (await personalize.describe_campaign(campaignArn=arn))["campaign"]
        assert campaign["status"] == "ACTIVE"
        version = (
            await personalize.describe_solution_version(
                solutionVersionArn=campaign["solutionVersionArn"]
            )
        )["solutionVersion"]
        assert version["status"] == "ACTIVE"
        assert version["recipeArn"] == f"arn:aws:personalize:::recipe/{recipe}"


async def test_similar_items_solution_has_the_chosen_configuration(
    lab_stack: Stack, personalize: Any
) -> None:
    """The app's similar-items model is trained with the values bench.related_items chose;
    aws-sims keeps Personalize's defaults (no configuration)."""
    solutions = {}
    for recipe in (SIMILAR_ITEMS_RECIPE, "aws-sims"):
        version_arn = lab_stack.result.solution_version_arns[recipe]
        solutions[recipe] = (
            await personalize.describe_solution(solutionArn=version_arn.rsplit("/", 1)[0])
        )["solution"]
    configured = solutions[SIMILAR_ITEMS_RECIPE]
    assert configured["recipeArn"] == RECIPE_ARN_PREFIX + SIMILAR_ITEMS_RECIPE
    assert configured["solutionConfig"]["algorithmHyperParameters"] == (
        SIMILAR_ITEMS_SOLUTION_CONFIG["algorithmHyperParameters"]
    )
    assert not (solutions["aws-sims"].get("solutionConfig") or {}).get("algorithmHyperParameters")


async def test_a_solution_with_other_hyperparameters_is_not_reused(
    lab_stack: Stack, personalize: Any, movielens_dir: Path, tmp_path: Path
) -> None:
    """Reusing it would serve values that were not chosen: the run stops and says why."""
    names = LabNames(
        solutions={SIMILAR_ITEMS_RECIPE: "stale-similar-items"},
        campaigns={SIMILAR_ITEMS_RECIPE: "stale-similar-items-campaign"},
    )
    await personalize.create_solution(
        name="stale-similar-items", datasetGroupArn=lab_stack.result.dataset_group_arn,
        recipeArn=RECIPE_ARN_PREFIX + SIMILAR_ITEMS_RECIPE,
        solutionConfig={"algorithmHyperParameters": {"cooccurrence_window": "0"}},
    )
    with pytest.raises(PipelineError, match="created with algorithmHyperParameters"):
        await run_pipeline(
            _config(lab_stack, tmp_path, data=movielens_dir, recipes=(SIMILAR_ITEMS_RECIPE,),
                    names=names)
        )


async def test_the_import_holds_the_labs_rows(lab_stack: Stack, personalize: Any) -> None:
    assert lab_stack.result.data.rows == 55_375
    job = (await personalize.describe_dataset_import_job(
        datasetImportJobArn=lab_stack.result.import_job_arn
    ))["datasetImportJob"]
    assert job["status"] == "ACTIVE"
    assert job["dataSource"]["dataLocation"].startswith("file://")
    assert job["dataSource"]["dataLocation"].endswith(CSV_NAME)


async def test_already_watched_filter_is_active(lab_stack: Stack, personalize: Any) -> None:
    found = (await personalize.describe_filter(filterArn=lab_stack.filter_arn))["filter"]
    assert found["status"] == "ACTIVE"
    assert found["filterExpression"] == EXCLUDE_WATCHED_EXPRESSION
    assert found["datasetGroupArn"] == lab_stack.result.dataset_group_arn


async def test_models_are_registered(lab_stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=lab_stack.registry_url) as client:
        models = (await client.get("/models")).json()["data"]
    by_name = {m["name"]: m for m in models}
    assert set(EXPECTED_MODELS) <= set(by_name)
    for name, (kind, sort_order, recipe) in EXPECTED_MODELS.items():
        model = by_name[name]
        assert (model["type"], model["sort_order"]) == (kind, sort_order)
        assert model["campaign_arn"] == lab_stack.campaign_arns[recipe]
        assert model["id"] == lab_stack.model_ids[name]
        assert model["recipe"] == recipe


async def test_second_run_reuses_everything(
    lab_stack: Stack, personalize: Any, movielens_dir: Path, tmp_path: Path
) -> None:
    versions_before = {
        recipe: await _version_count(personalize, arn)
        for recipe, arn in lab_stack.result.solution_version_arns.items()
    }
    again = await run_pipeline(
        _config(lab_stack, tmp_path, data=movielens_dir, registry_url=lab_stack.registry_url,
                api_token=lab_stack.api_token)
    )
    assert not again.trained
    assert again.campaign_arns == lab_stack.campaign_arns
    assert again.model_ids == lab_stack.model_ids
    assert again.filter_arn == lab_stack.filter_arn
    assert again.import_job_arn == lab_stack.result.import_job_arn
    for step in ("dataset-group", "dataset", "import", "filter", "schema"):
        assert step in again.reused
    for recipe, arn in lab_stack.result.solution_version_arns.items():
        assert await _version_count(personalize, arn) == versions_before[recipe]


async def _version_count(personalize: Any, version_arn: str) -> int:
    solution_arn = version_arn.rsplit("/", 1)[0]
    listed = await personalize.list_solution_versions(solutionArn=solution_arn)
    return len(listed["solutionVersions"])


async def test_registry_entries_are_put_back(lab_stack: Stack, movielens_dir: Path,
                                             tmp_path: Path) -> None:
    model_id = lab_stack.model_ids["Personal Ranking"]
    headers = {"Authorization": f"Bearer {lab_stack.api_token}"}
    async with httpx.AsyncClient(base_url=lab_stack.registry_url, headers=headers) as client:
        patched = await client.patch(f"/models/{model_id}", json={"sort_order": 7})
        assert patched.status_code == 200, patched.text
        await run_pipeline(
            _config(lab_stack, tmp_path, data=movielens_dir, registry_url=lab_stack.registry_url,
                    api_token=lab_stack.api_token)
        )
        assert (await client.get(f"/models/{model_id}")).json()["sort_order"] == 1


async def test_wrong_api_token_is_a_clear_error(lab_stack: Stack, movielens_dir: Path,
                                               tmp_path: Path) -> None:
    """A write the registry refuses stops the run with the registry's answer."""
    from services.cli.registry import ModelSpec, RegistryError

    extra = (ModelSpec("Token Check", "aws-sims", "similar-items", 9),)
    with pytest.raises(RegistryError, match="create 'Token Check': HTTP 401"):
        await run_pipeline(
            _config(lab_stack, tmp_path, data=movielens_dir, registry_url=lab_stack.registry_url,
                    api_token="not-the-token", models=extra)
        )


async def test_s3_location_uploads_then_imports(
    lab_stack: Stack, personalize: Any, movielens_dir: Path, tmp_path: Path, moto_server: str
) -> None:
    """The AWS path: the CSV goes to s3:// first (moto here), the import reads it there."""
    session = get_session()
    s3_kwargs: dict[str, Any] = {"endpoint_url": moto_server, "region_name": "us-east-1",
                                 "aws_access_key_id": "t", "aws_secret_access_key": "t"}
    async with session.create_client("s3", **s3_kwargs) as s3:
        await s3.create_bucket(Bucket="videorecs-personalize-lab")
    names = LabNames(
        dataset_group="s3-lab-group", dataset="s3-lab-dataset", import_job="s3-lab-import",
        filter="s3-lab-filter",
        solutions={"aws-popularity-count": "s3-lab-popularity"},
        campaigns={"aws-popularity-count": "s3-lab-popularity-campaign"},
    )
    result = await run_pipeline(
        _config(lab_stack, tmp_path, data=movielens_dir, recipes=("aws-popularity-count",),
                data_location="s3://videorecs-personalize-lab/lab/DEMO-movie-lens-100k.csv",
                s3_endpoint_url=moto_server, names=names)
    )
    async with session.create_client("s3", **s3_kwargs) as s3:
        head = await s3.head_object(Bucket="videorecs-personalize-lab",
                                    Key="lab/DEMO-movie-lens-100k.csv")
    assert head["ContentLength"] == (tmp_path / CSV_NAME).stat().st_size
    job = (await personalize.describe_dataset_import_job(
        datasetImportJobArn=result.import_job_arn
    ))["datasetImportJob"]
    assert job["dataSource"]["dataLocation"].startswith("s3://videorecs-personalize-lab/")
    campaign = (await personalize.describe_campaign(
        campaignArn=result.campaign_arns["aws-popularity-count"]
    ))["campaign"]
    assert campaign["status"] == "ACTIVE"
    assert result.model_ids == {}


def test_status_lists_campaigns_and_models(
    lab_stack: Stack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`videorecs status` signs with the pair from the environment (else secrets.env)."""
    for name, value in lab_stack.secrets.engine_env().items():
        monkeypatch.setenv(name, value)
    code = main(["status", "--endpoint-url", lab_stack.engine_url,
                 "--registry-url", lab_stack.registry_url])
    assert code == 0
    out = capsys.readouterr().err
    assert "similar-items-campaign" in out and "rankings-campaign" in out
    assert "Personal Recommendations" in out


def test_status_without_the_engine_pair_says_so(
    lab_stack: Stack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.delenv("ENGINE_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("ENGINE_SECRET_ACCESS_KEY", raising=False)
    code = main(["status", "--endpoint-url", lab_stack.engine_url,
                 "--state-dir", str(tmp_path)])
    assert code == 1
    assert "ENGINE_ACCESS_KEY_ID and ENGINE_SECRET_ACCESS_KEY are needed" in capsys.readouterr().err
