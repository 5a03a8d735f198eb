"""The console in Debian Chromium (Playwright): create a SIMS solution, a version and a
campaign against the imported ml-100k group, watch them turn ACTIVE without reloading by
hand, try the campaign (titles from the Items dataset), compare versions, and see the
API's message for a malformed filter on the form. Screenshots go to
<artifacts_dir>/screenshots/console-*.png."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from tests.engine.console.conftest import ADMIN_USERNAME
from tests.engine.helpers import recipe_arn
from tests.utils.servers import RunningServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PENDING = ("CREATE PENDING", "CREATE IN_PROGRESS")
TRAINING_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def screenshots(artifacts_dir: Path) -> Path:
    path = artifacts_dir / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(
    browser: Browser, console_engine: RunningServer, admin_password: str, screenshots: Path
) -> Iterator[Page]:
    """A signed-in page; uncaught script errors fail the test."""
    context = browser.new_context(
        base_url=console_engine.url, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto("/console/")
    expect(page).to_have_url(re.compile(r"/console/sign-in$"))
    page.screenshot(path=screenshots / "console-sign-in.png")
    page.fill("input[name=username]", ADMIN_USERNAME)
    page.fill("input[name=password]", admin_password)
    page.click("button:has-text('Sign in')")
    expect(page.locator("h1")).to_have_text("Dataset groups")
    yield page
    context.close()
    assert errors == [], f"script errors on the page: {errors}"


def watch_until_active(page: Page, badge: Locator) -> list[str]:
    """Read the badge (never reloading) until ACTIVE; the statuses seen, in order."""
    seen: list[str] = []
    deadline = time.monotonic() + TRAINING_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            text = badge.inner_text(timeout=2_000).strip()
        except Exception:  # the script reloads the page once the status settles
            continue
        if not seen or seen[-1] != text:
            seen.append(text)
        if text not in PENDING:
            break
        page.wait_for_timeout(150)
    assert seen and seen[-1] == "ACTIVE", f"statuses seen: {seen}"
    return seen


def test_create_sims_solution_version_campaign_and_try_it(
    page: Page, ml_group: dict[str, Any], popularity_campaign: dict[str, str], screenshots: Path
) -> None:
    page.screenshot(path=screenshots / "console-home.png", full_page=True)
    page.click(f"a:has-text('{ml_group['name']}')")
    datasets = page.locator("#datasets")
    expect(datasets).to_contain_text("TITLE")
    expect(datasets).to_contain_text("1,682 records")  # u.item has 1,682 films
    items_job = datasets.locator(".dataset", has_text="Items").locator("tbody tr").first
    expect(items_job.locator("td.num")).to_have_text("1,682")
    expect(datasets.locator(".status").filter(has_text="ACTIVE")).to_have_count(
        4
    )  # 2 datasets, 2 jobs
    expect(page.locator(f"#versions [data-arn='{popularity_campaign['version']}']")).to_have_text(
        "ACTIVE"
    )
    page.screenshot(path=screenshots / "console-group.png", full_page=True)

    # A SIMS solution, recipe chosen from the list.
    page.click("#solutions summary")
    form = page.locator("#create-solution")
    form.locator("input[name=solution_name]").fill("console-sims")
    form.locator("select[name=recipe_arn]").select_option(recipe_arn("aws-sims"))
    form.locator("button[type=submit]").click()
    expect(page.locator("h1")).to_contain_text("console-sims")
    solution_badge = page.locator("h1 .status")
    assert watch_until_active(page, solution_badge)[0] in PENDING

    # A version: the row appears pending and turns ACTIVE while we only watch.
    page.click("#create-version button")
    version_badge = page.locator("#versions tbody tr").first.locator(".status")
    seen = watch_until_active(page, version_badge)
    assert seen[0] in PENDING and len(seen) >= 2, seen
    row = page.locator("#versions tbody tr").first
    expect(row.locator("td.num").nth(1)).to_have_text(re.compile(r"^0\.\d{4}$"))  # coverage
    page.screenshot(path=screenshots / "console-solution.png", full_page=True)

    # A campaign on that version.
    campaign_form = page.locator("#create-campaign")
    campaign_form.locator("input[name=campaign_name]").fill("console-sims-campaign")
    campaign_form.locator("button[type=submit]").click()
    expect(page.locator("h1")).to_contain_text("console-sims-campaign")
    seen = watch_until_active(page, page.locator("h1 .status"))
    assert seen[0] in PENDING, seen
    expect(page.locator("#min-tps")).to_have_text("1")

    # Try it: items similar to Toy Story, shown with their titles.
    page.fill("#try-form input[name=item_id]", "1")
    page.fill("#try-form input[name=num]", "10")
    page.click("#try-form button")
    expect(page.locator("#try")).to_contain_text("Items similar to Toy Story (1995)")
    titles = page.locator("#results .title")
    expect(titles).to_have_count(10)
    for text in titles.all_inner_texts():
        assert not text.isdigit(), f"an id instead of a title: {text}"
    assert sum(bool(re.search(r"\(\d{4}\)$", t)) for t in titles.all_inner_texts()) >= 8
    page.screenshot(path=screenshots / "console-campaign.png", full_page=True)

    # Update it (UpdateCampaign, the deployed version again): the latest update turns ACTIVE.
    expect(page.locator("#update-campaign input[name=min_tps]")).to_have_count(0)
    page.click("#update-campaign button")
    watch_until_active(page, page.locator("dl.facts [data-field=update]"))
    expect(page.locator("#min-tps")).to_have_text("1")

    # Compare the console's SIMS version with the popularity version made through boto3.
    page.click(f"nav.crumbs a:has-text('{ml_group['name']}')")
    boxes = page.locator("#versions input[name=version]")
    expect(boxes).to_have_count(2)
    for i in range(2):
        boxes.nth(i).check()
    page.click("#versions button:has-text('Compare selected')")
    expect(page.locator("h1")).to_have_text("Compare solution versions")
    expect(page.locator("svg.chart rect")).to_have_count(16)  # 8 metrics x 2 versions
    expect(page.locator("#compare-table tbody tr")).to_have_count(9)
    expect(page.locator("#compare-table thead")).to_contain_text("console-sims")
    page.screenshot(path=screenshots / "console-compare.png", full_page=True)


def test_malformed_filter_shows_the_api_message(
    page: Page, ml_group: dict[str, Any], screenshots: Path
) -> None:
    page.goto(f"/console/groups/{ml_group['name']}")
    page.click("#filters summary")
    page.fill("#create-filter input[name=filter_name]", "broken-filter")
    page.fill("#create-filter input[name=expression]", "EXCLUDE ItemID WHERE Items.GENRES IN")
    page.click("#create-filter button")
    error = page.locator("#filters .form-error")
    expect(error).to_contain_text("Invalid filter expression:")
    expect(page.locator("#create-filter input[name=expression]")).to_have_value(
        "EXCLUDE ItemID WHERE Items.GENRES IN"
    )
    page.locator("#filters").screenshot(path=screenshots / "console-filter-error.png")

    # A good expression goes through and turns ACTIVE on the page.
    page.fill("#create-filter input[name=filter_name]", "no-drama")
    page.fill(
        "#create-filter input[name=expression]", 'EXCLUDE ItemID WHERE Items.GENRES IN ("Drama")'
    )
    page.click("#create-filter button")
    row = page.locator("#filters tbody tr", has_text="no-drama")
    watch_until_active(page, row.locator(".status"))

    # Delete it (DeleteFilter, after the confirmation): the row goes once it is gone.
    page.on("dialog", lambda dialog: dialog.accept())
    page.locator("#filters tbody tr", has_text="no-drama").locator(
        "button:has-text('Delete')"
    ).click()
    expect(page.locator("#filters tbody tr", has_text="no-drama")).to_have_count(0, timeout=20_000)
    expect(page.locator("#filters")).to_contain_text("No filters.")
