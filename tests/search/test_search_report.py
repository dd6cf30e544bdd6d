"""A search's cost beside its success in the eval report: nodes (counted from its journal scopes), calls, tokens."""

from __future__ import annotations

import json

from agentzoo.envs.gridworld import GridWorld
from agentzoo.eval.harness import EvalConfig, run_eval
from agentzoo.eval.matrix import Sample
from agentzoo.eval.report import search_nodes, write_reports


async def test_the_report_shows_search_nodes_calls_and_tokens_beside_success(tmp_path):
    env = GridWorld()
    tasks = env.tasks()[:2]
    samples = [Sample(env.name, t, agent, "oracle", 0) for t in tasks for agent in ("tree-search", "tool-calling")]
    await run_eval(samples, {env.name: env}, EvalConfig(out=tmp_path, concurrency=2))
    write_reports(tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    groups = {g["agent"]: g for g in summary["groups"]}
    assert groups["tree-search"]["success"]["rate"] == 1.0
    assert groups["tree-search"]["search"]["nodes_per_sample"] >= 6  # the shortest path is 6 moves
    assert groups["tool-calling"]["search"] is None
    markdown = (tmp_path / "summary.md").read_text()
    section = markdown.split("### gridworld: search", 1)[1].split("###", 1)[0]
    assert "| tree-search | oracle | 100.0%" in section
    assert "| tool-calling | oracle | 100.0% [100.0, 100.0] | — | — |" in section  # beside it, for comparison


def test_nodes_are_counted_per_search_scope():
    row = {"scopes": {"search/node#1/policy": {}, "search/node#1/env": {}, "search/node#2/policy": {},
                      "team/a/search/node#1/value": {}, "nodes#3": {}, "search/reset": {}}}
    assert search_nodes(row) == 3
    assert search_nodes({"scopes": {}}) == 0 and search_nodes({}) == 0
