"""Small helpers the browser tests share: API reads, screenshots, a row's film ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Page


async def get_json(client: httpx.AsyncClient, url: str, **params: Any) -> Any:
    response = await client.get(url, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def shot(page: Page, folder: Path, name: str) -> None:
    await page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


async def tile_ids(page: Page, row: str) -> list[int]:
    ids = await page.locator(f'[data-row="{row}"] .tile[data-movie-id]').evaluate_all(
        "tiles => tiles.map((t) => Number(t.dataset.movieId))"
    )
    return [int(i) for i in ids]
