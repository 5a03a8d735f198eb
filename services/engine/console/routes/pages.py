"""The console's pages and the small JSON status endpoint their script polls."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from services.engine.arns import name_of
from services.engine.console import queries, views
from services.engine.console.deps import Admin
from services.engine.console.engine_calls import call, context, describe, list_all, run_runtime
from services.engine.console.rendering import render
from services.engine.wire.errors import PersonalizeError

router = APIRouter(tags=["console"])
MAX_STATUS_ARNS = 100
MAX_COMPARED = 6


@router.get("/", summary="Dataset groups", operation_id="console-home")
async def home(request: Request, _admin: Admin) -> HTMLResponse:
    """Every dataset group."""
    groups = await list_all(request, "ListDatasetGroups", "datasetGroups")
    return render(request, "groups.html", {"groups": groups})


async def group_response(
    request: Request,
    name: str,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    page = await views.group_page(request, name)
    return render(
        request,
        "group.html",
        {**page, "errors": errors or {}, "values": values or {}},
        status_code=status_code,
    )


@router.get("/groups/{name}", summary="A dataset group", operation_id="console-group")
async def group(request: Request, name: str, _admin: Admin) -> HTMLResponse:
    """Datasets, import jobs, solutions, campaigns, filters and event trackers of a group."""
    return await group_response(request, name)


async def solution_response(
    request: Request,
    name: str,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    arn = context(request).arns.solution(name)
    solution = (await call(request, "DescribeSolution", {"solutionArn": arn}))["solution"]
    solution["recipe"] = name_of(solution.get("recipeArn", ""))
    versions = await list_all(
        request, "ListSolutionVersions", "solutionVersions", {"solutionArn": arn}
    )
    details = [
        await views.version_detail(request, v["solutionVersionArn"]) for v in reversed(versions)
    ]
    return render(
        request,
        "solution.html",
        {
            "solution": solution,
            "group_name": name_of(solution["datasetGroupArn"]),
            "versions": details,
            "campaigns": await views.campaigns_of(request, [arn]),
            "metric_keys": views.METRICS,
            "metric_labels": views.METRIC_LABELS,
            "errors": errors or {},
            "values": values or {},
        },
        status_code=status_code,
    )


@router.get("/solutions/{name}", summary="A solution", operation_id="console-solution")
async def solution(request: Request, name: str, _admin: Admin) -> HTMLResponse:
    """A solution: recipe, versions with their metrics, campaigns."""
    return await solution_response(request, name)


async def _try(
    request: Request, campaign: dict[str, Any], recipe_type: str, params: dict[str, str]
) -> dict[str, Any]:
    """Run the try-it query through the runtime endpoint; items get titles when known."""
    body: dict[str, Any] = {"campaignArn": campaign["campaignArn"]}
    # Empty fields are left out, so the API's own "... is required" message answers.
    user_id, item_id = params.get("user_id", "").strip(), params.get("item_id", "").strip()
    num = params.get("num", "").strip() or "10"
    if recipe_type == "PERSONALIZED_RANKING":
        if user_id:
            body["userId"] = user_id
        body["inputList"] = params.get("input_list", "").replace(",", " ").split()
        key, operation = "personalizedRanking", "GetPersonalizedRanking"
    else:
        if recipe_type == "RELATED_ITEMS" and item_id:
            body["itemId"] = item_id
        elif recipe_type != "RELATED_ITEMS" and user_id:
            body["userId"] = user_id
        body["numResults"] = int(num) if num.isdigit() else num
        key, operation = "itemList", "GetRecommendations"
    try:
        items = (await run_runtime(request, operation, body))[key]
    except PersonalizeError as exc:
        return {"error": exc.message, "items": []}
    group_arn = campaign["datasetGroupArn"]
    queried = str(body.get("itemId") or "")
    details: dict[str, dict[str, Any]] = {}
    if await views.titles_available(request, group_arn):
        details = await queries.item_details(
            sessionmaker=context(request).sessionmaker,
            artifacts=context(request).artifacts,
            group_arn=group_arn,
            item_ids=[item["itemId"] for item in items] + ([queried] if queried else []),
        )
    return {
        "error": "",
        "items": [
            {
                **item,
                "title": details.get(item["itemId"], {}).get(queries.TITLE_FIELD),
                "genres": details.get(item["itemId"], {}).get("GENRES"),
            }
            for item in items
        ],
        "queried_title": details.get(queried, {}).get(queries.TITLE_FIELD),
    }


async def campaign_response(
    request: Request,
    name: str,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    arn = context(request).arns.campaign(name)
    campaign = (await call(request, "DescribeCampaign", {"campaignArn": arn}))["campaign"]
    version = await views.version_detail(request, campaign["solutionVersionArn"])
    campaign["datasetGroupArn"] = version["datasetGroupArn"]
    recipe = (await call(request, "DescribeRecipe", {"recipeArn": version["recipeArn"]}))["recipe"]
    siblings = await list_all(
        request, "ListSolutionVersions", "solutionVersions", {"solutionArn": version["solutionArn"]}
    )
    params = {
        k: v
        for k, v in request.query_params.items()
        if k in ("user_id", "item_id", "input_list", "num")
    }
    tried = await _try(request, campaign, recipe["recipeType"], params) if params else None
    return render(
        request,
        "campaign.html",
        {
            "campaign": campaign,
            "version": version,
            "recipe": recipe,
            "group_name": name_of(version["datasetGroupArn"]),
            "active_versions": [v for v in reversed(siblings) if v["status"] == "ACTIVE"],
            "params": params,
            "tried": tried,
            "errors": errors or {},
            "values": values or {},
        },
        status_code=status_code,
    )


@router.get("/campaigns/{name}", summary="A campaign", operation_id="console-campaign")
async def campaign(request: Request, name: str, _admin: Admin) -> HTMLResponse:
    """A campaign, its update form and the try-it panel (query parameters run a query)."""
    return await campaign_response(request, name)


@router.get(
    "/groups/{name}/compare", summary="Compare solution versions", operation_id="console-compare"
)
async def compare(
    request: Request, name: str, _admin: Admin, version: list[str] = Query(default=[])
) -> HTMLResponse:
    """The eight metrics of several solution versions side by side, with a bar chart."""
    chosen = [await views.version_detail(request, arn) for arn in version[:MAX_COMPARED]]
    chosen = [v for v in chosen if v["metrics"]]
    return render(
        request,
        "compare.html",
        {
            "group_name": name,
            "versions": chosen,
            "chart": views.metric_chart(chosen),
            "metric_keys": views.METRICS,
            "metric_labels": views.METRIC_LABELS,
        },
    )


@router.get("/status", summary="Live status", operation_id="console-status")
async def status(
    request: Request, _admin: Admin, arn: list[str] = Query(default=[])
) -> JSONResponse:
    """Status (and campaign update status) of the given resources; gone ones read DELETED."""
    out: dict[str, dict[str, Any]] = {}
    for one in arn[:MAX_STATUS_ARNS]:
        try:
            resource = await describe(request, one)
        except PersonalizeError:
            out[one] = {"status": "DELETED"}
            continue
        update = resource.get("latestCampaignUpdate") or {}
        out[one] = {
            "status": resource.get("status"),
            "failureReason": resource.get("failureReason"),
            "update": update.get("status"),
        }
    return JSONResponse(out, headers={"Cache-Control": "no-store"})
