"""Headless Chromium for the viewer's tests and bench: the system's chromium and chromedriver
(installed by scripts/install-system-packages), driven by Selenium. Nothing is downloaded: the
driver is named by path, so Selenium Manager is never asked to fetch one."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
ARGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-default-apps", "--disable-extensions", "--window-size=1400,1000")


def find_browser() -> tuple[str, str] | None:
    """(chromium, chromedriver) paths, or None when either is missing."""
    browser = next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def start_browser(profile: Path | None = None):
    """A headless Chromium with a fresh profile (its folder is removed by `stop_browser`)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    found = find_browser()
    if found is None:
        raise RuntimeError("chromium and chromedriver are not installed (run scripts/install-system-packages)")
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager: never download anything
    browser, driver = found
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in ARGS:
        options.add_argument(arg)
    data_dir = Path(tempfile.mkdtemp(prefix="az-chromium-", dir=profile))
    options.add_argument(f"--user-data-dir={data_dir}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    chrome = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    chrome.set_page_load_timeout(30)
    chrome._az_profile = data_dir  # type: ignore[attr-defined]
    return chrome


def stop_browser(chrome) -> None:
    try:
        chrome.quit()
    finally:
        shutil.rmtree(getattr(chrome, "_az_profile", ""), ignore_errors=True)
