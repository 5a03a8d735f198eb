"""What a first-time walkthrough of the web app found wrong, each checked in Chromium against
the trained stack: contrast of title cards and stars, tile buttons named by what they show,
the similar-items order label and seed trail, films the user rated marked in every model
row, a plain message for a bad user id, a phone layout that puts films on the first screen
and an admin list that fits it, and focus on admin form errors."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.frontend.pages import get_json, shot, tile_ids
from tests.utils.stack import Stack

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def _luminance(rgb: tuple[float, ...]) -> float:
    """WCAG 2 relative luminance of an sRGB colour given as 0-255 channels."""

    def channel(value: float) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two CSS colours (`rgb(...)` or `#rrggbb`)."""

    def parse(colour: str) -> tuple[float, ...]:
        colour = colour.strip()
        if colour.startswith("#"):
            return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
        numbers = [float(n) for n in re.findall(r"[\d.]+", colour)]
        assert len(numbers) == 3 or numbers[3] == 1, f"not opaque: {colour}"
        return tuple(numbers[:3])

    high, low = sorted((_luminance(parse(a)), _luminance(parse(b))), reverse=True)
    return (high + 0.05) / (low + 0.05)


async def test_title_cards_and_stars_have_text_contrast(page: Page, stack: Stack) -> None:
    await page.goto("/#/users/42?mode=recommendations")
    reviews = page.locator('[data-row="reviews"]')
    await expect(reviews).to_have_attribute("data-state", "ready")
    cards = await page.evaluate(
        """() => [...document.querySelectorAll('.title-card')].map((card) => {
            const style = getComputedStyle(card);
            return {
              text: [card, ...card.children].map((el) => getComputedStyle(el).color),
              opacity: [...card.children].map((el) => getComputedStyle(el).opacity),
              stops: [style.getPropertyValue('--card-from'), style.getPropertyValue('--card-to')],
            };
          })"""
    )
    assert len(cards) >= 8
    for card in cards:
        assert set(card["opacity"]) == {"1"}, card
        for text in card["text"]:
            for stop in card["stops"]:
                assert contrast(text, stop) >= 4.5, (text, stop)
    # Stars carry the rating: the filled ones at text contrast on the row's background.
    stars = await page.evaluate(
        """() => [...document.querySelectorAll('.stars__full')].map((el) => {
            let node = el;
            let bg = 'rgba(0, 0, 0, 0)';
            while (node && /rgba\\(.*, 0\\)|transparent/.test(bg)) {
              bg = getComputedStyle(node).backgroundColor;
              node = node.parentElement;
            }
            return [getComputedStyle(el).color, bg];
          })"""
    )
    assert stars
    for colour, background in stars:
        assert contrast(colour, background) >= 4.5, (colour, background)


async def test_tile_buttons_are_named_by_what_they_show(page: Page, stack: Stack) -> None:
    """Speech-input users say what they see: each similar-items button's accessible name
    contains its visible text (WCAG 2.5.3), after what it does."""
    await page.goto("/#/users/42?mode=similar")
    row = page.locator('[data-row="similar"]')
    await expect(row).to_have_attribute("data-state", "ready")
    buttons = row.locator(".tile__button")
    count = await buttons.count()
    assert count >= 10
    for index in range(count):
        button = buttons.nth(index)
        assert await button.get_attribute("aria-label") is None
        # Year, title and genres: the text the tile shows for every film.
        parts = [
            await button.locator(part).inner_text()
            for part in (".tile__year", ".tile__title", ".tile__genres")
        ]
        visible = " ".join(" ".join(parts).split())
        named = row.get_by_role("button", name=visible)
        assert await named.count() >= 1, visible
        assert re.match(r"Show films similar to: ", await button.evaluate("b => b.textContent"))


async def test_similar_items_order_label_and_seed_trail(
    page: Page, stack: Stack, api: httpx.AsyncClient, screenshots: Path
) -> None:
    sims = stack.model_ids["Similar Items"]
    top = (await get_json(api, f"{stack.catalog_url}/users/42/reviews", limit=1))["data"][0][
        "movie"
    ]
    await page.goto("/#/users/42?mode=similar")
    row = page.locator('[data-row="similar"]')
    await expect(row).to_have_attribute("data-state", "ready")
    # The row is in the model's own order, and the control says so.
    order = page.locator("#order")
    assert await order.evaluate("s => s.selectedOptions[0].textContent") == "The model's own order"
    await expect(row.locator(".row__meta")).to_contain_text("in the model's own order")
    await expect(row.locator(".seed-trail")).to_have_count(0)

    # Two clicks deep: the trail names both earlier seeds.
    seeds = [top]
    for _ in range(2):
        ids = await tile_ids(page, "similar")
        nxt = ids[3]
        await row.locator(f'.tile[data-movie-id="{nxt}"] .tile__button').click()
        await page.wait_for_url(re.compile(rf"seed={nxt}&"))
        await expect(row.locator(".tile--seed")).to_have_attribute("data-movie-id", str(nxt))
        await expect(row).to_have_attribute("data-state", "ready")
        seeds.append(await get_json(api, f"{stack.catalog_url}/movies/{nxt}"))
    trail = row.locator(".seed-trail")
    await expect(trail.locator(".seed-trail__link")).to_have_text(
        [seeds[0]["title"], seeds[1]["title"]]
    )
    await expect(trail.locator('[aria-current="step"]')).to_have_text(seeds[2]["title"])
    assert f"trail={seeds[0]['id']}%2C{seeds[1]['id']}" in page.url
    await shot(page, screenshots, "fix-01-seed-trail")

    # A step back keeps the trail before it; "Back to" returns to the first seed.
    await trail.locator(".seed-trail__link").nth(1).click()
    await page.wait_for_url(re.compile(rf"seed={seeds[1]['id']}&trail={seeds[0]['id']}&"))
    await expect(row.locator(".tile--seed")).to_have_attribute(
        "data-movie-id", str(seeds[1]["id"])
    )
    await row.get_by_role("button", name=f"Back to {top['title']}").click()
    await page.wait_for_url(re.compile(rf"m1={sims}&seed={top['id']}&order=popular"))
    await expect(row.locator(".tile--seed")).to_have_attribute("data-movie-id", str(top["id"]))
    await expect(row.locator(".seed-trail")).to_have_count(0)
    assert "trail=" not in page.url


async def _rated_in_row(api: httpx.AsyncClient, stack: Stack, model: int) -> tuple[int, dict]:
    """A user with a film they rated among `model`'s recommendations, and their ratings."""
    for user in range(1, 60):
        answer = await get_json(
            api, f"{stack.recommender_url}/users/{user}/recommendations", models=model
        )
        shown = {item["id"] for item in answer["blocks"][0]["items"]}
        reviews = await get_json(api, f"{stack.catalog_url}/users/{user}/reviews", limit=1000)
        ratings = {r["movie"]["id"]: r["rating"] for r in reviews["data"]}
        rated = {i: ratings[i] for i in shown if i in ratings}
        if rated:
            return user, rated
    raise AssertionError("no user among 1-59 has a rated film in the row")


async def test_model_rows_mark_films_the_user_rated(
    page: Page, stack: Stack, api: httpx.AsyncClient, screenshots: Path
) -> None:
    popular = stack.model_ids["Popular Movies"]
    user, rated = await _rated_in_row(api, stack, popular)
    await page.goto(f"/#/users/{user}?mode=recommendations&m1={popular}&m2=none")
    row = page.locator('[data-row="model-1"]')
    await expect(row).to_have_attribute("data-state", "ready")
    marks = await row.locator(".tile").evaluate_all(
        """tiles => Object.fromEntries(tiles.map((t) => [t.dataset.movieId,
            t.querySelector('.tile__rated')?.dataset.rating ?? null]))"""
    )
    assert {int(k): int(v) for k, v in marks.items() if v is not None} == rated
    await shot(page, screenshots, "fix-02-rated-marks")


@pytest.mark.parametrize("bad", ["0", "abc", "-3", "%E0"])
async def test_bad_user_ids_get_a_plain_message(page: Page, stack: Stack, bad: str) -> None:
    await page.goto(f"/#/users/{bad}")
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("is not a user id: user ids are whole numbers from 1 up")
    text = await alert.inner_text()
    assert "Catalog" not in text and "greater" not in text.lower()


async def test_phone_shows_films_on_the_first_screen(browser: Browser, stack: Stack) -> None:
    context = await browser.new_context(base_url=stack.frontend_url, viewport=PHONE)
    page = await context.new_page()
    try:
        await page.goto("/#/users/42?mode=recommendations")
        row = page.locator('[data-row="reviews"]')
        await expect(row).to_have_attribute("data-state", "ready")
        first_tile = row.locator(".tile").first
        box = await first_tile.bounding_box()
        assert box is not None
        # The first film's poster starts within the first screen, a third of it showing.
        assert box["y"] + box["height"] / 3 <= PHONE["height"], box
        # The control panel is compact: at most a third of the screen.
        panel = await page.locator(".control-panel").bounding_box()
        assert panel is not None and panel["height"] <= PHONE["height"] / 3, panel
        assert await page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    finally:
        await context.close()


async def _sign_in(page: Page, stack: Stack) -> None:
    await page.goto("/api/registry/admin/")
    await page.fill("#username", stack.secrets.admin_username)
    await page.fill("#password", stack.secrets.admin_password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Registered models")).to_be_visible()


async def test_admin_list_fits_a_phone(browser: Browser, stack: Stack, screenshots: Path) -> None:
    context = await browser.new_context(base_url=stack.frontend_url, viewport=PHONE)
    page = await context.new_page()
    try:
        await _sign_in(page, stack)
        assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        await expect(page.get_by_text("Personal Recommendations").first).to_be_visible()
        await shot(page, screenshots, "fix-03-admin-phone")
    finally:
        await context.close()


async def test_admin_errors_take_the_focus(page: Page, stack: Stack) -> None:
    await page.goto("/api/registry/admin/")
    await page.fill("#username", stack.secrets.admin_username)
    await page.fill("#password", "not the password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_be_visible()
    assert await page.evaluate("document.activeElement.getAttribute('role')") == "alert"

    await _sign_in(page, stack)
    await page.get_by_role("link", name="Add a model").click()
    await page.get_by_role("button", name="Add model").click()
    await expect(page.locator("#name-error")).to_be_visible()
    assert await page.evaluate("document.activeElement.id") == "name"


async def test_posters_that_cannot_load_cost_at_most_two_console_errors(
    page: Page, stack: Stack
) -> None:
    """Offline (as here) the poster host fails its first two probes and no other poster is
    asked for: every tile shows its title card, and the console is not flooded."""
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    await page.goto("/#/users/42?mode=recommendations")
    for name in ("reviews", "model-1", "model-2"):
        await expect(page.locator(f'[data-row="{name}"]')).to_have_attribute(
            "data-state", "ready"
        )
    await page.wait_for_timeout(1500)  # every probe answered
    tiles = await page.locator(".tile[data-movie-id]").count()
    assert tiles >= 50
    assert len(errors) <= 2, errors
    await expect(page.locator(".tile .title-card").first).to_be_visible()


async def test_a_registry_change_shows_on_the_home_page_within_a_second(
    page: Page, stack: Stack, api: httpx.AsyncClient
) -> None:
    """A new sort order saved in the registry is on the home page (reloaded) within 1 s:
    the recommender revalidates its model list (ETag) instead of keeping it for a TTL."""
    popular = stack.model_ids["Popular Movies"]
    auth = {"Authorization": f"Bearer {stack.api_token}"}
    rows = 'tbody[data-type="recommendations"] tr[data-model-id]'
    await page.goto("/")
    await expect(page.locator(rows)).to_have_count(3)
    before = await page.locator(rows).evaluate_all("rs => rs.map((r) => r.dataset.modelId)")
    assert before[-1] == str(popular)
    original = (await get_json(api, f"{stack.registry_url}/models/{popular}"))["sort_order"]
    moved = await api.patch(
        f"{stack.registry_url}/models/{popular}", json={"sort_order": -1}, headers=auth
    )
    assert moved.status_code == 200, moved.text
    try:
        saved = time.monotonic()
        while True:
            await page.reload()
            await expect(page.locator(rows)).to_have_count(3)
            order = await page.locator(rows).evaluate_all(
                "rs => rs.map((r) => r.dataset.modelId)"
            )
            if order[0] == str(popular):
                break
            assert time.monotonic() - saved <= 1.0, order
        assert time.monotonic() - saved <= 1.5  # the reload that showed it included
    finally:
        restored = await api.patch(
            f"{stack.registry_url}/models/{popular}",
            json={"sort_order": original},
            headers=auth,
        )
        assert restored.status_code == 200, restored.text


async def test_tiles_explain_rank_score_shared_films_and_moves(
    page: Page, stack: Stack, api: httpx.AsyncClient, screenshots: Path
) -> None:
    first, second = (
        stack.model_ids["Personal Recommendations"],
        stack.model_ids["HRNN Recommendations"],
    )
    blocks = (
        await get_json(
            api, f"{stack.recommender_url}/users/42/recommendations", models=f"{first},{second}"
        )
    )["blocks"]
    ids = [[item["id"] for item in block["items"]] for block in blocks]
    both = set(ids[0]) & set(ids[1])
    assert both, "the two models share no film for user 42"
    await page.goto(f"/#/users/42?mode=recommendations&m1={first}&m2={second}")
    for index, name in enumerate(("model-1", "model-2")):
        row = page.locator(f'[data-row="{name}"]')
        await expect(row).to_have_attribute("data-state", "ready")
        expected = [
            f"#{rank} · score {item['score']:.4f}"
            for rank, item in enumerate(blocks[index]["items"], start=1)
        ]
        assert await row.locator(".tile__rank").all_inner_texts() == expected
        await expect(row.locator(".tile--shared")).to_have_count(len(both))
        shared = await row.locator(".tile--shared").evaluate_all(
            "ts => ts.map((t) => Number(t.dataset.movieId))"
        )
        assert set(shared) == both
        await expect(row.locator(".tile--shared .tile__shared").first).to_have_text("In both rows")
    await shot(page, screenshots, "fix-04-shared-films")

    ranker = stack.model_ids["Personal Ranking"]
    answer = await get_json(
        api, f"{stack.recommender_url}/users/42/ranking", model=ranker, genre="horror"
    )
    popular_rank = {m["id"]: i for i, m in enumerate(answer["popular"])}
    expected_moves = []
    for to, item in enumerate(answer["ranked"]["items"]):
        start = popular_rank[item["id"]]
        steps = start - to
        expected_moves.append(
            f"= popularity #{start + 1}"
            if steps == 0
            else f"{'▲' if steps > 0 else '▼'} {abs(steps)} from popularity #{start + 1}"
        )
    await page.goto(f"/#/users/42?mode=ranking&m1={ranker}&genre=horror")
    ranked = page.locator('[data-row="ranked"]')
    await expect(ranked).to_have_attribute("data-state", "ready")
    assert await ranked.locator(".tile__moved").all_inner_texts() == expected_moves
    await shot(page, screenshots, "fix-05-ranking-moves")


async def test_every_tile_in_a_row_has_one_width(page: Page, stack: Stack) -> None:
    """A tile's text (a rating, a badge) never widens it, so posters line up."""
    popular = stack.model_ids["Popular Movies"]
    async with httpx.AsyncClient(timeout=30) as api:
        user, _ = await _rated_in_row(api, stack, popular)
    await page.goto(f"/#/users/{user}?mode=recommendations&m1={popular}&m2=none")
    row = page.locator('[data-row="model-1"]')
    await expect(row).to_have_attribute("data-state", "ready")
    widths = await row.locator(".tile").evaluate_all(
        "ts => ts.map((t) => Math.round(t.getBoundingClientRect().width))"
    )
    assert len(set(widths)) == 1, widths


async def test_a_film_drawer_says_what_it_is_and_why(
    page: Page, stack: Stack, api: httpx.AsyncClient, screenshots: Path
) -> None:
    first = stack.model_ids["Personal Recommendations"]
    sims = stack.model_ids["Similar Items"]
    block = (
        await get_json(api, f"{stack.recommender_url}/users/42/recommendations", models=first)
    )["blocks"][0]
    film = block["items"][0]
    movie = await get_json(api, f"{stack.catalog_url}/movies/{film['id']}")
    reviews = await get_json(api, f"{stack.catalog_url}/users/42/reviews", limit=1000)
    ratings = {r["movie"]["id"]: r["rating"] for r in reviews["data"]}
    neighbours = (
        await get_json(
            api, f"{stack.recommender_url}/users/42/similar", model=sims, item=film["id"],
            rerank="false",
        )
    )["block"]["items"]
    liked = [m["title"] for m in neighbours if ratings.get(m["id"], 0) >= 4][:5]
    assert liked, "user 42 liked none of the first film's neighbours"

    await page.goto(f"/#/users/42?mode=recommendations&m1={first}&m2=none")
    row = page.locator('[data-row="model-1"]')
    await expect(row).to_have_attribute("data-state", "ready")
    opener = row.locator(f'.tile[data-movie-id="{film["id"]}"] .tile__details')
    await opener.click()
    drawer = page.get_by_role("dialog", name=film["title"])
    await expect(drawer).to_be_visible()
    year = movie["year"] if movie["year"] is not None else "Year unknown"
    await expect(drawer.locator(".drawer__facts")).to_contain_text(str(year))
    await expect(drawer.get_by_role("link", name="On IMDb")).to_have_attribute(
        "href", movie["imdb_url"]
    )
    rated = ratings.get(film["id"])
    await expect(drawer.locator(".drawer__rated")).to_have_text(
        "You have not rated it." if rated is None else f"You rated it {rated} out of 5."
    )
    await expect(drawer.locator(".drawer__liked li")).to_have_text(liked)
    # Nothing on the page (a tile's hidden text included) reaches past the window.
    assert await page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    await page.screenshot(path=str(screenshots / "fix-06-film-drawer.png"))
    await page.keyboard.press("Escape")
    await expect(drawer).to_have_count(0)
    assert await opener.evaluate("el => el === document.activeElement")
