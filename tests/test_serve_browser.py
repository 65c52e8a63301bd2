"""The reports and `maelstrom serve` in a real browser: Debian's headless Chromium driven by
Selenium through /usr/bin/chromedriver (.ci/run installs both). Every page must load without a
console message, and a user can click from the run list to a run to its invalid key's timeline.
Skipped, with the reason, only where Chromium or its driver is not installed."""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path

import pytest

from maelstrom.reports.serve_app import make_server
from test_serve import make_store

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,900"]


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip("Chromium or chromedriver is not installed (apt-get install chromium "
                    "chromium-driver; .ci/run does this)")
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS + [f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    runs = make_store(root)
    server = make_server(root, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", runs
    server.shutdown()
    server.server_close()


def console(driver) -> list[dict]:
    """Console messages since the last call (errors, warnings, failed loads...)."""
    return driver.get_log("browser")


def test_every_report_page_loads_without_console_messages(browser, served):
    base, runs = served
    console(browser)
    pages = ["/", "/?invalid=1"]
    for label, run in runs.items():
        prefix = f"/run/lin-kv/{run.name}/"
        pages.append(prefix)
        pages += [prefix + p.name for p in sorted(run.iterdir())
                  if p.suffix in (".html", ".svg", ".png")]
    assert len(pages) > 12
    for page in pages:
        browser.get(base + page)
        assert browser.execute_script("return document.readyState") == "complete"
        assert console(browser) == [], page
    # a file:// page (opened from the store without serve) too
    run = runs["invalid"]
    browser.get((run / "cluster.html").as_uri())
    assert console(browser) == []


def test_click_from_run_list_to_the_invalid_keys_timeline(browser, served):
    from selenium.webdriver.common.by import By

    base, runs = served
    console(browser)
    browser.get(base + "/")
    rows = browser.find_elements(By.CSS_SELECTOR, "tr.run")
    assert [r.get_attribute("data-verdict") for r in rows] == ["invalid", "valid"]
    browser.find_element(By.ID, "only-invalid").click()
    links = browser.find_elements(By.CSS_SELECTOR, "a.run-link")
    assert [a.text for a in links] == [f"lin-kv/{runs['invalid'].name}"]
    links[0].click()
    assert browser.find_element(By.ID, "verdict").text == "invalid"
    assert browser.current_url.endswith(f"/run/lin-kv/{runs['invalid'].name}/")
    browser.find_element(By.CSS_SELECTOR, "a.timeline").click()
    assert browser.current_url.endswith("/timeline-0.html")
    assert browser.title == "timeline, key 0"
    boxes = browser.find_elements(By.CSS_SELECTOR, "div.op")
    culprit = browser.find_elements(By.CSS_SELECTOR, "div.op.culprit")
    assert len(boxes) > 10 and len(culprit) == 1
    assert culprit[0].is_displayed() and culprit[0].size["height"] > 0
    # and from the timeline to the counterexample and back
    browser.find_element(By.LINK_TEXT, "counterexample").click()
    assert browser.current_url.endswith("/linear-0.html")
    browser.find_element(By.LINK_TEXT, "timeline of this key").click()
    assert browser.current_url.endswith("/timeline-0.html")
    browser.find_element(By.LINK_TEXT, "cluster view").click()
    assert browser.find_elements(By.CSS_SELECTOR, "g.counterexample")
    assert console(browser) == []
