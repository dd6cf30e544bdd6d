"""Test-suite guard rails: no real model calls, journals in temporary folders."""

from __future__ import annotations

import os

import pytest

# Any non-loopback model endpoint raises RealModelCallRefused while this is set.
os.environ["AGENTZOO_OFFLINE"] = "1"
for _key in ("OPENAI_API_KEY", "AGENTZOO_MODEL", "AGENTZOO_API_KEY", "OPENAI_BASE_URL", "AGENTZOO_PRICES"):
    os.environ.pop(_key, None)


@pytest.fixture
def journal(tmp_path):
    from agentzoo import Journal

    with Journal(tmp_path / "journal.db") as j:
        yield j


@pytest.fixture(autouse=True)
def _journal_env(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTZOO_JOURNAL", str(tmp_path / "cli-journal.db"))
