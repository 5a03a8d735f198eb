"""`/admin/`: list, add, edit and delete models through server-rendered forms."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from services.common.admin_auth import AdminSession, csrf_matches
from services.common.errors import ServiceError
from services.registry import crud, service
from services.registry.deps import (
    AdminPageDep,
    ModelId,
    PersonalizeDep,
    RecipesDep,
    SessionDep,
)
from services.registry.models import Model, ModelCreate, ModelType, ModelUpdate
from services.registry.pages import DONE_MESSAGES, forbidden, redirect, render

router = APIRouter(prefix="/admin", tags=["admin"], include_in_schema=False)

FIELDS = ("name", "campaign_arn", "type", "sort_order")
# A signed whole number in ASCII digits; the model's bounds check its size.
SORT_ORDER_TEXT = re.compile(r"[+-]?[0-9]{1,12}")
TYPE_LABELS = {
    ModelType.recommendations: "Recommendations",
    ModelType.ranking: "List re-ranking",
    ModelType.similar_items: "Similar items",
}


def _parse(form: FormData) -> ModelCreate | dict[str, str]:
    """Form strings → the API's model, or a {field: message} dict of what is wrong."""
    values: dict[str, Any] = {f: str(form.get(f, "")) for f in ("name", "campaign_arn", "type")}
    errors: dict[str, str] = {}
    raw_order = str(form.get("sort_order", "")).strip()
    # ASCII digits only: int() also takes '١' (Arabic-Indic one) and other Unicode digits.
    if SORT_ORDER_TEXT.fullmatch(raw_order):
        values["sort_order"] = int(raw_order)
    elif not raw_order:
        values["sort_order"] = 0
    else:
        errors["sort_order"] = f"must be a whole number (got '{raw_order[:20]}')"
    try:
        parsed = ModelCreate.model_validate(values)
    except ValidationError as exc:
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "form"
            errors.setdefault(field, str(err["msg"]).removeprefix("Value error, "))
        return errors
    return errors or parsed


def _form_page(
    request: Request,
    session: AdminSession,
    *,
    model: Model | None,
    form: dict[str, str],
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "form.html",
        session=session,
        status_code=status_code,
        model=model,
        form=form,
        errors=errors or {},
        error=error,
        types=TYPE_LABELS,
    )


def _values_of(model: Model) -> dict[str, str]:
    return {f: str(getattr(model, f)) for f in FIELDS}


async def _model_or_none(session: SessionDep, model_id: int) -> Model | None:
    return await crud.get_model(session=session, model_id=model_id)


def _not_found(request: Request, session: AdminSession, model_id: int) -> Response:
    return render(
        request,
        "error.html",
        session=session,
        status_code=404,
        message=f"Model {model_id} does not exist (it may have been deleted).",
    )


async def _save(
    request: Request,
    session: AdminSession,
    db: SessionDep,
    personalize: PersonalizeDep,
    recipes: RecipesDep,
    model: Model | None,
) -> Response:
    form = await request.form()
    if not csrf_matches(session, form.get("csrf_token")):
        return forbidden(request)
    entered = {f: str(form.get(f, "")) for f in FIELDS}
    parsed = _parse(form)
    if isinstance(parsed, dict):
        return _form_page(
            request, session, model=model, form=entered, errors=parsed, status_code=422
        )
    try:
        if model is None:
            await service.register(
                session=db, personalize=personalize, recipes=recipes, data=parsed
            )
        else:
            update = ModelUpdate.model_validate(parsed.model_dump())
            await service.change(
                session=db, personalize=personalize, recipes=recipes, model=model, data=update
            )
    except ServiceError as exc:
        field = getattr(exc, "field", None)
        return _form_page(
            request,
            session,
            model=model,
            form=entered,
            errors={field: exc.message} if field else None,
            error=None if field else exc.message,
            status_code=exc.status_code,
        )
    return redirect(request, f"/?done={'added' if model is None else 'updated'}")


@router.get("", summary="Admin home", operation_id="admin-root")
async def admin_root(request: Request) -> Response:
    """`/admin` → `/admin/`, keeping any path prefix (the default redirect would drop it)."""
    return redirect(request, "/")


@router.get("/", summary="Model list", operation_id="admin-list")
async def list_page(
    request: Request, session: AdminPageDep, db: SessionDep, recipes: RecipesDep
) -> Response:
    """Every registered model, with links to edit and delete."""
    models = await service.public_list(session=db, recipes=recipes)
    done = DONE_MESSAGES.get(request.query_params.get("done", ""))
    return render(
        request, "list.html", session=session, models=models, done=done, types=TYPE_LABELS
    )


@router.get("/models/new", summary="Add-model form", operation_id="admin-new-form")
async def new_page(request: Request, session: AdminPageDep) -> Response:
    """An empty form for a new model."""
    return _form_page(
        request,
        session,
        model=None,
        form={"type": ModelType.recommendations.value, "sort_order": "0"},
    )


@router.post("/models/new", summary="Add a model", operation_id="admin-new")
async def new_submit(
    request: Request,
    session: AdminPageDep,
    db: SessionDep,
    personalize: PersonalizeDep,
    recipes: RecipesDep,
) -> Response:
    """Check the campaign, save, and go back to the list; or show what is wrong."""
    return await _save(request, session, db, personalize, recipes, None)


@router.get("/models/{model_id}/edit", summary="Edit form", operation_id="admin-edit-form")
async def edit_page(
    request: Request, model_id: ModelId, session: AdminPageDep, db: SessionDep
) -> Response:
    """The form, filled with the model's values."""
    model = await _model_or_none(db, model_id)
    if model is None:
        return _not_found(request, session, model_id)
    return _form_page(request, session, model=model, form=_values_of(model))


@router.post("/models/{model_id}/edit", summary="Save a model", operation_id="admin-edit")
async def edit_submit(
    request: Request,
    model_id: ModelId,
    session: AdminPageDep,
    db: SessionDep,
    personalize: PersonalizeDep,
    recipes: RecipesDep,
) -> Response:
    """Save changes (a changed campaign or type is checked again)."""
    model = await _model_or_none(db, model_id)
    if model is None:
        return _not_found(request, session, model_id)
    return await _save(request, session, db, personalize, recipes, model)


@router.get(
    "/models/{model_id}/delete", summary="Confirm deletion", operation_id="admin-delete-form"
)
async def delete_page(
    request: Request, model_id: ModelId, session: AdminPageDep, db: SessionDep
) -> Response:
    """Ask before deleting."""
    model = await _model_or_none(db, model_id)
    if model is None:
        return _not_found(request, session, model_id)
    return render(request, "delete.html", session=session, model=model)


@router.post("/models/{model_id}/delete", summary="Delete a model", operation_id="admin-delete")
async def delete_submit(
    request: Request, model_id: ModelId, session: AdminPageDep, db: SessionDep
) -> Response:
    """Delete and go back to the list."""
    form = await request.form()
    if not csrf_matches(session, form.get("csrf_token")):
        return forbidden(request)
    model = await _model_or_none(db, model_id)
    if model is None:
        return _not_found(request, session, model_id)
    await crud.delete_model(session=db, model=model)
    return redirect(request, "/?done=deleted")
