"""MetaGPT (#39): a software company's standard operating procedure over a message pool.

Hong et al., "MetaGPT: Meta Programming for a Multi-Agent Collaborative Framework" (ICLR 2024);
code: geekan/MetaGPT (read at ba2868974b). Five roles on a `Pipeline`, each watching the action
types upstream's fixed-SOP roles `_watch`, each document a validated structured output:

    user ─UserRequirement─▶ product_manager ─WritePRD─▶ architect ─WriteDesign─▶ project_manager
      ─WriteTasks─▶ engineer ─WriteCode (to itself)─▶ engineer ─SummarizeCode (to QA)─▶ qa_engineer
    qa_engineer: WriteTest → RunCode (tests run in the sandbox) → DebugError → RunCode …,
      RunCode's verdict goes to the engineer (the code is wrong), to itself (the tests are), or to nobody

| role | watches (upstream `_watch`) | writes |
|---|---|---|
| product_manager (Alice) | UserRequirement | PRD: `PRD` (write_prd_an.py NODES) |
| architect (Bob) | WritePRD | system design: `SystemDesign` (design_api_an.py NODES) |
| project_manager (Eve) | WriteDesign | task list: `TaskList` (project_management_an.py NODES) |
| engineer (Alex) | WriteTasks, WriteCode, WriteCodeReview; RunCode sent to it | code: `CodeFiles` |
| qa_engineer (Edward) | SummarizeCode, WriteTest, RunCode, DebugError | tests `TestSuite`, results `TestReport` |

Constants (the defaults of `build`), with their sources:
- `n_round=20` — ours. Upstream: `Team.run(n_round=3)`, the CLI's 5, raised to 8 when QA runs
  (software_company.py: "at least 8 rounds are required to run all QA actions"). Here one pass
  through the first test run takes 7 rounds and each executable-feedback retry 4 more (fix,
  hand-over, new tests, run), so 20 leaves room for the paper's retries.
- `max_debug_retries=3` — [paper] executable feedback: the engineer debugs up to 3 times. In the
  code at ba2868974b the fixed-SOP `Engineer._think` ignores the RunCode message QA sends it, so
  no fix ever happens there; here the engineer rewrites the file with the test logs (WriteCode's
  `logs` section upstream).
- `test_round_allowed=5` — qa_engineer.py; upstream's check is `test_round > test_round_allowed`,
  so QA acts 6 times and stops on the 7th with "Exceeding 5 rounds of tests, stop." (kept).
- `use_code_review=False`, `code_validate_k_times=2` — engineer.py default and config2.py; the
  CLI's `--code-review` default is True.
- `max_attempts=6` — `ActionNode._aask_v1`'s tenacity `stop_after_attempt(6)`. Upstream asks the
  same prompt again; here the validation error is fed back to the model (`write_document`).
- `max_auto_summarize_code=0` (config2.py): SummarizeCode makes no model call and hands the code
  to QA at once; only that default is implemented.
- `test_timeout=10.0` s — run_code.py `process.communicate(timeout=10)`; RunCode's prompt keeps
  stdout[:500] and stderr[:10000] (run_code.py).
- `run_tests=True` — [paper] QA is part of the SOP; upstream's CLI hires QaEngineer only with
  `--run-tests` (default False).

Other differences from upstream, on purpose:
- the roles are the classic fixed-SOP ones (`use_fixed_sop`); at ba2868974b the CLI's default
  team is TeamLeader, ProductManager, Architect, Engineer2 and DataAnalyst (RoleZero agents);
- documents are JSON validated by pydantic models keyed by upstream's node keys; code and test
  files are ```python blocks that must parse; no files are written: code lives in the messages;
- PrepareDocuments (creating the project folder) is not an action here; the product manager
  writes the PRD on the UserRequirement (upstream it watches PrepareDocuments too). The engineer
  does not watch SummarizeCode, FixBug or WriteCodePlanAndChange: they serve the auto-summary
  loop (off by default), bug reports and incremental mode, which are not implemented;
- the engineer's prompt carries the original requirement too, so a benchmark's exact signature
  and answer format reach the code; its final answer is the code: the engineer's last accepted
  reply for each file (a ```python block, and a final answer after it if the task asks for one);
- RunCode's "NoOne" verdict is sent to nobody and ends the QA loop (upstream sends it to QA
  itself, which loops until the round limit); on a RunCode whose tests passed, DebugError asks
  no model, as upstream, and publishes nothing (upstream saves an empty test file and goes on).

The recipe uses no tools (the fixed-SOP roles call none); `tools` is accepted and ignored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..prompts import render
from ..protocols import Model
from ..runtime.context import Context
from ..sandbox import ExecResult, Limits, Sandbox
from ..teams.pipeline import (NOBODY, DocumentRole, Message, MessagePool, ParseError, Pipeline,
                              PipelineResult, Turn, check_python, code_block, describe_schema, write_document)

PROMPTS = Path(__file__).parent / "prompts" / "metagpt"
ANSWER_KINDS = ("code",)  # the engineer's files, tested by QA in the sandbox

# Action types (upstream class names, the `cause_by` of messages).
USER_REQUIREMENT, WRITE_PRD, WRITE_DESIGN, WRITE_TASKS = "UserRequirement", "WritePRD", "WriteDesign", "WriteTasks"
WRITE_CODE, WRITE_CODE_REVIEW, SUMMARIZE_CODE = "WriteCode", "WriteCodeReview", "SummarizeCode"
WRITE_TEST, RUN_CODE, DEBUG_ERROR = "WriteTest", "RunCode", "DebugError"

# Role names: their addresses and journal scopes.
PM, ARCHITECT, PROJECT_MANAGER = "product_manager", "architect", "project_manager"
ENGINEER, QA = "engineer", "qa_engineer"
_SEND_TO = {"Engineer": (ENGINEER,), "QaEngineer": (QA,), "NoOne": NOBODY}  # RunCode's verdict → recipients
_TESTS_OK = re.compile(r"Ran (\d+) tests? in ([\d.]+)s\n\nOK")  # debug_error.py: nothing to debug

OPTION_SOURCES: dict[str, str] = {
    "n_round": "ours: Team.run(n_round=3) upstream, the CLI's 5 (8 with QA); one pass to the first test run takes 7 "
               "rounds here and each executable-feedback retry 4 more",
    "max_attempts": "code: ActionNode._aask_v1 tenacity stop_after_attempt(6)",
    "use_code_review": "code: engineer.py use_code_review=False (the CLI's --code-review defaults to True)",
    "code_validate_k_times": "code: config2.py code_validate_k_times = 2",
    "test_round_allowed": "code: qa_engineer.py test_round_allowed = 5 (checked as test_round > 5)",
    "max_debug_retries": "paper: executable feedback, the engineer debugs up to 3 times",
    "run_tests": "paper: QA is part of the SOP (the CLI hires QaEngineer only with --run-tests, default False)",
    "test_timeout": "code: run_code.py process.communicate(timeout=10)",
}
DEVIATIONS: list[str] = [
    "n_round=20 (ours): upstream's 3-8 rounds leave no room for the paper's executable-feedback retries here",
    "the engineer rewrites the file from the test logs (the paper's executable feedback); at ba2868974b the fixed-SOP "
    "Engineer ignores the RunCode message QA sends it",
    "a document that fails validation is sent back with the error; upstream asks the same prompt again",
    "the roles are the classic fixed-SOP ones (use_fixed_sop); the CLI's default team at ba2868974b is "
    "TeamLeader, ProductManager, Architect, Engineer2 and DataAnalyst",
    "documents are JSON validated against upstream's node keys; code lives in the messages, no files are written",
    "PrepareDocuments, SummarizeCode's model call (max_auto_summarize_code=0), FixBug and incremental mode are not "
    "implemented",
    "RunCode's 'NoOne' verdict ends the QA loop (upstream sends it to QA itself, which loops until the round limit)",
]


# --- the documents ---------------------------------------------------------------------------


class _Document(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")


class PRD(_Document):
    """The product manager's PRD: upstream's WritePRD node keys and types (write_prd_an.py `NODES`)."""

    language: str = Field(alias="Language")
    programming_language: str = Field(alias="Programming Language")
    original_requirements: str = Field(alias="Original Requirements")
    project_name: str = Field(alias="Project Name")
    product_goals: list[str] = Field(alias="Product Goals")
    user_stories: list[str] = Field(alias="User Stories")
    competitive_analysis: list[str] = Field(alias="Competitive Analysis")
    competitive_quadrant_chart: str = Field(alias="Competitive Quadrant Chart")
    requirement_analysis: str = Field(alias="Requirement Analysis")
    requirement_pool: list[list[str]] = Field(alias="Requirement Pool")
    ui_design_draft: str = Field(alias="UI Design draft")
    anything_unclear: str = Field(alias="Anything UNCLEAR")


class SystemDesign(_Document):
    """The architect's design: upstream's WriteDesign node keys and types (design_api_an.py `NODES`);
    upstream's two Optional keys may be left out, and the file list must name a file (ours)."""

    implementation_approach: str = Field(alias="Implementation approach")
    file_list: list[str] = Field(alias="File list", min_length=1)
    data_structures_and_interfaces: str | None = Field(None, alias="Data structures and interfaces")
    program_call_flow: str | None = Field(None, alias="Program call flow")
    anything_unclear: str = Field(alias="Anything UNCLEAR")


class TaskList(_Document):
    """The project manager's tasks: upstream's WriteTasks node keys and types (project_management_an.py
    `NODES`); the task list must name a file (ours: the engineer needs one)."""

    required_packages: list[str] | None = Field(None, alias="Required packages")
    other_language_packages: list[str] = Field(alias="Required Other language third-party packages")
    logic_analysis: list[list[str]] = Field(alias="Logic Analysis")
    task_list: list[str] = Field(alias="Task list", min_length=1)
    full_api_spec: str = Field(alias="Full API spec")
    shared_knowledge: str = Field(alias="Shared Knowledge")
    anything_unclear: str = Field(alias="Anything UNCLEAR")


class SourceFile(_Document):
    """One file the engineer (or, for tests, the QA engineer) wrote; Python must parse."""

    filename: str
    code: str

    @model_validator(mode="after")
    def _parses(self) -> SourceFile:
        if self.filename.endswith(".py"):
            check_python(self.code, self.filename)
        return self


class CodeFiles(_Document):
    """A WriteCode / WriteCodeReview message: every file of the code as it now is, in task order,
    and the engineer's accepted reply for each file written in this act."""

    files: dict[str, str] = Field(min_length=1)
    replies: dict[str, str]

    @field_validator("files")
    @classmethod
    def _python_parses(cls, files: dict[str, str]) -> dict[str, str]:
        for name, code in files.items():
            if name.endswith(".py"):
                check_python(code, name)
        return files


class CodeReview(_Document):
    """WriteCodeReview's verdict (write_code_review.py: LGTM, or LBTM and a rewrite)."""

    review: list[str] = Field(alias="Code Review")
    result: Literal["LGTM", "LBTM"] = Field(alias="Code Review Result")


class TestSuite(_Document):
    """A WriteTest / DebugError message: the test file for one code file."""

    code_filename: str
    test_filename: str
    test_code: str

    @field_validator("test_code")
    @classmethod
    def _parses(cls, code: str) -> str:
        return check_python(code, "the test file")


class TestVerdict(_Document):
    """RunCode's summary of a test run (run_code.py's sections: instruction, file to rewrite, status, send to)."""

    instruction: str = Field(alias="Instruction")
    file_to_rewrite: str = Field(alias="File To Rewrite")
    status: Literal["PASS", "FAIL"] = Field(alias="Status")
    send_to: Literal["NoOne", "Engineer", "QaEngineer"] = Field(alias="Send To")


class TestReport(TestVerdict):
    """A RunCode message: the verdict and the run it judged."""

    code_filename: str
    test_filename: str
    passed: bool
    """The test program exited without an error."""
    stdout: str
    stderr: str


SCHEMAS: dict[str, type[BaseModel]] = {
    WRITE_PRD: PRD, WRITE_DESIGN: SystemDesign, WRITE_TASKS: TaskList, WRITE_CODE: CodeFiles,
    WRITE_CODE_REVIEW: CodeFiles, WRITE_TEST: TestSuite, DEBUG_ERROR: TestSuite, RUN_CODE: TestReport,
}
"""What the documents of each action type must validate against when they reach another stage."""


# --- the recipe --------------------------------------------------------------------------------


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, n_round: int = 20, max_attempts: int = 6,
          use_code_review: bool = False, code_validate_k_times: int = 2, test_round_allowed: int = 5,
          max_debug_retries: int = 3, run_tests: bool = True, test_timeout: float = 10.0, tier: str = "auto",
          limits: Limits | None = None, allow_unsafe: bool = False) -> MetaGPT:
    """MetaGPT with the paper's and code's constants (see the module docstring for each source)."""
    return MetaGPT(model, system=system, sampling=sampling, n_round=n_round, max_attempts=max_attempts,
                   use_code_review=use_code_review, code_validate_k_times=code_validate_k_times,
                   test_round_allowed=test_round_allowed, max_debug_retries=max_debug_retries, run_tests=run_tests,
                   test_timeout=test_timeout, tier=tier, limits=limits, allow_unsafe=allow_unsafe)


class MetaGPT:
    """The SOP team as an agent. Each run gets its own pipeline and its own sandbox (started on
    the first test run performed live, so a replay starts none; closed at the end of the run)."""

    name = "metagpt"

    def __init__(self, model: Model, *, system: str | None = None, sampling: Mapping[str, Any] | None = None,
                 n_round: int = 20, max_attempts: int = 6, use_code_review: bool = False,
                 code_validate_k_times: int = 2, test_round_allowed: int = 5, max_debug_retries: int = 3,
                 run_tests: bool = True, test_timeout: float = 10.0, tier: str = "auto",
                 limits: Limits | None = None, allow_unsafe: bool = False) -> None:
        self.model, self.system, self.sampling = model, system, dict(sampling or {})
        self.n_round, self.max_attempts, self.run_tests = n_round, max_attempts, run_tests
        self.use_code_review, self.code_validate_k_times = use_code_review, code_validate_k_times
        self.test_round_allowed, self.max_debug_retries = test_round_allowed, max_debug_retries
        self.test_timeout = test_timeout
        self.tier, self.limits, self.allow_unsafe = tier, limits, allow_unsafe

    async def run(self, task: str, ctx: Context) -> PipelineResult:
        sandbox = _LazySandbox(self.tier, self.limits, self.allow_unsafe)
        try:
            return await self.team(sandbox).run(task, ctx)
        finally:
            await sandbox.close()

    def team(self, sandbox: _LazySandbox | None = None) -> Pipeline:
        kit = _Kit(self.model, self.system, self.sampling, self.max_attempts)
        roles: list[Any] = [
            kit.document_role(PM, [USER_REQUIREMENT], WRITE_PRD, PRD, "write_prd.j2",
                              lambda turn: {"requirement": turn.task}),
            kit.document_role(ARCHITECT, [WRITE_PRD], WRITE_DESIGN, SystemDesign, "write_design.j2",
                              lambda turn: {"prd": _doc_text(turn.news[0])}),
            kit.document_role(PROJECT_MANAGER, [WRITE_DESIGN], WRITE_TASKS, TaskList, "write_tasks.j2",
                              lambda turn: {"design": _doc_text(turn.news[0])}),
            Engineer(kit, use_code_review=self.use_code_review, code_validate_k_times=self.code_validate_k_times,
                     max_debug_retries=self.max_debug_retries),
        ]
        if self.run_tests:
            roles.append(QaEngineer(kit, sandbox or _LazySandbox(self.tier, self.limits, self.allow_unsafe),
                                    test_round_allowed=self.test_round_allowed, test_timeout=self.test_timeout))
        return Pipeline(roles, n_round=self.n_round, schemas=SCHEMAS, answer=final_answer, name=self.name)


def final_answer(pool: MessagePool) -> str | None:
    """The code: for each file of the latest version, the engineer's last accepted reply that wrote it."""
    versions = pool.find([WRITE_CODE, WRITE_CODE_REVIEW], sent_from=ENGINEER)
    if not versions:
        return None
    replies: dict[str, str] = {}
    for message in versions:
        replies.update(CodeFiles.model_validate(message.document).replies)
    files = CodeFiles.model_validate(versions[-1].document).files
    return "\n\n".join(replies[name] for name in files if name in replies)


class _Kit:
    """What every role shares: the model, prompts, sampling and the document retry policy."""

    def __init__(self, model: Model, system: str | None, sampling: dict[str, Any], max_attempts: int) -> None:
        self.model, self.system, self.sampling, self.max_attempts = model, system, sampling, max_attempts

    def messages(self, role: str, template: str, **variables: Any) -> list[dict[str, Any]]:
        return [{"role": "system", "content": render(PROMPTS / "system.j2", system=self.system, **_roles()[role])},
                {"role": "user", "content": render(PROMPTS / template, **variables)}]

    def feedback(self, error: str) -> str:
        return render(PROMPTS / "feedback.j2", error=error)

    async def write(self, ctx: Context, role: str, template: str, schema: type[BaseModel], *,
                    parse: Any = None, **variables: Any) -> Any:
        return await write_document(ctx, self.model, self.messages(role, template, **variables), schema, parse=parse,
                                    max_attempts=self.max_attempts, feedback=self.feedback, sampling=self.sampling)

    def document_role(self, name: str, watch: list[str], action: str, schema: type[BaseModel], template: str,
                      variables: Any) -> DocumentRole:
        def prompt(turn: Turn) -> list[dict[str, Any]]:
            return self.messages(name, template, format=_format(schema), **variables(turn))

        return DocumentRole(name, self.model, watch=watch, action=action, schema=schema, prompt=prompt,
                            max_attempts=self.max_attempts, feedback=self.feedback, sampling=self.sampling)


class Engineer:
    """Writes every file of the task list (WriteTasks), hands the code to QA (SummarizeCode, after
    its own WriteCode message, as upstream), and rewrites it from the test logs when QA's RunCode
    verdict is sent to it, at most `max_debug_retries` times. Acts on its first news, as upstream."""

    name = ENGINEER
    watch = frozenset({WRITE_TASKS, WRITE_CODE, WRITE_CODE_REVIEW})

    def __init__(self, kit: _Kit, *, use_code_review: bool, code_validate_k_times: int,
                 max_debug_retries: int) -> None:
        self.kit, self.use_code_review = kit, use_code_review
        self.code_validate_k_times, self.max_debug_retries = code_validate_k_times, max_debug_retries

    async def act(self, turn: Turn, ctx: Context) -> Message | None:
        news = turn.news[0]
        if news.cause_by == WRITE_TASKS:
            return await self._write(turn, ctx, _task_list(turn.pool), {}, None)
        if news.cause_by in (WRITE_CODE, WRITE_CODE_REVIEW):  # max_auto_summarize_code=0: no summary call
            files = news.document["files"]  # type: ignore[index]
            return Message(f"Coding is complete. The files: {', '.join(files)}", SUMMARIZE_CODE, send_to=(QA,))
        if news.cause_by == RUN_CODE:
            fixes = len(turn.pool.find([WRITE_CODE, WRITE_CODE_REVIEW], sent_from=ENGINEER)) - 1
            if fixes >= self.max_debug_retries:
                return None
            report = TestReport.model_validate(news.document)
            files = _code(turn.pool)
            todo = [report.file_to_rewrite] if report.file_to_rewrite in files else list(files)
            return await self._write(turn, ctx, todo, files, report)
        return None

    async def _write(self, turn: Turn, ctx: Context, todo: list[str], files: dict[str, str],
                     report: TestReport | None) -> Message:
        files, replies = dict(files), {}
        for filename in todo:
            written = await self.kit.write(
                ctx, ENGINEER, "write_code.j2", SourceFile, parse=_source_parser(filename),
                requirement=turn.task, design=_doc_text(turn.pool.latest(WRITE_DESIGN)),
                tasks=_doc_text(turn.pool.latest(WRITE_TASKS)), filename=filename,
                others={n: c for n, c in files.items() if n != filename}, current=files.get(filename, ""),
                logs=_logs(report) if report else "", instruction=report.instruction if report else "")
            code, reply = written.document.code, written.text
            if self.use_code_review:
                code, reply = await self._review(turn, ctx, filename, code, reply)
            files[filename], replies[filename] = code, reply
        tasks = _task_list(turn.pool)
        order = [n for n in tasks if n in files] + [n for n in files if n not in tasks]
        action = WRITE_CODE_REVIEW if self.use_code_review else WRITE_CODE
        return Message("\n\n".join(replies.values()), action, send_to=(ENGINEER,),
                       document={"files": {n: files[n] for n in order}, "replies": replies})

    async def _review(self, turn: Turn, ctx: Context, filename: str, code: str, reply: str) -> tuple[str, str]:
        """WriteCodeReview: up to `code_validate_k_times` reviews; LBTM → rewrite, LGTM → done."""
        for _ in range(self.code_validate_k_times):
            review = (await self.kit.write(ctx, ENGINEER, "review_code.j2", CodeReview, format=_format(CodeReview),
                                           design=_doc_text(turn.pool.latest(WRITE_DESIGN)),
                                           tasks=_doc_text(turn.pool.latest(WRITE_TASKS)),
                                           filename=filename, code=code)).document
            if review.result == "LGTM":
                break
            written = await self.kit.write(ctx, ENGINEER, "rewrite_code.j2", SourceFile,
                                           parse=_source_parser(filename), requirement=turn.task,
                                           filename=filename, code=code, review=review.review)
            code, reply = written.document.code, written.text
        return code, reply


class QaEngineer:
    """Tests the code: WriteTest on SummarizeCode, RunCode (in the sandbox, then a verdict) on its
    own WriteTest or DebugError, DebugError (rewrites its tests) on its own RunCode; after
    `test_round_allowed` rounds it stops (qa_engineer.py `_act`)."""

    name = QA
    watch = frozenset({SUMMARIZE_CODE, WRITE_TEST, RUN_CODE, DEBUG_ERROR})

    def __init__(self, kit: _Kit, sandbox: _LazySandbox, *, test_round_allowed: int, test_timeout: float) -> None:
        self.kit, self.sandbox = kit, sandbox
        self.test_round_allowed, self.test_timeout = test_round_allowed, test_timeout

    async def act(self, turn: Turn, ctx: Context) -> list[Message]:
        # Upstream counts the rounds that did something; once over the limit every act stops,
        # so counting every act is the same.
        if turn.acts > self.test_round_allowed:
            stop = f"Exceeding {self.test_round_allowed} rounds of tests, stop."
            return [Message(stop, WRITE_TEST, send_to=NOBODY)]
        out: list[Message] = []
        for news in turn.news:
            if news.cause_by == SUMMARIZE_CODE:
                out += await self._write_tests(turn, ctx)
            elif news.cause_by in (WRITE_TEST, DEBUG_ERROR):
                out.append(await self._run(turn, ctx, TestSuite.model_validate(news.document)))
            elif news.cause_by == RUN_CODE:
                message = await self._debug(turn, ctx, TestReport.model_validate(news.document))
                out += [message] if message else []
        out.append(Message(f"Round {turn.acts + 1} of tests done", WRITE_TEST, send_to=NOBODY))
        return out

    async def _write_tests(self, turn: Turn, ctx: Context) -> list[Message]:
        out = []
        for filename, code in _code(turn.pool).items():
            if "test" in filename or not filename.endswith(".py"):
                continue
            test_filename = f"test_{Path(filename).name}"
            written = await self.kit.write(ctx, QA, "write_test.j2", SourceFile,
                                           parse=_source_parser(test_filename), filename=filename, code=code,
                                           test_filename=test_filename, module=filename[:-3].replace("/", "."))
            suite = TestSuite(code_filename=filename, test_filename=test_filename, test_code=written.document.code)
            out.append(Message(written.text, WRITE_TEST, send_to=(QA,), document=suite.model_dump()))
        return out

    async def _run(self, turn: Turn, ctx: Context, suite: TestSuite) -> Message:
        files = _code(turn.pool)
        program = _test_program({**files, suite.test_filename: suite.test_code}, suite.test_filename)
        result = await self.sandbox.run(ctx, program, self.test_timeout)
        stderr = result.stderr
        if result.error and result.error.get("type") != "SystemExit":  # the tests did not even run
            stderr += result.error.get("traceback") or f"{result.error['type']}: {result.error['message']}"
        verdict = (await self.kit.write(
            ctx, QA, "run_code.j2", TestVerdict, format=_format(TestVerdict), filename=suite.code_filename,
            code=files.get(suite.code_filename, ""), test_filename=suite.test_filename, test_code=suite.test_code,
            command=f"python {suite.test_filename}", stdout=result.stdout[:500], stderr=stderr[:10000])).document
        report = TestReport(**verdict.model_dump(), code_filename=suite.code_filename,
                            test_filename=suite.test_filename, passed=result.ok, stdout=result.stdout, stderr=stderr)
        return Message(f"{verdict.status}: {verdict.instruction}", RUN_CODE, send_to=_SEND_TO[verdict.send_to],
                       document=report.model_dump(by_alias=True))

    async def _debug(self, turn: Turn, ctx: Context, report: TestReport) -> Message | None:
        if _TESTS_OK.search(report.stderr):
            return None  # the tests pass: nothing to debug (upstream asks no model here either)
        suites = [TestSuite.model_validate(m.document) for m in turn.pool.find([WRITE_TEST, DEBUG_ERROR], QA)
                  if m.document and m.document["test_filename"] == report.test_filename]
        suite, files = suites[-1], _code(turn.pool)
        written = await self.kit.write(ctx, QA, "debug_error.j2", SourceFile,
                                       parse=_source_parser(suite.test_filename), filename=suite.code_filename,
                                       code=files.get(suite.code_filename, ""), test_filename=suite.test_filename,
                                       test_code=suite.test_code, logs=_logs(report), instruction=report.instruction)
        fixed = TestSuite(code_filename=suite.code_filename, test_filename=suite.test_filename,
                          test_code=written.document.code)
        return Message(written.text, DEBUG_ERROR, send_to=(QA,), document=fixed.model_dump())


class _LazySandbox:
    """One sandbox per run, started on the first test run performed live; each test run is a
    `sandbox/exec` effect in the QA engineer's scope, in a fresh process (`fresh=True`)."""

    def __init__(self, tier: str, limits: Limits | None, allow_unsafe: bool) -> None:
        self.tier, self.limits, self.allow_unsafe = tier, limits, allow_unsafe
        self._sandbox: Sandbox | None = None

    async def run(self, ctx: Context, program: str, timeout: float) -> ExecResult:
        async def perform() -> dict[str, Any]:
            if self._sandbox is None:
                self._sandbox = Sandbox(tier=self.tier, limits=self.limits, allow_unsafe=self.allow_unsafe)
            return (await self._sandbox.execute(program, fresh=True, timeout=timeout)).to_json()

        request = {"code": program, "fresh": True, "timeout": timeout}
        return ExecResult.from_json(await ctx.effect("sandbox", "exec", request, perform))

    async def close(self) -> None:
        if self._sandbox is not None:
            await self._sandbox.close()
            self._sandbox = None


# The test run: write the files into the fresh process's directory, import the test file, run
# every unittest case (and top-level test_ function) in it; unittest reports on stderr.
_RUNNER = """\
import json, os, runpy, sys, unittest
for _name, _text in json.loads({files}).items():
    os.makedirs(os.path.dirname(_name) or ".", exist_ok=True)
    with open(_name, "w", encoding="utf-8") as _f:
        _f.write(_text)
sys.path.insert(0, os.getcwd())
_module = runpy.run_path({test}, run_name="tests_under_run")
_suite, _seen = unittest.TestSuite(), set()
for _value in list(_module.values()):
    if isinstance(_value, type) and issubclass(_value, unittest.TestCase) and _value not in _seen:
        _seen.add(_value)
        _suite.addTests(unittest.defaultTestLoader.loadTestsFromTestCase(_value))
for _key, _value in list(_module.items()):
    if _key.startswith("test") and callable(_value) and not isinstance(_value, type):
        _suite.addTest(unittest.FunctionTestCase(_value))
_result = unittest.TextTestRunner(stream=sys.stderr, verbosity=2).run(_suite)
if not _result.wasSuccessful():
    raise SystemExit(1)
"""


def _test_program(files: dict[str, str], test_filename: str) -> str:
    return _RUNNER.format(files=repr(json.dumps(files)), test=repr(test_filename))


# --- small helpers -------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _data(name: str) -> dict[str, dict[str, str]]:
    import yaml

    return yaml.safe_load((PROMPTS / name).read_text(encoding="utf-8"))


def _roles() -> dict[str, dict[str, str]]:
    return _data("roles.yaml")


def _format(schema: type[BaseModel]) -> str:
    """The reply format of a document: its keys, their types and what each asks for (documents.yaml)."""
    return render(PROMPTS / "document.j2", keys=describe_schema(schema, _data("documents.yaml")[schema.__name__]))


def _doc_text(message: Message | None) -> str:
    return json.dumps(message.document, indent=2, ensure_ascii=False) if message and message.document else ""


def _task_list(pool: MessagePool) -> list[str]:
    tasks = pool.latest(WRITE_TASKS)
    return list(tasks.document["Task list"]) if tasks and tasks.document else []


def _code(pool: MessagePool) -> dict[str, str]:
    latest = pool.latest([WRITE_CODE, WRITE_CODE_REVIEW], sent_from=ENGINEER)
    return dict(latest.document["files"]) if latest and latest.document else {}


def _logs(report: TestReport) -> str:
    return (report.stderr[-10000:] + ("\n" + report.stdout[:500] if report.stdout else "")).strip()


def _source_parser(filename: str) -> Any:
    python = filename.endswith(".py")

    def parse(text: str) -> dict[str, str]:
        try:
            return {"filename": filename, "code": code_block(text, "python" if python else None)}
        except ParseError:
            kind = "```python code block" if python else "fenced code block"
            raise ParseError(f"the reply has no {kind} with the code of {filename}") from None

    return parse
