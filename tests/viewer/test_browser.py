"""The viewer in headless Chromium: the runs list, a team run's scope tree, a sandbox effect, the
diff of a fork, an eval summary with its plot, a run updating live, and hostile text shown as
text. Each test keeps a screenshot (in the pytest temporary folder `viewer-screenshots*`, or in
$AGENTZOO_SCREENSHOTS when set).

Chromium and chromedriver come from scripts/install-system-packages; without them these tests are
skipped, except in CI (CI=true), where that is a failure."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from agentzoo import Entry, Journal
from agentzoo.runtime.entry import RunInfo
from agentzoo.types import Usage
from agentzoo.viewer.app import App
from agentzoo.viewer.server import bind

from .browser import find_browser, start_browser, stop_browser
from .runs import HOSTILE, eval_folder, fork_pair, hostile_run, team_run, tool_run

if find_browser() is None or not __import__("importlib").util.find_spec("selenium"):
    if os.environ.get("CI") == "true":
        raise RuntimeError("CI needs chromium, chromedriver and selenium for the viewer's browser tests: "
                           "scripts/install-system-packages and the dev extra install them")
    pytest.skip("chromium, chromedriver or selenium is not installed (scripts/install-system-packages)",
                allow_module_level=True)

from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("site")
    path = folder / "journal.db"
    with Journal(path) as journal:
        ids = {"tool": asyncio.run(tool_run(journal)), "team": asyncio.run(team_run(journal)),
               "hostile": asyncio.run(hostile_run(journal, big=5_000_000))}
        ids["parent"], ids["fork"] = asyncio.run(fork_pair(journal))
    app = App(path, [eval_folder(folder / "results")])
    server = bind(app, port=0)
    server.start_in_thread()
    chrome = start_browser(folder)
    shots = Path(os.environ["AGENTZOO_SCREENSHOTS"]) if os.environ.get("AGENTZOO_SCREENSHOTS") else \
        tmp_path_factory.mktemp("viewer-screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    yield {"url": server.url, "ids": ids, "chrome": chrome, "path": path, "shots": shots}
    stop_browser(chrome)
    server.shutdown()
    server.server_close()
    app.close()


def wait(chrome, condition, timeout=15):
    # A page that navigates (a submitted search) can be replaced between finding an element and reading it:
    # that element is stale, and the condition is asked again on the new page.
    return WebDriverWait(chrome, timeout, poll_frequency=0.1,
                         ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
                         ).until(lambda d: condition(d))


def shot(site, name):
    site["chrome"].save_screenshot(str(site["shots"] / f"{name}.png"))


def no_errors(chrome):
    """The page logged no error (a blocked script or style would be a CSP error here)."""
    errors = [e for e in chrome.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors


def test_the_runs_list_sorts_and_searches(site):
    chrome = site["chrome"]
    chrome.get(site["url"])
    rows = chrome.find_elements(By.CSS_SELECTOR, "tr.run-row")
    assert len(rows) == 5 and chrome.find_element(By.ID, "runs-count").text == "5 runs"
    shot(site, "runs-list")
    chrome.find_element(By.LINK_TEXT, "tokens").click()
    wait(chrome, lambda d: "sort=tokens" in d.current_url)
    tokens = [int(r.find_elements(By.TAG_NAME, "td")[5].text.replace(",", ""))
              for r in chrome.find_elements(By.CSS_SELECTOR, "tr.run-row")]
    assert tokens == sorted(tokens, reverse=True)
    search = chrome.find_element(By.ID, "search")
    search.send_keys("build it")
    search.submit()
    wait(chrome, lambda d: d.find_element(By.ID, "runs-count").text == "1 run")
    no_errors(chrome)


def test_a_team_run_shows_its_scope_tree_as_a_timeline(site):
    chrome = site["chrome"]
    chrome.get(site["url"] + f"run?id={site['ids']['team']}")
    # The entries and the timeline come from two requests of the page's script: wait for both.
    wait(chrome, lambda d: len(d.find_elements(By.CSS_SELECTOR, "li.entry")) == 5
         and len(d.find_elements(By.CSS_SELECTOR, ".tl-label")) == 5)
    labels = [e.text for e in chrome.find_elements(By.CSS_SELECTOR, ".tl-label")]
    assert labels == ["(root)", "team", "coder#1", "coder#2", "lead"]
    bars = chrome.find_elements(By.CSS_SELECTOR, ".tl-bar")
    assert all(b.size["width"] > 0 for b in bars)
    assert chrome.find_element(By.ID, "answer").text == "merged answer"
    assert "4 model calls" in chrome.find_element(By.ID, "totals").text
    budget = chrome.find_element(By.ID, "budgets").text
    assert "team/coder#1 · tokens" in budget and "10 of 1,000" in budget
    shot(site, "team-run")
    chrome.find_element(By.CSS_SELECTOR, '.tl-row[data-scope="team/coder#2"] .tl-label').click()
    wait(chrome, lambda d: [e.get_attribute("data-scope") for e in d.find_elements(By.CSS_SELECTOR, "li.entry")]
         == ["team/coder#2"])
    assert "draft from coder 2" in chrome.find_element(By.CSS_SELECTOR, "li.entry").text
    no_errors(chrome)


def test_a_sandbox_effect_shows_code_output_and_the_error_it_raised(site):
    chrome = site["chrome"]
    chrome.get(site["url"] + f"run?id={site['ids']['team']}")
    entry = wait(chrome, lambda d: d.find_elements(By.CSS_SELECTOR, "li.entry.kind-sandbox"))[0]
    chrome.execute_script("arguments[0].scrollIntoView()", entry)
    blocks = {b.find_element(By.CLASS_NAME, "label").text: b.find_element(By.TAG_NAME, "pre").text
              for b in entry.find_elements(By.CSS_SELECTOR, ".block")}
    assert blocks["CODE"] == "print('partial output')\n1 / 0"
    assert blocks["STDOUT"] == "partial output"
    assert blocks["STDERR"] == "warning: <b>careful</b>"  # text, not bold
    assert blocks["RAISED"].startswith("ZeroDivisionError: division by zero")
    assert entry.find_elements(By.TAG_NAME, "b") == []
    shot(site, "sandbox-effect")


def test_the_diff_of_a_fork_highlights_the_first_divergence(site):
    chrome = site["chrome"]
    ids = site["ids"]
    chrome.get(site["url"] + f"run?id={ids['fork']}")
    chrome.find_element(By.ID, "diff-parent").click()
    row = wait(chrome, lambda d: d.find_elements(By.ID, "divergence"))[0]
    assert "first-divergence" in row.get_attribute("class")
    assert row.find_elements(By.TAG_NAME, "td")[0].value_of_css_property("outline-style") == "solid"
    note = chrome.find_element(By.ID, "divergence-note").text
    assert "seq 0" in note and 'recorded "sys", now "sys changed"' in note
    shot(site, "fork-diff")
    no_errors(chrome)


def test_an_eval_summary_shows_its_plot_and_opens_a_sample_run(site):
    chrome = site["chrome"]
    chrome.get(site["url"] + "eval?e=0")
    plot = chrome.find_element(By.ID, "plot-0")
    wait(chrome, lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth", plot) > 100)
    assert "75.0%" in chrome.find_element(By.CSS_SELECTOR, "table.summary").text
    shot(site, "eval-summary")
    chrome.find_element(By.CSS_SELECTOR, "#filter-outcome option[value=failure]").click()
    chrome.find_element(By.ID, "sample-filters").submit()
    wait(chrome, lambda d: d.find_element(By.ID, "samples-count").text == "6 samples")
    chrome.find_element(By.CSS_SELECTOR, "#sample-table a").click()
    wait(chrome, lambda d: d.find_elements(By.CSS_SELECTOR, "li.entry"))
    assert chrome.find_element(By.ID, "task").text.startswith("task ")
    no_errors(chrome)


def test_a_running_run_updates_as_effects_are_committed(site):
    chrome = site["chrome"]
    now = time.time()
    with Journal(site["path"]) as journal:
        journal.create_run(RunInfo(run_id="live-run", created_at=now, task="count slowly",
                                   config={"version": 1, "model": "scripted:x"}))
        journal.put(Entry("live-run", "", 0, "model", "scripted", {"messages": [{"role": "user", "content": "go"}]},
                          "h0", {"message": {"role": "assistant", "content": "one"}}, usage=Usage(3, 1),
                          started_at=now, ended_at=now + 0.1))
        chrome.get(site["url"] + "run?id=live-run")
        wait(chrome, lambda d: len(d.find_elements(By.CSS_SELECTOR, "li.entry")) == 1)
        assert chrome.find_element(By.ID, "live").is_displayed()
        # A side effect starts (written first as `started`), then completes in place, then the run ends.
        journal.put(Entry("live-run", "", 1, "tool", "write", {"name": "write", "arguments": "{}"}, "h1",
                          status="started", started_at=now + 0.2, ended_at=now + 0.2, side_effects=True))
        wait(chrome, lambda d: len(d.find_elements(By.CSS_SELECTOR, "li.entry")) == 2)
        assert "started" in chrome.find_elements(By.CSS_SELECTOR, "li.entry")[1].text
        journal.put(Entry("live-run", "", 1, "tool", "write", {"name": "write", "arguments": "{}"}, "h1",
                          {"content": "written", "is_error": False}, started_at=now + 0.2, ended_at=now + 0.3,
                          side_effects=True))
        journal.put(Entry("live-run", "", 2, "model", "scripted", {"messages": []}, "h2",
                          {"message": {"role": "assistant", "content": "two"}}, usage=Usage(5, 1),
                          started_at=now + 0.4, ended_at=now + 0.5))
        journal.finish_run("live-run", status="finished", answer="two")
    wait(chrome, lambda d: d.find_element(By.ID, "run-status").text == "finished")
    wait(chrome, lambda d: len(d.find_elements(By.CSS_SELECTOR, "li.entry")) == 3)
    entries = chrome.find_elements(By.CSS_SELECTOR, "li.entry")
    assert "written" in entries[1].text and "started" not in entries[1].find_element(By.CLASS_NAME, "head").text
    assert chrome.find_element(By.ID, "answer").text == "two"
    assert not chrome.find_element(By.ID, "live").is_displayed()
    shot(site, "live-run")
    no_errors(chrome)


def test_hostile_text_and_a_5mb_result_are_shown_as_text(site):
    chrome = site["chrome"]
    chrome.get(site["url"] + f"run?id={site['ids']['hostile']}")
    wait(chrome, lambda d: len(d.find_elements(By.CSS_SELECTOR, "li.entry")) == 4)
    assert chrome.execute_script("return window.__pwned === undefined")
    assert chrome.find_element(By.ID, "task").text == HOSTILE
    assert chrome.find_element(By.ID, "answer").text == HOSTILE
    reply = chrome.find_elements(By.CSS_SELECTOR, "li.entry")[2].find_element(By.CSS_SELECTOR, ".reply pre").text
    assert reply == HOSTILE
    assert chrome.find_elements(By.CSS_SELECTOR, "main b, main img:not(.shot img)") == []
    big = chrome.find_elements(By.CSS_SELECTOR, "li.entry")[3].find_elements(By.CSS_SELECTOR, ".block pre")[1]
    text = chrome.execute_script("return arguments[0].textContent", big)
    assert text.startswith(HOSTILE) and "more characters not shown: see the raw entry" in text
    shot(site, "hostile-text")
    no_errors(chrome)
