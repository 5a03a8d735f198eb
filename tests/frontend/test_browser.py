"""The web app end to end: Debian Chromium against the trained stack (real services).

Each test drives one screen the way a person would and checks it against what the APIs
answer; every screen is saved under <TEST_OUTPUT_DIR>/screenshots/.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError
from playwright.async_api import Browser, Page, expect

from tests.frontend.pages import get_json, shot, tile_ids
from tests.utils.credentials import boto_credentials
from tests.utils.stack import Stack

pytestmark = pytest.mark.browser

METRIC_KEYS = [
    "precision_at_5",
    "precision_at_10",
    "precision_at_25",
    "coverage",
    "mean_reciprocal_rank_at_25",
    "normalized_discounted_cumulative_gain_at_5",
    "normalized_discounted_cumulative_gain_at_10",
    "normalized_discounted_cumulative_gain_at_25",
]

# Every image the page shows must have loaded; hidden ones (still loading, or failed and
# about to be removed) sit under their title card.
BROKEN_IMAGES = """() => [...document.images].filter((img) => {
  const box = img.getBoundingClientRect();
  const style = getComputedStyle(img);
  const shown = box.width > 0 && box.height > 0 && style.visibility !== 'hidden'
    && Number(style.opacity) > 0;
  return shown && !(img.complete && img.naturalWidth > 0);
}).map((img) => img.src)"""

# Posters in the viewport have settled: loaded, or failed and replaced by the title card.
POSTERS_SETTLED = """() => [...document.querySelectorAll('.poster img')].every((img) => {
  const box = img.getBoundingClientRect();
  const inView = box.bottom > 0 && box.top < innerHeight && box.right > 0 && box.left < innerWidth;
  return !inView || (img.complete && img.naturalWidth > 0);
})"""


async def check_posters(page: Page) -> None:
    """No broken image anywhere; posters that cannot load show their title card."""
    await page.wait_for_function(POSTERS_SETTLED)
    assert await page.evaluate(BROKEN_IMAGES) == []
    cards = page.locator(".tile .title-card")
    assert await cards.count() > 0
    await expect(cards.first).to_be_visible()


async def test_home_lists_models_with_metrics(
    page: Page, stack: Stack, api: httpx.AsyncClient, screenshots: Path
) -> None:
    summary = (await get_json(api, stack.recommender_url + "/models/summary"))["data"]
    registered = (await get_json(api, stack.registry_url + "/models"))["data"]
    assert {m["id"] for m in summary} == {m["id"] for m in registered}
    await page.goto("/")

    table = page.locator(".metrics-table")
    await expect(table.locator("tr[data-model-id]")).to_have_count(len(summary))
    for model in summary:
        row = table.locator(f'tr[data-model-id="{model["id"]}"]')
        await expect(row.locator("th")).to_have_text(model["name"])
        await expect(row.locator("td").first).to_have_text(model["recipe"])
        expected = [f"{model['metrics'][key]:.4f}" for key in METRIC_KEYS]
        assert await row.locator("td.num").all_inner_texts() == expected
    groups = await table.locator("tbody").evaluate_all(
        "bodies => bodies.map((b) => b.dataset.type)"
    )
    assert groups == ["recommendations", "ranking", "similar-items"]
    # Three precision bars per model in the chart.
    await expect(page.locator(".chart rect.chart__bar")).to_have_count(3 * len(summary))

    stats = await get_json(api, stack.catalog_url + "/stats")
    expected_stats = {
        "stat-users": stats["users"],
        "stat-movies": stats["movies"],
        "stat-reviews": stats["reviews"],
        "stat-positive-users": stats["positive_users"],
        "stat-positive-movies": stats["positive_movies"],
        "stat-positive-reviews": stats["positive_reviews"],
    }
    assert expected_stats == {
        "stat-users": 943,
        "stat-movies": 1682,
        "stat-reviews": 100000,
        "stat-positive-users": 942,
        "stat-positive-movies": 1447,
        "stat-positive-reviews": 55375,
    }
    for element_id, value in expected_stats.items():
        await expect(page.locator(f"#{element_id} dd")).to_have_text(f"{value:,}")
    await expect(page.get_by_role("heading", name="All reviews")).to_be_visible()
    await expect(page.get_by_role("heading", name="Training interactions")).to_be_visible()
    await shot(page, screenshots, "01-home")


async def test_random_user_shows_top_reviews(
    page: Page, stack: Stack, api: httpx.AsyncClient, screenshots: Path
) -> None:
    await page.goto("/")
    await page.get_by_role("button", name="Select random user").click()
    await page.wait_for_url(re.compile(r"#/users/\d+\?mode=recommendations&"))
    user_id = int(re.search(r"#/users/(\d+)", page.url).group(1))  # type: ignore[union-attr]
    user = await get_json(api, f"{stack.catalog_url}/users/{user_id}")
    reviews = await get_json(api, f"{stack.catalog_url}/users/{user_id}/reviews", limit=25)

    row = page.locator('[data-row="reviews"]')
    await expect(row).to_have_attribute("data-state", "ready")
    await expect(row.locator(".tile")).to_have_count(min(25, user["review_count"]))
    assert await tile_ids(page, "reviews") == [r["movie"]["id"] for r in reviews["data"]]
    stars = await row.locator(".stars").evaluate_all(
        "s => s.map((e) => e.getAttribute('aria-label'))"
    )
    assert stars == [f"Rated {r['rating']} out of 5" for r in reviews["data"]]
    await expect(row.locator(".tile__title").first).to_have_text(
        reviews["data"][0]["movie"]["title"]
    )

    await expect(page.locator("#user-id-value")).to_have_text(str(user_id))
    lines = page.locator(".summary__line")
    await expect(lines).to_have_count(5)
    for line, expected in zip(await lines.all(), user["review_summary"], strict=True):
        assert await line.get_attribute("data-rating") == str(expected["rating"])
        await expect(line).to_contain_text(f"{expected['rating']}★")
        await expect(line).to_contain_text(f"({expected['count']} review")
    await check_posters(page)
    await shot(page, screenshots, "02-user-reviews")

    # The reviews can be hidden, and the choice survives a reload.
    await page.locator("label[for=show-reviews]").click()
    await page.wait_for_url(re.compile(r"reviews=off"))
    await expect(page.locator('[data-row="reviews"]')).to_have_count(0)
    await page.reload()
    await expect(page.locator("#show-reviews")).not_to_be_checked()
    await expect(page.locator('[data-row="reviews"]')).to_have_count(0)


async def test_two_models_side_by_side(
    page: Page, stack: Stack, api: httpx.AsyncClient, screenshots: Path
) -> None:
    first, second = stack.model_ids["Personal Recommendations"], stack.model_ids["Popular Movies"]
    await page.goto(f"/#/users/42?mode=recommendations&m1={first}&m2={second}")
    for slot, model_id, name in (
        (1, first, "Personal Recommendations"),
        (2, second, "Popular Movies"),
    ):
        row = page.locator(f'[data-row="model-{slot}"]')
        await expect(row).to_have_attribute("data-state", "ready")
        await expect(row.locator(".row__title")).to_have_text(f"Model {slot}: {name}")
        await expect(row.locator(".row__meta")).to_have_text(re.compile(r"^answered in \d+ ms$"))
        answer = await get_json(
            api, f"{stack.recommender_url}/users/42/recommendations", models=model_id, num=25
        )
        expected = [item["id"] for item in answer["blocks"][0]["items"]]
        assert len(expected) == 25
        assert await tile_ids(page, f"model-{slot}") == expected
    # The model choices offer exactly the recommendation models, by id.
    registered = (await get_json(api, stack.registry_url + "/models", type="recommendations"))[
        "data"
    ]
    options = await page.locator("#model1 option").evaluate_all("o => o.map((e) => e.value)")
    assert options == ["none"] + [str(m["id"]) for m in registered]
    await expect(page.locator("#model1")).to_have_value(str(first))
    await expect(page.locator("#model2")).to_have_value(str(second))
    await check_posters(page)
    await shot(page, screenshots, "03-recommendations-side-by-side")

    # Choosing another model 2 is a new history entry; back restores the first choice.
    third = stack.model_ids["HRNN Recommendations"]
    await page.select_option("#model2", str(third))
    await page.wait_for_url(re.compile(rf"m2={third}"))
    await expect(page.locator('[data-row="model-2"] .row__title')).to_have_text(
        "Model 2: HRNN Recommendations"
    )
    await page.go_back()
    await expect(page.locator('[data-row="model-2"] .row__title')).to_have_text(
        "Model 2: Popular Movies"
    )


async def test_horror_ranking(
    page: Page, stack: Stack, api: httpx.AsyncClient, screenshots: Path
) -> None:
    ranker = stack.model_ids["Personal Ranking"]
    await page.goto("/#/users/42")
    await page.select_option("#mode", "ranking")
    await page.wait_for_url(re.compile(r"mode=ranking"))
    # The hash changes at once; the ranking controls come once the view has rendered.
    await expect(page.locator("#genre option")).to_have_count(19)
    genres = await page.locator("#genre option").evaluate_all(
        "o => o.map((e) => [e.value, e.textContent])"
    )
    assert len(genres) == 19  # all genres, then each of the 18
    assert ["horror", "Horror"] in genres
    await page.select_option("#genre", "horror")
    await page.wait_for_url(re.compile(rf"m1={ranker}&genre=horror"))

    popular = page.locator('[data-row="popular"]')
    # The new view's row first (the previous view's was ready too), then its films.
    await expect(popular.locator(".row__title")).to_have_text("Most popular Horror films")
    await expect(popular).to_have_attribute("data-state", "ready")
    candidates = await get_json(
        api, f"{stack.catalog_url}/movies/popular", genre="horror", limit=25
    )
    assert await tile_ids(page, "popular") == [m["id"] for m in candidates["data"]]

    ranked = page.locator('[data-row="ranked"]')
    await expect(ranked.locator(".row__title")).to_have_text("Ranked for you: Personal Ranking")
    await expect(ranked).to_have_attribute("data-state", "ready")
    answer = await get_json(
        api, f"{stack.recommender_url}/users/42/ranking", model=ranker, genre="horror"
    )
    ranked_ids = await tile_ids(page, "ranked")
    assert ranked_ids == [item["id"] for item in answer["ranked"]["items"]]
    assert sorted(ranked_ids) == sorted(m["id"] for m in candidates["data"])
    for text in await ranked.locator(".tile__genres").all_inner_texts():
        assert "Horror" in text.split(", ")
    await check_posters(page)
    await shot(page, screenshots, "04-ranking-horror")


async def test_ranking_shows_own_ratings_and_why(
    page: Page, stack: Stack, api: httpx.AsyncClient, screenshots: Path
) -> None:
    """Issue 16: user 1 rated Babe 1 star; the view shows that, and what the model learns from."""
    ranker = stack.model_ids["Personal Ranking"]
    reviews = await get_json(api, f"{stack.catalog_url}/users/1/reviews", limit=1000)
    assert len(reviews["data"]) == reviews["count"] == 272
    rated = {r["movie"]["id"]: r["rating"] for r in reviews["data"]}
    assert rated[8] == 1  # Babe (1995)
    await page.goto(f"/#/users/1?mode=ranking&m1={ranker}&genre=comedy")

    note = page.locator("#ranking-note")
    await expect(note.get_by_role("heading")).to_have_text(
        "How the ranking model orders these films"
    )
    await expect(note).to_contain_text("the films you rated 4 or 5 stars")
    await expect(note).to_contain_text("only on ratings above 3.6")
    await expect(note).to_contain_text("not treated as likes")
    ranked = page.locator('[data-row="ranked"]')
    await expect(ranked).to_have_attribute("aria-describedby", "ranking-note")

    for name in ("popular", "ranked"):
        row = page.locator(f'[data-row="{name}"]')
        await expect(row).to_have_attribute("data-state", "ready")
        ids = await tile_ids(page, name)
        assert len(ids) == 25
        assert 8 in ids and any(i not in rated for i in ids)
        for movie_id in ids:
            mark = row.locator(f'.tile[data-movie-id="{movie_id}"] .tile__rated')
            if movie_id not in rated:
                await expect(mark).to_have_count(0)
                continue
            stars = rated[movie_id]
            await expect(mark).to_have_attribute("data-rating", str(stars))
            # Words for screen readers; glyphs and "n/5" on screen.
            await expect(mark.locator(".visually-hidden")).to_have_text(
                f"You rated this {stars} out of 5 stars"
            )
            await expect(mark.locator('[aria-hidden="true"]').first).to_have_text(
                f"You rated {'★' * stars}{'☆' * (5 - stars)} {stars}/5"
            )
    await expect(ranked.locator('.tile[data-movie-id="8"] .tile__rated')).to_be_visible()
    await shot(page, screenshots, "04b-ranking-own-ratings")


async def test_ranking_without_own_ratings_still_ranks(page: Page, stack: Stack) -> None:
    """The user's ratings are optional: if the catalog cannot give them, the rows say so."""
    ranker = stack.model_ids["Personal Ranking"]
    await page.route(
        lambda url: "/api/catalog/users/1/reviews" in url and "limit=1000" in url,
        lambda route: route.fulfill(status=503, json={"detail": "catalog is unavailable"}),
    )
    await page.goto(f"/#/users/1?mode=ranking&m1={ranker}&genre=comedy")
    for name in ("popular", "ranked"):
        row = page.locator(f'[data-row="{name}"]')
        await expect(row).to_have_attribute("data-state", "ready")
        await expect(row.locator(".tile")).to_have_count(25)
        await expect(row.locator(".tile__rated")).to_have_count(0)
        await expect(row.locator(".row__meta")).to_contain_text(
            "your own ratings could not be loaded"
        )
    await expect(page.locator("#ranking-note")).to_be_visible()


async def test_similar_items_click_changes_seed(
    page: Page, stack: Stack, api: httpx.AsyncClient, screenshots: Path
) -> None:
    sims = stack.model_ids["Similar Items"]
    top = (await get_json(api, f"{stack.catalog_url}/users/42/reviews", limit=1))["data"][0][
        "movie"
    ]
    await page.goto("/#/users/42?mode=similar")
    await page.wait_for_url(re.compile(rf"m1={sims}&seed={top['id']}&order=popular"))
    row = page.locator('[data-row="similar"]')
    await expect(row).to_have_attribute("data-state", "ready")
    await expect(row.locator(".row__title")).to_have_text(f"Similar to {top['title']}")
    await expect(row.locator(".tile--seed")).to_have_attribute("data-movie-id", str(top["id"]))
    answer = await get_json(
        api, f"{stack.recommender_url}/users/42/similar", model=sims, item=top["id"], rerank="false"
    )
    similar_ids = [item["id"] for item in answer["block"]["items"]]
    assert (await tile_ids(page, "similar"))[1:] == similar_ids
    await check_posters(page)
    await shot(page, screenshots, "05-similar-items")

    clicked = answer["block"]["items"][2]
    await row.locator(f'.tile[data-movie-id="{clicked["id"]}"] .tile__button').click()
    await page.wait_for_url(re.compile(rf"seed={clicked['id']}&"))
    await expect(row.locator(".row__title")).to_have_text(f"Similar to {clicked['title']}")
    await expect(row.locator(".tile--seed")).to_have_attribute("data-movie-id", str(clicked["id"]))
    await expect(row).to_have_attribute("data-state", "ready")
    # Focus follows the click into the rebuilt row (keyboard users stay in place).
    assert await page.evaluate("document.activeElement.dataset.row") == "similar"
    await shot(page, screenshots, "06-similar-items-new-seed")
    # Reload keeps the new seed; back returns to the first one.
    await page.reload()
    await expect(row.locator(".tile--seed")).to_have_attribute("data-movie-id", str(clicked["id"]))
    await page.go_back()
    await expect(row.locator(".tile--seed")).to_have_attribute("data-movie-id", str(top["id"]))

    # Ordering through the ranking model says which model re-ranked.
    await page.select_option("#order", "personal")
    await page.wait_for_url(re.compile(r"order=personal"))
    await expect(row.locator(".row__meta")).to_contain_text("re-ranked for you by Personal Ranking")


async def test_previous_next_and_deep_links(
    page: Page, stack: Stack, api: httpx.AsyncClient, screenshots: Path
) -> None:
    await page.goto("/#/users/1?mode=similar")
    await expect(page.locator("#prev-user")).to_be_disabled()
    await expect(page.locator('[data-row="similar"]')).to_have_attribute("data-state", "ready")
    await page.locator("#next-user").click()
    # The seed follows the user: user 2's own top film, not user 1's.
    top = (await get_json(api, f"{stack.catalog_url}/users/2/reviews", limit=1))["data"][0]["movie"]
    await page.wait_for_url(re.compile(rf"#/users/2\?mode=similar&.*seed={top['id']}"))
    await expect(page.locator("#user-id-value")).to_have_text("2")
    await expect(page.locator(".tile--seed")).to_have_attribute("data-movie-id", str(top["id"]))

    last = (await get_json(api, f"{stack.catalog_url}/users", offset=0, limit=1))["count"]
    await page.goto(f"/#/users/{last}?mode=recommendations&reviews=off")
    await expect(page.locator("#next-user")).to_be_disabled()
    await expect(page.locator("#prev-user")).to_be_enabled()

    await page.goto("/#/users/9999")
    await expect(page.get_by_role("alert")).to_contain_text("user 9999 not found")
    await shot(page, screenshots, "07-unknown-user")


async def test_stopped_campaign_fails_only_its_row(
    page: Page, stack: Stack, screenshots: Path
) -> None:
    """A campaign deleted on the engine turns its row into an error; the other row renders."""
    personalize = boto3.client(
        "personalize",
        endpoint_url=stack.engine_url,
        region_name="us-east-1",
        **boto_credentials(),
    )
    version = personalize.describe_campaign(
        campaignArn=stack.campaign_arns["aws-popularity-count"]
    )["campaign"]["solutionVersionArn"]
    arn = personalize.create_campaign(name="frontend-doomed", solutionVersionArn=version)[
        "campaignArn"
    ]
    headers = {"Authorization": f"Bearer {stack.api_token}"}
    model_id = None
    try:
        await wait_for_campaign(personalize, arn, "ACTIVE")
        async with httpx.AsyncClient(timeout=30) as client:
            created = await client.post(
                stack.registry_url + "/models",
                headers=headers,
                json={
                    "name": "Doomed Popular",
                    "campaign_arn": arn,
                    "type": "recommendations",
                    "sort_order": 9,
                },
            )
            assert created.status_code == 201, created.text
            model_id = created.json()["id"]
            good = stack.model_ids["Personal Recommendations"]
            await page.goto(f"/#/users/7?mode=recommendations&m1={good}&m2={model_id}")
            await expect(page.locator('[data-row="model-2"]')).to_have_attribute(
                "data-state", "ready"
            )

            personalize.delete_campaign(campaignArn=arn)
            await wait_for_campaign(personalize, arn, None)
            await page.reload()
            failed = page.locator('[data-row="model-2"]')
            await expect(failed).to_have_attribute("data-state", "error")
            await expect(failed.get_by_role("alert")).to_contain_text(
                "Doomed Popular could not answer"
            )
            working = page.locator('[data-row="model-1"]')
            await expect(working).to_have_attribute("data-state", "ready")
            await expect(working.locator(".tile")).to_have_count(25)
            await expect(page.locator('[data-row="reviews"]')).to_have_attribute(
                "data-state", "ready"
            )
            await shot(page, screenshots, "08-stopped-campaign")
    finally:
        if model_id is not None:
            async with httpx.AsyncClient(timeout=30) as client:
                await client.delete(f"{stack.registry_url}/models/{model_id}", headers=headers)
        try:
            personalize.delete_campaign(campaignArn=arn)
        except ClientError:
            pass  # already gone (the normal case)


async def wait_for_campaign(client: Any, arn: str, status: str | None) -> None:
    """Poll DescribeCampaign until `status`, or until the campaign is gone (None)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            current = client.describe_campaign(campaignArn=arn)["campaign"]["status"]
        except ClientError as exc:
            if status is None and exc.response["Error"]["Code"] == "ResourceNotFoundException":
                return
            raise
        if current == status:
            return
        assert "FAILED" not in current, current
        await asyncio.sleep(0.2)
    raise AssertionError(f"campaign {arn} never reached {status}")


async def test_admin_pages_through_the_proxy(page: Page, stack: Stack, screenshots: Path) -> None:
    await page.goto("/")
    await page.get_by_role("link", name="Admin").click()
    await page.wait_for_url(re.compile(r"/api/registry/admin/"))
    await page.fill("#username", stack.secrets.admin_username)
    await page.fill("#password", stack.secrets.admin_password)
    await page.get_by_role("button", name="Sign in").click()
    # The session cookie came back through the proxy: the model list is shown.
    await expect(page.get_by_text("Personal Recommendations").first).to_be_visible()
    assert "/api/registry/admin" in page.url
    await shot(page, screenshots, "09-admin")


async def test_narrow_screen_and_keyboard(
    browser: Browser, stack: Stack, screenshots: Path
) -> None:
    context = await browser.new_context(
        base_url=stack.frontend_url, viewport={"width": 390, "height": 844}
    )
    page = await context.new_page()
    try:
        first, second = (
            stack.model_ids["Personal Recommendations"],
            stack.model_ids["HRNN Recommendations"],
        )
        await page.goto(f"/#/users/42?mode=recommendations&m1={first}&m2={second}")
        row = page.locator('[data-row="model-1"]')
        await expect(row).to_have_attribute("data-state", "ready")
        # The page never scrolls sideways; the rows of films do.
        assert await page.evaluate("document.documentElement.scrollWidth <= innerWidth")
        tiles = row.locator("ol.tiles")
        assert await tiles.evaluate("el => el.scrollWidth > el.clientWidth")
        await check_posters(page)
        await shot(page, screenshots, "10-narrow-user")

        # Every control has a label, every image alt text, every button a name.
        unlabelled = await page.evaluate(
            """() => [...document.querySelectorAll('select, input')]
                .filter((el) => !el.labels || el.labels.length === 0).map((el) => el.id)"""
        )
        assert unlabelled == []
        assert await page.evaluate("[...document.images].every((img) => img.alt.trim() !== '')")
        nameless = await page.evaluate(
            """() => [...document.querySelectorAll('button, a')]
                .filter((el) => !(el.getAttribute('aria-label') || el.textContent).trim()).length"""
        )
        assert nameless == 0
        # The controls are reachable with Tab, and focus is visible.
        for _ in range(12):
            await page.keyboard.press("Tab")
            if await page.evaluate("document.activeElement.id") == "mode":
                break
        assert await page.evaluate("document.activeElement.id") == "mode"
        assert await page.evaluate("getComputedStyle(document.activeElement).boxShadow") != "none"
    finally:
        await context.close()
