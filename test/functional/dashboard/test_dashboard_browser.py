"""The dashboard in a real browser (Playwright driving Debian's headless chromium): the pages users
look at, a running job that moves, sorting trials, a prediction, and stopping an endpoint.

Each page is saved as a PNG under $DASHBOARD_SCREENSHOTS (default: pytest's tmp dir) for review.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from container_runtime.local.endpoints import free_port, list_endpoints
from harness.dashboard import SERVING_SCRIPTS, Dashboard, Records, cli, running_job

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any, dashboard: Dashboard) -> Iterator[Any]:
    """A page that opened the dashboard with the token, as the printed URL does."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.goto(f"{dashboard.url}?token={dashboard.token}#/jobs")
    try:
        yield opened
    finally:
        context.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configured = os.environ.get("DASHBOARD_SCREENSHOTS")
    directory = Path(configured) if configured else tmp_path_factory.mktemp("screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def test_the_jobs_table_lists_a_finished_and_a_running_job(page: Any, screenshots: Path) -> None:
    page.wait_for_selector("#jobs-table tr[data-name='finished']")
    assert page.get_attribute("#jobs-table tr[data-name='finished']", "data-status") == "Completed"
    assert page.get_attribute("#jobs-table tr[data-name='running']", "data-status") == "InProgress"
    assert "accuracy=" in page.inner_text("#jobs-table tr[data-name='finished']")
    assert "Unreadable" in page.inner_text("#jobs-table tr[data-name='half-written']")
    page.select_option("#filter-status", "Completed")
    page.wait_for_function("!document.querySelector(\"#jobs-table tr[data-name='running']\")")
    assert page.is_visible("#jobs-table tr[data-name='finished']")
    page.select_option("#filter-status", "")
    page.fill("#filter-name", "fail")
    page.wait_for_function("document.querySelectorAll('#jobs-table tbody tr').length === 1")
    page.fill("#filter-name", "")
    page.screenshot(path=str(screenshots / "jobs.png"))


def test_a_running_jobs_log_grows_and_its_chart_gains_points(page: Any, records: Records, screenshots: Path) -> None:
    root = running_job(records.home / "jobs", "live-job", ["epoch=1 loss=0.9000"])
    page.goto(page.url.split("#")[0] + "#/jobs/live-job")
    page.wait_for_function("document.querySelector('#log-algo-1')?.textContent.includes('epoch=1')")
    assert page.get_attribute("svg[data-metric='loss']", "data-points") == "1"
    with (root / "logs" / "algo-1.log").open("a") as log:
        for epoch in range(2, 6):
            log.write(f"epoch={epoch} loss={0.9 / epoch:.4f}\n")
    page.wait_for_function("document.querySelector('#log-algo-1').textContent.includes('epoch=5')", timeout=15000)
    page.wait_for_function("document.querySelector(\"svg[data-metric='loss']\").dataset.points === '5'",
                           timeout=15000)
    page.fill("#log-search", "epoch=3")
    assert page.inner_text("#log-hits") == "1 matching lines"
    assert page.inner_text("#log-algo-1 mark") == "epoch=3"
    page.fill("#log-search", "")
    page.screenshot(path=str(screenshots / "job-running.png"), full_page=True)
    page.goto(page.url.split("#")[0] + "#/jobs/finished")
    page.wait_for_selector("svg[data-metric='accuracy'] circle.point")
    page.screenshot(path=str(screenshots / "job.png"), full_page=True)


def test_tuning_trials_sort_by_objective_and_the_best_is_marked(page: Any, records: Records,
                                                                  screenshots: Path) -> None:
    page.goto(page.url.split("#")[0] + f"#/tuning/{records.tuning_job}")
    page.wait_for_selector("#trials-table tbody tr")
    best = page.inner_text("#best-job")
    assert page.get_attribute("#trials-table tr.best", "data-job") == best
    assert "best" in page.inner_text("#trials-table tr.best")
    page.click("#trials-table th[data-key='objective']")  # ascending: Minimize's best first
    assert page.get_attribute("#trials-table tbody tr:first-child", "data-job") == best
    values = [float(text) for text in page.locator("#trials-table td.col-objective").all_inner_texts()]
    assert values == sorted(values)
    page.click("#trials-table th[data-key='objective']")  # descending
    assert page.get_attribute("#trials-table tbody tr:last-child", "data-job") == best
    page.fill("#trials-table input[data-filter='status']", "Completed")
    assert page.locator("#trials-table tbody tr").count() == 5
    page.fill("#trials-table input[data-filter='objective']", f"<{(values[0] + values[1]) / 2}")  # shown rounded
    assert page.locator("#trials-table tbody tr").count() == 1
    page.fill("#trials-table input[data-filter='objective']", "")
    assert page.locator("#objective-chart svg circle.point").count() == 5
    assert page.locator("#parallel-chart svg path").count() == 5
    assert page.locator("#importance-chart svg rect").count() == 3
    page.screenshot(path=str(screenshots / "tuning.png"), full_page=True)
    if page.is_visible("#open-optuna"):  # optuna-dashboard installed: the study opens in it
        with page.context.expect_page() as opened:
            page.click("#open-optuna")
        study_page = opened.value
        study_page.wait_for_load_state()
        assert "/dashboard/studies/" in study_page.url
        study_page.wait_for_selector(f"text={records.tuning_job}", timeout=20000)
        study_page.screenshot(path=str(screenshots / "optuna-dashboard.png"))
        study_page.close()
        assert page.get_attribute("#optuna-link", "href") == study_page.url
    page.click(f"#trials-table tr[data-job='{best}'] a")
    page.wait_for_selector("svg[data-metric='branin']")
    assert best in page.inner_text("h1")


def test_a_prediction_through_the_endpoint_form(page: Any, records: Records, screenshots: Path) -> None:
    page.goto(page.url.split("#")[0] + f"#/endpoints/{records.endpoint}")
    page.wait_for_function("document.querySelector('#ping-status')?.textContent === '200'")
    page.fill("#invoke-body", "[[1, 2, 3]]")
    page.click("#invoke-send")
    page.wait_for_function("document.querySelector('#invoke-answer').dataset.status === '200'")
    assert "[[16.0, 22.0]]" in page.inner_text("#invoke-answer")
    page.wait_for_function("document.querySelector('#traffic').textContent.includes('req/s')", timeout=10000)
    page.screenshot(path=str(screenshots / "endpoint.png"), full_page=True)
    page.goto(page.url.split("#")[0] + "#/endpoints")
    page.wait_for_selector(f"#endpoints-table tr[data-name='{records.endpoint}']")
    page.screenshot(path=str(screenshots / "endpoints.png"))


def test_the_stop_button_needs_the_token_and_then_stops_the_endpoint(browser: Any, dashboard: Dashboard,
                                                                     records: Records) -> None:
    deployed = cli(records.home, "deploy", "--model-data", str(records.home / "model"), "--entry-point",
                   "linear_model.py", "--source-dir", str(SERVING_SCRIPTS), "--name", "stop-me",
                   "--port", str(free_port()))
    assert deployed.returncode == 0, deployed.stderr
    without = browser.new_context()
    try:
        anonymous = without.new_page()
        anonymous.goto(f"{dashboard.url}#/endpoints/stop-me")
        anonymous.wait_for_selector("#stop-endpoint")
        assert "read only" in anonymous.inner_text("#token-state")
        anonymous.click("#stop-endpoint")
        anonymous.wait_for_function("document.querySelector('#action-message').dataset.status === '403'")
        assert "Refused" in anonymous.inner_text("#action-message")
    finally:
        without.close()
    assert "stop-me" in [record.name for record in list_endpoints(records.home / "endpoints")]
    with_token = browser.new_context()
    try:
        owner = with_token.new_page()
        owner.goto(f"{dashboard.url}?token={dashboard.token}#/endpoints/stop-me")
        owner.wait_for_selector("#stop-endpoint")
        owner.click("#stop-endpoint")
        owner.wait_for_function("document.querySelector('#action-message').dataset.status === '200'",
                                timeout=20000)
        assert owner.inner_text("#action-message") == "Stopped stop-me"
    finally:
        with_token.close()
    assert "stop-me" not in [record.name for record in list_endpoints(records.home / "endpoints")]
