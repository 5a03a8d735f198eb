"""The console's forms. Each calls the API operation that does the work (same checks,
same messages); an AWS-style error is shown on the form it came from."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.engine.arns import name_of
from services.engine.console.deps import CheckedForm
from services.engine.console.engine_calls import call, context, delete
from services.engine.console.rendering import redirect, render, safe_next
from services.engine.console.routes.pages import (
    campaign_response,
    group_response,
    solution_response,
)
from services.engine.wire.errors import PersonalizeError

router = APIRouter(tags=["console"])


def _text(form: Any, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def parse_hyperparameters(text: str) -> dict[str, str]:
    """A JSON object or `key=value` lines, as the API's string-to-string map."""
    text = text.strip()
    if not text:
        return {}
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"Hyperparameters are not valid JSON: {exc.msg}.") from None
        if not isinstance(data, dict):
            raise ValueError("Hyperparameters must be a JSON object.")
        return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}
    out = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ValueError(
                f"Write hyperparameters as key=value, one per line (got {line.strip()!r})."
            )
        out[key.strip()] = value.strip()
    return out


@router.post(
    "/groups/{name}/solutions",
    summary="Create a solution",
    operation_id="console-create-solution",
    response_model=None,
)
async def create_solution(request: Request, name: str, form: CheckedForm) -> Response:
    """CreateSolution with a recipe from the list and optional hyperparameters."""
    values = {k: _text(form, k) for k in ("solution_name", "recipe_arn", "hyperparameters")}
    body: dict[str, Any] = {
        "name": values["solution_name"],
        "datasetGroupArn": context(request).arns.dataset_group(name),
        "recipeArn": values["recipe_arn"] or None,
        "performHPO": form.get("perform_hpo") == "on",
    }
    try:
        hyperparameters = parse_hyperparameters(values["hyperparameters"])
        if hyperparameters:
            body["solutionConfig"] = {"algorithmHyperParameters": hyperparameters}
        await call(request, "CreateSolution", {k: v for k, v in body.items() if v is not None})
    except (PersonalizeError, ValueError) as exc:
        message = exc.message if isinstance(exc, PersonalizeError) else str(exc)
        return await group_response(
            request, name, errors={"solution": message}, values=values, status_code=400
        )
    return redirect(request, f"/solutions/{values['solution_name']}")


@router.post(
    "/groups/{name}/filters",
    summary="Create a filter",
    operation_id="console-create-filter",
    response_model=None,
)
async def create_filter(request: Request, name: str, form: CheckedForm) -> Response:
    """CreateFilter; the API checks the expression and its message shows on the form."""
    values = {k: _text(form, k) for k in ("filter_name", "expression")}
    try:
        await call(
            request,
            "CreateFilter",
            {
                "name": values["filter_name"],
                "datasetGroupArn": context(request).arns.dataset_group(name),
                "filterExpression": values["expression"],
            },
        )
    except PersonalizeError as exc:
        return await group_response(
            request, name, errors={"filter": exc.message}, values=values, status_code=400
        )
    return redirect(request, f"/groups/{name}#filters")


@router.post(
    "/solutions/{name}/versions",
    summary="Create a solution version",
    operation_id="console-create-version",
    response_model=None,
)
async def create_version(request: Request, name: str, form: CheckedForm) -> Response:
    """CreateSolutionVersion (training starts; the page follows its status)."""
    body: dict[str, Any] = {"solutionArn": context(request).arns.solution(name)}
    mode = _text(form, "training_mode")
    if mode:
        body["trainingMode"] = mode
    try:
        await call(request, "CreateSolutionVersion", body)
    except PersonalizeError as exc:
        return await solution_response(
            request, name, errors={"version": exc.message}, status_code=400
        )
    return redirect(request, f"/solutions/{name}")


@router.post(
    "/solutions/{name}/campaigns",
    summary="Create a campaign",
    operation_id="console-create-campaign",
    response_model=None,
)
async def create_campaign(request: Request, name: str, form: CheckedForm) -> Response:
    """CreateCampaign on a chosen solution version."""
    # No minProvisionedTPS: the engine provisions nothing and accepts only 1 (the default).
    values = {k: _text(form, k) for k in ("campaign_name", "solution_version_arn")}
    try:
        await call(
            request,
            "CreateCampaign",
            {
                "name": values["campaign_name"],
                "solutionVersionArn": values["solution_version_arn"],
            },
        )
    except PersonalizeError as exc:
        return await solution_response(
            request, name, errors={"campaign": exc.message}, values=values, status_code=400
        )
    return redirect(request, f"/campaigns/{values['campaign_name']}")


@router.post(
    "/campaigns/{name}/update",
    summary="Update a campaign",
    operation_id="console-update-campaign",
    response_model=None,
)
async def update_campaign(request: Request, name: str, form: CheckedForm) -> Response:
    """UpdateCampaign: another solution version (or the same one, redeployed)."""
    values = {k: _text(form, k) for k in ("solution_version_arn",)}
    body: dict[str, Any] = {"campaignArn": context(request).arns.campaign(name)}
    if values["solution_version_arn"]:
        body["solutionVersionArn"] = values["solution_version_arn"]
    try:
        await call(request, "UpdateCampaign", body)
    except PersonalizeError as exc:
        return await campaign_response(
            request, name, errors={"update": exc.message}, values=values, status_code=400
        )
    return redirect(request, f"/campaigns/{name}")


@router.post(
    "/delete", summary="Delete a resource", operation_id="console-delete", response_model=None
)
async def delete_resource(request: Request, form: CheckedForm) -> Response:
    """Delete whatever the API lets you delete; its refusal is shown as it words it."""
    arn = _text(form, "arn")
    back = safe_next(request, form.get("next"))
    try:
        await delete(request, arn)
    except PersonalizeError as exc:
        return render(
            request,
            "error.html",
            {"title": f"Cannot delete {name_of(arn)}", "message": exc.message, "back": back},
            status_code=400,
        )
    response = redirect(request, "")
    response.headers["location"] = back
    return response
