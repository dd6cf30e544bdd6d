"""Agentable (#29) defect checks: each structural check fires on a defective snippet and not on its fixed twin,
in agentzoo's idioms and third-party ones (OpenAI client, LangChain); unparsable files fail by name; the PAPERS.md
protocol: a tool with an empty description and a model reply parsed without try/except are both flagged."""

import json
import textwrap

import pytest

from agentzoo.analysis import DEFECT_TYPES, TYPE_IDS, AgentSourceError, lint_paths, lint_text, read_source
from agentzoo.analysis.checks import STRUCTURAL


def found(code: str, path: str = "<agent>/a.py") -> set[tuple[str, int]]:
    return {(f.defect, f.line) for f in lint_text(textwrap.dedent(code).lstrip("\n"), path)}


def test_the_protocol_an_empty_tool_description_and_unguarded_parsing_of_a_reply_are_flagged():
    code = '''
        import json
        from agentzoo.tools import tool
        from agentzoo.types import ModelRequest

        @tool(description="")
        def lookup(term: str) -> str:
            return term

        async def plan(ctx, model, goal):
            reply = await ctx.model(model, ModelRequest(messages=[{"role": "user", "content": goal}]))
            return json.loads(reply.text)
    '''
    findings = lint_text(textwrap.dedent(code).lstrip("\n"), "agent.py")
    assert {(f.defect, f.line, f.kind) for f in findings} == {("tool-metadata", 6, "ast"),
                                                               ("output-parsing", 11, "ast")}
    assert "empty description" in next(f.evidence for f in findings if f.defect == "tool-metadata")
    assert "json.loads() of a model reply" in next(f.evidence for f in findings if f.defect == "output-parsing")


def test_the_eight_types_are_data_and_seven_have_structural_checks():
    assert len(DEFECT_TYPES) == 8 and len(set(TYPE_IDS)) == 8
    assert all(t.description and "2412.18371" in t.source for t in DEFECT_TYPES)
    assert set(STRUCTURAL) == set(TYPE_IDS) - {"dependency"}  # dependency is checked against a manifest (deps.py)


# (defect, defective code, its fixed twin, line of the finding)
CASES = [
    ("tool-metadata", '''
        from langchain_core.tools import tool

        @tool
        def search(query: str) -> str:
            return query
     ''', '''
        from langchain_core.tools import tool

        @tool
        def search(query: str) -> str:
            """Search the web.

            Args:
                query: what to look for
            """
            return query
     ''', 4),
    ("tool-metadata", '''
        TOOLS = [{"type": "function", "function": {"name": "f", "description": "Do f.",
                  "parameters": {"type": "object", "properties": {"x": {"type": "string"}}}}}]
     ''', '''
        TOOLS = [{"type": "function", "function": {"name": "f", "description": "Do f.",
                  "parameters": {"type": "object", "properties": {"x": {"type": "string", "description": "the x"}}}}}]
     ''', 1),
    ("output-parsing", '''
        def pick(client, msgs):
            reply = client.chat.completions.create(model="gpt-4o", messages=msgs)
            return int(reply.choices[0].message.content)
     ''', '''
        def pick(client, msgs):
            reply = client.chat.completions.create(model="gpt-4o", messages=msgs)
            try:
                return int(reply.choices[0].message.content)
            except ValueError:
                return None
     ''', 3),
    ("output-parsing", '''
        import re
        async def act(ctx, model, req):
            text = (await ctx.model(model, req)).text
            return re.search(r"Action: (\\w+)", text).group(1)
     ''', '''
        import re
        async def act(ctx, model, req):
            text = (await ctx.model(model, req)).text
            m = re.search(r"Action: (\\w+)", text)
            return m.group(1) if m else None
     ''', 4),
    ("output-parsing", '''
        class Agent:
            async def _ask(self, ctx, req):
                return (await ctx.model(self.model, req)).text
            async def run(self, ctx, req):
                answer = await self._ask(ctx, req)
                return answer.split("Answer:")[1]
     ''', '''
        class Agent:
            async def _ask(self, ctx, req):
                return (await ctx.model(self.model, req)).text
            async def run(self, ctx, req):
                answer = await self._ask(ctx, req)
                return answer.split("Answer:")[1] if "Answer:" in answer else answer
     ''', 6),
    ("tool-return", '''
        from agentzoo.tools import tool

        @tool
        def log(text: str) -> None:
            """Log a line.

            Args:
                text: the line
            """
            print(text)
     ''', '''
        from agentzoo.tools import tool

        @tool
        def log(text: str) -> str:
            """Log a line.

            Args:
                text: the line
            """
            print(text)
            return "logged"
     ''', 4),
    ("tool-return", '''
        async def step(toolset, call):
            await toolset.execute(call)
     ''', '''
        async def step(toolset, call):
            outcome = await toolset.execute(call)
            return outcome.content
     ''', 2),
    ("tool-trigger", '''
        from agentzoo.tools import tool

        def a(x: str) -> str:
            """Do a.

            Args:
                x: input
            """
            return x

        TOOLS = [tool(a, name="run"), tool(a, name="run")]
     ''', '''
        from agentzoo.tools import tool

        def a(x: str) -> str:
            """Do a.

            Args:
                x: input
            """
            return x

        TOOLS = [tool(a, name="run"), tool(a, name="run_again")]
     ''', 11),
    ("tool-trigger", '''
        from agentzoo.tools import tool

        @tool
        def finish(text: str) -> str:
            """Give the FINAL ANSWER.

            Args:
                text: the answer
            """
            return text

        async def loop(ctx, model, req):
            reply = (await ctx.model(model, req)).text
            return "FINAL ANSWER" in reply
     ''', '''
        from agentzoo.tools import tool

        @tool
        def finish(text: str) -> str:
            """Hand the result back to the user.

            Args:
                text: the result
            """
            return text

        async def loop(ctx, model, req):
            reply = (await ctx.model(model, req)).text
            return "FINAL ANSWER" in reply
     ''', 4),
    ("fault-tolerance", '''
        import requests
        def fetch(url):
            return requests.post(url, json={}).json()
     ''', '''
        import requests
        def fetch(url):
            return requests.post(url, json={}, timeout=30).json()
     ''', 3),
    ("fault-tolerance", '''
        from openai import OpenAI
        client = OpenAI(max_retries=0)
        def ask(msgs):
            return client.chat.completions.create(model="gpt-4o", messages=msgs)
     ''', '''
        from openai import OpenAI
        client = OpenAI(max_retries=0)
        def ask(msgs):
            try:
                return client.chat.completions.create(model="gpt-4o", messages=msgs)
            except Exception:
                return None
     ''', 4),
    ("api-misuse", '''
        def ask(client, msgs, schema):
            return client.chat.completions.create(model="gpt-4o", messages=msgs, functions=[schema])
     ''', '''
        def ask(client, msgs, schema):
            return client.chat.completions.create(model="gpt-4o", messages=msgs, tools=[schema])
     ''', 2),
    ("api-misuse", '''
        from agentzoo.types import ModelRequest
        REQUEST = ModelRequest(messages=[], top_p=1.5)
     ''', '''
        from agentzoo.types import ModelRequest
        REQUEST = ModelRequest(messages=[], top_p=0.9)
     ''', 2),
    ("api-misuse", '''
        from agentzoo.types import ModelRequest
        REQUEST = ModelRequest(messages=[], max_new_tokens=64)
     ''', '''
        from agentzoo.types import ModelRequest
        REQUEST = ModelRequest(messages=[], max_tokens=64)
     ''', 2),
    ("model-selection", '''
        def ask(client, msgs):
            return client.chat.completions.create(model="gpt-3.5-turbo-instruct", messages=msgs, timeout=20)
     ''', '''
        def ask(client, msgs):
            return client.chat.completions.create(model="gpt-4o-mini", messages=msgs, timeout=20)
     ''', 2),
    ("model-selection", '''
        from langchain_openai import ChatOpenAI
        llm = ChatOpenAI(model="text-embedding-3-small")
     ''', '''
        from langchain_openai import ChatOpenAI
        llm = ChatOpenAI(model="gpt-4o-mini")
     ''', 2),
    ("dependency", '''
        # /// script
        # dependencies = ["openai>=1"]
        # ///
        import openai
        import bs4
     ''', '''
        # /// script
        # dependencies = ["openai>=1", "beautifulsoup4"]
        # ///
        import openai
        import bs4
     ''', 5),
]


@pytest.mark.parametrize(("defect", "bad", "good", "line"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_each_check_fires_on_the_defect_and_not_on_its_fixed_twin(defect, bad, good, line):
    assert (defect, line) in found(bad)
    assert not {f for f in found(good) if f[0] == defect}


def test_every_defect_type_has_a_positive_case_here():
    assert {c[0] for c in CASES} == set(TYPE_IDS)


def test_the_dependency_check_reads_the_nearest_manifest_and_skips_optional_imports(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "bot"\ndependencies = ["httpx"]\n'
                                             '[project.optional-dependencies]\nyaml = ["PyYAML"]\n')
    (tmp_path / "pkg").mkdir()
    agent = tmp_path / "pkg" / "agent.py"
    agent.write_text("import os\nimport httpx\nimport yaml\nimport numpy\nimport helpers\n"
                     "try:\n    import rich\nexcept ImportError:\n    rich = None\n")
    (tmp_path / "pkg" / "helpers.py").write_text("")
    [finding] = [f for f in lint_paths([agent])[0] if f.defect == "dependency"]
    assert finding.line == 4 and "'numpy'" in finding.evidence and "pyproject.toml" in finding.evidence
    no_manifest = tmp_path / "elsewhere"
    no_manifest.mkdir()
    (no_manifest / ".git").mkdir()
    (no_manifest / "a.py").write_text("import numpy\n")
    assert lint_paths([no_manifest / "a.py"]) == ([], [])  # nothing to hold the import against


def test_an_unparsable_or_missing_file_is_a_named_error_and_the_other_files_are_still_checked(tmp_path):
    (tmp_path / "broken.py").write_text("def f(:\n")
    (tmp_path / "latin.py").write_bytes(b"x = '\xe9'\n")
    (tmp_path / "ok.py").write_text("import requests\nrequests.get('http://x')\n")
    findings, errors = lint_paths([tmp_path])
    messages = sorted(str(e) for e in errors)
    assert len(errors) == 2 and all(isinstance(e, AgentSourceError) for e in errors)
    assert "broken.py:1: not Python that parses" in messages[0] and "latin.py: not UTF-8" in messages[1]
    assert [(f.defect, f.line) for f in findings] == [("fault-tolerance", 2)]
    with pytest.raises(AgentSourceError, match="nope.py: no such file"):
        read_source(tmp_path / "nope.py")
    with pytest.raises(AgentSourceError, match="no such file or folder"):
        lint_paths([tmp_path / "missing"])


def test_the_command_prints_findings_as_plain_text_and_as_json(tmp_path):
    from typer.testing import CliRunner

    from agentzoo.cli.main import app

    agent = tmp_path / "agent.py"
    agent.write_text('import requests\n\ndef f():\n    """[bold]not markup[/bold]"""\n'
                     '    return requests.get("[red]x[/red]")\n')
    result = CliRunner().invoke(app, ["lint-agents", str(agent)])
    assert result.exit_code == 1, result.output
    assert f"{agent}:5  fault-tolerance  requests.get()" in result.output
    out = CliRunner().invoke(app, ["lint-agents", "--json", str(agent)])
    data = json.loads(out.output)
    assert data["findings"][0]["line"] == 5 and data["findings"][0]["kind"] == "ast" and data["errors"] == []
    assert CliRunner().invoke(app, ["lint-agents", "--type", "dependency", str(agent)]).exit_code == 0
    assert CliRunner().invoke(app, ["lint-agents", "--type", "nonsense", str(agent)]).exit_code != 0
    listed = CliRunner().invoke(app, ["lint-agents", "--list-types"])  # needs no path
    assert listed.exit_code == 0 and all(t in listed.output for t in TYPE_IDS), listed.output
    bare = CliRunner().invoke(app, ["lint-agents"])
    assert bare.exit_code != 0 and "at least one Python file or folder" in bare.output + str(bare.exception)


def test_the_run_over_our_own_recipes_completes_and_names_real_lines():
    from pathlib import Path

    import agentzoo.recipes

    root = Path(agentzoo.recipes.__file__).parent
    findings, errors = lint_paths([root])
    assert errors == []
    for f in findings:
        lines = Path(f.file).read_text(encoding="utf-8").splitlines()
        assert 1 <= f.line <= len(lines), f
        assert f.defect in TYPE_IDS and f.evidence
