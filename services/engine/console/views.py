"""What each console page shows, gathered through the API's own operations."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from services.engine.arns import name_of
from services.engine.console import queries
from services.engine.console.engine_calls import call, context, list_all
from services.engine.wire.errors import PersonalizeError

# The eight metrics GetSolutionMetrics answers, in the order the console shows them.
METRICS = (
    "coverage",
    "mean_reciprocal_rank_at_25",
    "normalized_discounted_cumulative_gain_at_5",
    "normalized_discounted_cumulative_gain_at_10",
    "normalized_discounted_cumulative_gain_at_25",
    "precision_at_5",
    "precision_at_10",
    "precision_at_25",
)
METRIC_LABELS = {
    "coverage": "Coverage",
    "mean_reciprocal_rank_at_25": "MRR@25",
    "normalized_discounted_cumulative_gain_at_5": "NDCG@5",
    "normalized_discounted_cumulative_gain_at_10": "NDCG@10",
    "normalized_discounted_cumulative_gain_at_25": "NDCG@25",
    "precision_at_5": "P@5",
    "precision_at_10": "P@10",
    "precision_at_25": "P@25",
}


async def group_arn(request: Request, name: str) -> str:
    return context(request).arns.dataset_group(name)


async def schema_fields(request: Request, schema_arn: str) -> list[dict[str, Any]]:
    definition = (await call(request, "DescribeSchema", {"schemaArn": schema_arn}))["schema"]
    fields: list[dict[str, Any]] = []
    for field in json.loads(definition["schema"]).get("fields", []):
        kind = field.get("type")
        if isinstance(kind, list):
            kind = " | ".join(str(k) for k in kind)
        fields.append(
            {"name": field.get("name"), "type": kind, "categorical": bool(field.get("categorical"))}
        )
    return fields


async def datasets(request: Request, arn: str) -> list[dict[str, Any]]:
    out = []
    for summary in await list_all(request, "ListDatasets", "datasets", {"datasetGroupArn": arn}):
        dataset = (await call(request, "DescribeDataset", {"datasetArn": summary["datasetArn"]}))[
            "dataset"
        ]
        jobs = await list_all(
            request,
            "ListDatasetImportJobs",
            "datasetImportJobs",
            {"datasetArn": dataset["datasetArn"]},
        )
        for job in jobs:
            described = await call(
                request,
                "DescribeDatasetImportJob",
                {"datasetImportJobArn": job["datasetImportJobArn"]},
            )
            job["dataLocation"] = described["datasetImportJob"]["dataSource"]["dataLocation"]
        records = await queries.record_count(
            sessionmaker=context(request).sessionmaker,
            artifacts=context(request).artifacts,
            group_arn=arn,
            dataset_type=dataset["datasetType"],
        )
        # The engine keeps no per-job count: the latest ACTIVE FULL import holds what the
        # dataset holds now; older jobs were replaced by it.
        latest = next((j for j in reversed(jobs) if j["status"] == "ACTIVE"), None)
        if latest is not None and latest.get("importMode", "FULL") == "FULL":
            latest["records"] = records
        out.append(
            {
                **dataset,
                "fields": await schema_fields(request, dataset["schemaArn"]),
                "records": records,
                "jobs": jobs,
            }
        )
    return out


async def version_detail(request: Request, version_arn: str) -> dict[str, Any]:
    """DescribeSolutionVersion plus GetSolutionMetrics once the version is ACTIVE."""
    version: dict[str, Any] = (
        await call(request, "DescribeSolutionVersion", {"solutionVersionArn": version_arn})
    )["solutionVersion"]
    version["id"] = name_of(version_arn)
    version["solutionName"] = name_of(version["solutionArn"])
    version["recipe"] = name_of(version.get("recipeArn", ""))
    tuned = (version.get("tunedHPOParams") or {}).get("algorithmHyperParameters") or {}
    version["tuned"] = tuned
    hours = version.get("trainingHours")
    version["trainingSeconds"] = None if hours is None else round(hours * 3600, 1)
    version["metrics"] = {}
    if version["status"] == "ACTIVE":
        try:
            answer = await call(request, "GetSolutionMetrics", {"solutionVersionArn": version_arn})
            version["metrics"] = answer["metrics"]
        except PersonalizeError:  # no metrics recorded for this version
            version["metrics"] = {}
    return version


async def solutions(request: Request, arn: str) -> list[dict[str, Any]]:
    out = []
    for summary in await list_all(request, "ListSolutions", "solutions", {"datasetGroupArn": arn}):
        solution = (
            await call(request, "DescribeSolution", {"solutionArn": summary["solutionArn"]})
        )["solution"]
        solution["recipe"] = name_of(solution.get("recipeArn", ""))
        versions = await list_all(
            request,
            "ListSolutionVersions",
            "solutionVersions",
            {"solutionArn": solution["solutionArn"]},
        )
        solution["versions"] = [
            await version_detail(request, v["solutionVersionArn"]) for v in reversed(versions)
        ]
        out.append(solution)
    return out


async def campaigns_of(request: Request, solution_arns: list[str]) -> list[dict[str, Any]]:
    out = []
    for solution_arn in solution_arns:
        for summary in await list_all(
            request, "ListCampaigns", "campaigns", {"solutionArn": solution_arn}
        ):
            campaign = (
                await call(request, "DescribeCampaign", {"campaignArn": summary["campaignArn"]})
            )["campaign"]
            campaign["solutionName"] = name_of(solution_arn)
            campaign["versionId"] = name_of(campaign["solutionVersionArn"])
            out.append(campaign)
    return out


async def filters(request: Request, arn: str) -> list[dict[str, Any]]:
    out = []
    for summary in await list_all(request, "ListFilters", "Filters", {"datasetGroupArn": arn}):
        out.append(
            (await call(request, "DescribeFilter", {"filterArn": summary["filterArn"]}))["filter"]
        )
    return out


async def event_trackers(request: Request, arn: str) -> list[dict[str, Any]]:
    out = []
    for summary in await list_all(
        request, "ListEventTrackers", "eventTrackers", {"datasetGroupArn": arn}
    ):
        answer = await call(
            request, "DescribeEventTracker", {"eventTrackerArn": summary["eventTrackerArn"]}
        )
        out.append(answer["eventTracker"])
    return out


async def recipes(request: Request) -> list[dict[str, Any]]:
    out = []
    for recipe in await list_all(request, "ListRecipes", "recipes"):
        described = (await call(request, "DescribeRecipe", {"recipeArn": recipe["recipeArn"]}))[
            "recipe"
        ]
        out.append(described)
    return out


async def group_page(request: Request, name: str) -> dict[str, Any]:
    arn = await group_arn(request, name)
    group = (await call(request, "DescribeDatasetGroup", {"datasetGroupArn": arn}))["datasetGroup"]
    found_solutions = await solutions(request, arn)
    return {
        "group": group,
        "datasets": await datasets(request, arn),
        "solutions": found_solutions,
        "campaigns": await campaigns_of(request, [s["solutionArn"] for s in found_solutions]),
        "filters": await filters(request, arn),
        "trackers": await event_trackers(request, arn),
        "recipes": await recipes(request),
    }


async def titles_available(request: Request, arn: str) -> bool:
    """True when the group has an Items dataset whose schema has a TITLE column."""
    for summary in await list_all(request, "ListDatasets", "datasets", {"datasetGroupArn": arn}):
        if summary["datasetType"] != "ITEMS":
            continue
        dataset = (await call(request, "DescribeDataset", {"datasetArn": summary["datasetArn"]}))[
            "dataset"
        ]
        fields = await schema_fields(request, dataset["schemaArn"])
        return any(f["name"] == queries.TITLE_FIELD for f in fields)
    return False


def metric_chart(versions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Bar geometry per metric: each metric's bars scaled to its own largest value."""
    rows = []
    for key in METRICS:
        values = [float(v["metrics"].get(key, 0.0)) for v in versions]
        top = max(values, default=0.0) or 1.0
        rows.append(
            {
                "key": key,
                "label": METRIC_LABELS[key],
                "bars": [
                    {"value": value, "width": round(value / top * 100, 2), "index": i}
                    for i, value in enumerate(values)
                ],
            }
        )
    return rows
