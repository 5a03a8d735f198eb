"""`/models`: the JSON API over registered models. Reads are public; writes need auth."""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, Request, Response

from services.common.errors import NotFound
from services.registry import crud, service
from services.registry.deps import ModelId, PersonalizeDep, RecipesDep, SessionDep, WriterDep
from services.registry.models import (
    Model,
    ModelCreate,
    ModelPublic,
    ModelsPublic,
    ModelType,
    ModelUpdate,
)

router = APIRouter(prefix="/models", tags=["models"])

ERRORS = {
    401: {"description": "No API token or admin session"},
    403: {"description": "Admin session without its CSRF header"},
    409: {"description": "Another model has this name"},
    422: {"description": "Invalid field, or a campaign that cannot serve the type"},
    503: {"description": "Personalize could not be reached; nothing was saved"},
}


async def _get_or_404(session: SessionDep, model_id: int) -> Model:
    model = await crud.get_model(session=session, model_id=model_id)
    if model is None:
        raise NotFound(f"model {model_id} not found")
    return model


@router.get(
    "",
    summary="List models",
    operation_id="models-list",
    response_model=ModelsPublic,
    responses={304: {"description": "Unchanged since the list whose ETag was sent"}},
)
async def list_models(
    request: Request, session: SessionDep, recipes: RecipesDep, type: ModelType | None = None
) -> Response:
    """Models by type, sort order and name, each with its campaign's recipe (or null).

    The answer carries an ETag (a hash of its body) and `Cache-Control: no-cache`: a client
    sending it back in `If-None-Match` gets 304 while nothing changed, so the recommender
    and browsers can check every half second for the price of an empty answer, and a
    change in the admin shows within that time instead of after a cache's lifetime."""
    data = await service.public_list(session=session, recipes=recipes, type=type)
    body = ModelsPublic(data=data, count=len(data)).model_dump_json().encode()
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


@router.get(
    "/{model_id}",
    summary="Get a model",
    operation_id="models-get",
    responses={404: {"description": "No such model"}},
)
async def get_model(model_id: ModelId, session: SessionDep, recipes: RecipesDep) -> ModelPublic:
    """One model, with its campaign's recipe (or null)."""
    model = await _get_or_404(session, model_id)
    return await service.public_one(recipes=recipes, model=model)


@router.post(
    "", status_code=201, summary="Register a model", operation_id="models-create", responses=ERRORS
)
async def create_model(
    _writer: WriterDep,
    body: ModelCreate,
    session: SessionDep,
    personalize: PersonalizeDep,
    recipes: RecipesDep,
) -> ModelPublic:
    """Check the campaign against the type, then save the model."""
    return await service.register(
        session=session, personalize=personalize, recipes=recipes, data=body
    )


@router.patch(
    "/{model_id}",
    summary="Change a model",
    operation_id="models-update",
    responses={404: {"description": "No such model"}, **ERRORS},
)
async def update_model(
    _writer: WriterDep,
    model_id: ModelId,
    body: ModelUpdate,
    session: SessionDep,
    personalize: PersonalizeDep,
    recipes: RecipesDep,
) -> ModelPublic:
    """Change any subset of the fields; a new campaign or type is checked again."""
    model = await _get_or_404(session, model_id)
    return await service.change(
        session=session, personalize=personalize, recipes=recipes, model=model, data=body
    )


@router.delete(
    "/{model_id}",
    status_code=204,
    summary="Delete a model",
    operation_id="models-delete",
    responses={404: {"description": "No such model"}, 401: ERRORS[401], 403: ERRORS[403]},
)
async def delete_model(_writer: WriterDep, model_id: ModelId, session: SessionDep) -> Response:
    """Remove a model from the registry (its campaign is left alone)."""
    model = await _get_or_404(session, model_id)
    await crud.delete_model(session=session, model=model)
    return Response(status_code=204)
