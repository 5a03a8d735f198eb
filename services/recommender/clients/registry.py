"""Calls to the registry service: which models exist and which campaign each one uses.

The model list is reused for MODELS_CACHE_SECONDS (0.5 s by default), then revalidated
with the ETag the registry gave (`If-None-Match`): 304 while nothing changed, so the hot
path asks at most twice a second and a change made in the admin is served within half a
second. While the registry cannot be reached (restarting, say), the last list it gave is
used: the pages keep answering with the models of a few seconds ago instead of a 503.
"""

from __future__ import annotations

import logging

import httpx

from services.common.errors import BadGateway, NotFound, UpstreamUnavailable
from services.common.http import create_http_client
from services.recommender.cache import TtlCache
from services.recommender.models import RegisteredModel

logger = logging.getLogger(__name__)

REGISTRY_TIMEOUT = httpx.Timeout(5.0, connect=1.0)
REGISTRY_LIMITS = httpx.Limits(max_connections=20, max_keepalive_connections=10)


def create_registry_http(base_url: str) -> httpx.AsyncClient:
    return create_http_client(base_url, timeout=REGISTRY_TIMEOUT, limits=REGISTRY_LIMITS)


class RegistryClient:
    def __init__(self, http: httpx.AsyncClient, *, ttl: float) -> None:
        self.http = http
        self._cache: TtlCache[str, list[RegisteredModel]] = TtlCache(ttl)
        self._last: list[RegisteredModel] | None = None  # the last list the registry gave
        self._etag: str | None = None  # its ETag, to revalidate it

    async def _fetch(self) -> list[RegisteredModel]:
        headers = {"If-None-Match": self._etag} if self._etag and self._last is not None else {}
        try:
            response = await self.http.get("/models", headers=headers)
        except httpx.HTTPError as exc:
            raise UpstreamUnavailable(f"registry unavailable (model list): {exc!r}") from exc
        if response.status_code >= 500:
            raise UpstreamUnavailable(
                f"registry unavailable (model list): HTTP {response.status_code}"
            )
        if response.status_code == 304 and self._last is not None:
            return self._last  # unchanged
        if response.status_code != 200:
            raise BadGateway(f"registry answered HTTP {response.status_code} to the model list")
        models = [RegisteredModel.model_validate(row) for row in response.json()["data"]]
        self._last = models
        self._etag = response.headers.get("etag")
        return models

    async def models(self, *, stale_ok: bool = True) -> list[RegisteredModel]:
        """Every registered model, ordered by type, sort order and name (as the registry
        orders); the last known list while the registry is unavailable, if `stale_ok`."""
        try:
            return await self._cache.get("models", self._fetch)
        except UpstreamUnavailable as exc:
            if self._last is None or not stale_ok:
                raise
            logger.warning("registry unavailable, using the last model list: %s", exc.message)
            return self._last

    async def model(self, model_id: int) -> RegisteredModel:
        """One model by registry id; a miss re-reads the registry once before answering 404."""
        for fresh in (False, True):
            if fresh:
                self._cache.clear()
            # A model missing from the last known list may be new: 503, not 404, while
            # the registry cannot say.
            for model in await self.models(stale_ok=not fresh):
                if model.id == model_id:
                    return model
        raise NotFound(f"model {model_id} is not registered")

    async def first_of_type(self, model_type: str) -> RegisteredModel | None:
        """The first model of a type by sort order (the registry's order), if any."""
        of_type = [m for m in await self.models() if m.type == model_type]
        return min(of_type, key=lambda m: (m.sort_order, m.name, m.id)) if of_type else None

    async def ready(self) -> str | None:
        try:
            response = await self.http.get("/healthz", timeout=2.0)
        except httpx.HTTPError as exc:
            return f"registry unreachable: {exc!r}"
        return None if response.status_code == 200 else f"registry: HTTP {response.status_code}"
