"""The one error tree of agentzoo.

    AgentzooError
    ├── UserError                    your fault: fix the call, config or definition
    │   ├── ConfigError              a bad config value or model string (names file / key)
    │   ├── ToolDefinitionError      a function that cannot become a tool
    │   ├── RealModelCallRefused     a real endpoint was called while AGENTZOO_OFFLINE=1 (tests)
    │   ├── SandboxUnavailable       no isolation tier works here and unsafe execution was not asked for
    │   ├── UnusablePathError        a file or folder to use is of the wrong kind, or cannot be created or written
    │   └── CorruptResultsError      an eval results.db (or rows of it) that cannot be read
    ├── ModelError                   the model or its provider failed
    │   ├── ProviderError            HTTP-level failure of an endpoint (status, retryable)
    │   │   ├── AuthenticationError  401 / 403 (never retried; never shows the key)
    │   │   ├── RateLimitError       429 that may be retried
    │   │   ├── QuotaExceededError   429 insufficient_quota (never retried)
    │   │   ├── ContextLengthError   the prompt is too long for the model
    │   │   ├── BadRequestError      400 / 404 / 422
    │   │   ├── ServerError          5xx / 529
    │   │   ├── ProviderTimeout      connect or read timeout, or the overall deadline
    │   │   ├── ProviderConnectionError  could not connect
    │   │   ├── ProtocolError        a 200 that is not a chat completion (HTML, bad JSON, cut stream)
    │   │   └── ResponseTooLargeError  a response over the model's `max_response_bytes` (never retried)
    │   ├── ModelLoadError           a local model file llama.cpp could not load (memory, format)
    │   └── UnexpectedModelBehavior  the model answered, but not usably; fed back to it
    │       ├── FormatError          its text did not parse; `message_for_model` says why
    │       └── TooManyToolCallsError  more tool calls in one reply than the model's `max_tool_calls`
    ├── ToolError                    a tool call failed; the agent feeds it back to the model
    │   ├── ToolArgumentsError       arguments not JSON, wrong types, too large
    │   ├── UnknownToolError         no tool by that name (lists the tools there are)
    │   ├── ToolErrorLimit           too many consecutive tool errors in one run
    │   └── McpToolError             an MCP server's tool failed (its own isError answer); fed back
    │       ├── McpTimeoutError      no answer within the call's timeout
    │       ├── McpResultTooLargeError  an answer over the server's byte limit (says how big)
    │       └── McpOutputSchemaError  an answer that breaks the tool's declared output schema
    ├── McpServerError               an MCP server failed; ends the run (infrastructure)
    │   ├── McpStartError            it could not be started or reached (names the command, its stderr)
    │   ├── McpServerDied            it exited or hung up in the middle of a call
    │   └── McpSchemaError           it declares a tool with a schema that is not JSON Schema
    ├── JournalError                 the run journal cannot serve or take an entry
    │   ├── DivergenceError          replay: the request differs from the recorded one
    │   ├── ReplayMissingError       replay: the journal has no entry for this effect
    │   ├── InterruptedEffectError   resume: a side-effecting tool started and never finished
    │   ├── RunNotFoundError
    │   ├── CorruptJournalError      the journal file, or a row of it, is not what agentzoo wrote
    │   ├── JournalUnavailableError  the journal's database server cannot be reached or refuses us
    │   └── SerializationError       a value that is not plain JSON reached the journal
    ├── RemoteAgentError             a remote agent (A2A) could not be asked, or did not answer
    │   ├── RemoteAgentUnreachable   no connection to its server (names the URL)
    │   ├── AgentCardError           its agent card could not be read, or offers no way to call it
    │   ├── RemoteAuthError          its server refused our key (401 / 403; the key is never shown)
    │   ├── RemoteTimeout            no answer within the deadline (the remote task is asked to cancel)
    │   ├── RemoteReplyTooLarge      a reply over the cap (reading stopped there)
    │   └── RemoteTaskFailed         the remote task ended failed, rejected, canceled, or asking for input
    ├── SandboxError                 the sandbox worker could not be started or talked to
    ├── BudgetExceeded               a budget ran out (which, where, limit and use)
    ├── StepLimitExceeded            the agent loop hit its step limit without an answer
    └── ReplayedError                replay of an effect that failed when it was recorded

Control leaves the agent loop by these exceptions; a failure that is the model's doing
(`UnexpectedModelBehavior`, `ToolError` but `ToolErrorLimit`) is turned into a message the
model sees, everything else ends the run with the error recorded.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class AgentzooError(Exception):
    """Base of every error agentzoo raises on purpose."""

    infrastructure: bool = False
    """True when the failure is not the task's: the provider or the sandbox broke. The eval harness
    retries such samples and counts them apart from task failures."""
    may_have_taken_effect: bool = False
    """True when the failure came after the request left and before its answer did (a server that died in
    the middle of a call): what was asked may or may not have been done. The gateway marks such a failed
    side-effecting effect, so that resume asks before performing it again, as after a crash."""


# --- your fault -----------------------------------------------------------------------------


class UserError(AgentzooError):
    """The caller's mistake: a bad argument, config or definition."""


class ConfigError(UserError):
    """A bad configuration value; the message names the source and key."""


class UntrustedCodeError(ConfigError):
    """A journal, bundle or spec names code to import that the user has not consented to load."""


class ToolDefinitionError(UserError):
    """A Python function that cannot be turned into a tool."""


class RealModelCallRefused(UserError):
    """A call to a non-loopback model endpoint while `AGENTZOO_OFFLINE=1` is set."""


class SandboxUnavailable(UserError):
    """The requested sandbox tier does not work on this machine; the message says why and what to do."""


class UnusablePathError(UserError):
    """A file or folder agentzoo must use is the wrong kind (a folder where a file goes, or the other way
    round), or cannot be created or written (a read-only folder); the message names it."""


class CorruptResultsError(UserError):
    """An eval `results.db` that is not readable as one, or rows of it that are not.

    `rows` holds the rows that could be read and `problems` says what is wrong with the others;
    rerunning the same `agentzoo eval` runs the unreadable samples again and replaces their rows.
    """

    def __init__(self, message: str, *, rows: list[dict[str, Any]] | None = None,
                 problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.rows = rows or []
        self.problems = problems or []


# --- the model's (or its provider's) fault --------------------------------------------------


class ModelError(AgentzooError):
    """The model or its provider failed."""


class ProviderError(ModelError):
    """An OpenAI-compatible endpoint failed at the HTTP level.

    `status` is the HTTP status (None for network errors), `retryable` what the retry
    classifier decided, `retry_after` the server's wish in seconds, if it said one.
    """

    retryable: bool = False
    infrastructure = True

    def __init__(self, message: str, *, status: int | None = None, retryable: bool | None = None,
                 retry_after: float | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.retry_after = retry_after
        if retryable is not None:
            self.retryable = retryable


class AuthenticationError(ProviderError):
    """401/403: the key is missing, wrong, or lacks access. The key itself is never shown."""


class RateLimitError(ProviderError):
    """429 that is worth retrying after the server's Retry-After."""

    retryable = True


class QuotaExceededError(ProviderError):
    """429 with `insufficient_quota`: retrying will not help until the account is topped up."""


class ContextLengthError(ProviderError):
    """The request is longer than the model's context window."""

    infrastructure = False  # the agent's conversation outgrew the model: the sample's own failure


class BadRequestError(ProviderError):
    """400/404/422: the endpoint rejected the request as malformed or unknown."""


class ServerError(ProviderError):
    """5xx or 529: the provider failed; retried."""

    retryable = True


class ProviderTimeout(ProviderError):
    """Connect or read timeout, or the call's overall deadline passed."""

    retryable = True


class ProviderConnectionError(ProviderError):
    """The endpoint could not be reached."""

    retryable = True


class ProtocolError(ProviderError):
    """A response that is not a chat completion: HTML, broken JSON, a stream cut before its end."""


class ResponseTooLargeError(ProviderError):
    """A response body (plain or streamed) longer than the model's `max_response_bytes`: reading
    stopped at the cap. Never retried, since the same request would download as much again; and
    not the infrastructure's fault in an eval (a runaway generation is the sample's own failure)."""

    infrastructure = False


class ModelLoadError(ModelError):
    """A local model (`agentzoo.models.local`) could not be loaded: not enough memory for it, or a GGUF
    file this llama.cpp cannot read (an unknown architecture, a truncated download). The message says which."""

    infrastructure = True


class UnexpectedModelBehavior(ModelError):
    """The model answered, but not in a usable way. Recoverable: the agent tells the model."""

    def __init__(self, message: str, *, message_for_model: str | None = None) -> None:
        super().__init__(message)
        self.message_for_model = message_for_model or message


class FormatError(UnexpectedModelBehavior):
    """The model's text did not follow the action format; `message_for_model` explains."""


class TooManyToolCallsError(UnexpectedModelBehavior):
    """One reply held more tool calls than the model's `max_tool_calls`: a runaway generation, not a
    slip worth feeding back (each call would need its own tool message, and the reply its context)."""


# --- tools ----------------------------------------------------------------------------------


class ToolError(AgentzooError):
    """A tool call that failed in a way the model can act on."""


class ToolArgumentsError(ToolError):
    """Arguments that are not a JSON object, fail validation, or are too large."""


class UnknownToolError(ToolError):
    """The model named a tool that does not exist."""


class ToolErrorLimit(ToolError):
    """More consecutive failed tool calls in one run than the configured bound."""


# --- MCP servers (agentzoo.net.mcp_client) --------------------------------------------------


class McpToolError(ToolError):
    """A call of an MCP server's tool failed, but the server is still there: the model reads why."""


class McpTimeoutError(McpToolError):
    """The server gave no answer to a call within its timeout (the call is cancelled)."""


class McpResultTooLargeError(McpToolError):
    """The server's answer was over its byte limit: it was read to the end but not kept."""


class McpOutputSchemaError(McpToolError):
    """The server's answer breaks the output schema it declared for the tool (or is no tool result)."""


class McpServerError(AgentzooError):
    """An MCP server failed as a whole: not the model's doing, so the run ends (and resume starts the
    server again and repeats the call that failed, unless it may have taken effect: a call of a tool that
    writes, cut by the server's death, is asked about first)."""

    infrastructure = True


class McpStartError(McpServerError):
    """The server could not be started, did not finish its handshake, or cannot be reached; names the
    command or URL and shows the end of its stderr."""


class McpServerDied(McpServerError):
    """The server exited, or closed the connection, in the middle of a call (exit status, stderr tail)."""

    may_have_taken_effect = True  # the call was sent: it may have written before the server went


class McpSchemaError(McpServerError):
    """The server declares a tool whose input or output schema is not a valid JSON Schema: it cannot
    be checked, so the server is refused when it starts."""

    infrastructure = False  # starting it again gives the same schema


# --- the journal ----------------------------------------------------------------------------


class JournalError(AgentzooError):
    """The run journal cannot serve or record an effect."""


class DivergenceError(JournalError):
    """During replay, a request differs from the one recorded at the same (scope, seq)."""

    def __init__(self, *, run_id: str, scope: str, seq: int, kind: str, differences: list[str]) -> None:
        self.run_id, self.scope, self.seq, self.kind, self.differences = run_id, scope, seq, kind, differences
        shown = "; ".join(differences[:5]) + (f"; … {len(differences) - 5} more" if len(differences) > 5 else "")
        super().__init__(f"run {run_id} diverged at scope {scope!r} seq {seq} ({kind}): {shown}")


class ReplayMissingError(JournalError):
    """During strict replay, the program asked for an effect the journal never recorded."""


class InterruptedEffectError(JournalError):
    """A tool with side effects was started and never finished; resuming would run it twice."""


class ScopeReusedError(JournalError):
    """An effect asked for a (scope, seq) key that an earlier effect of the run already has: two `Scope` objects
    share one path (a child made twice with the same name and index), so the second would overwrite the
    first's entry and replay could not tell them apart."""


class RunNotFoundError(JournalError):
    """No run with that id (or prefix) in the journal."""


class SerializationError(JournalError):
    """A value that is not plain JSON (names where it was found and its type)."""


class CorruptJournalError(JournalError):
    """The journal file is not a journal (not SQLite, empty, missing tables or columns), or one of its
    rows holds a value agentzoo never writes there. Names the file and, for a row, the run, the
    entry (`scope`, `seq`) and the column."""

    def __init__(self, message: str, *, run_id: str | None = None, scope: str | None = None,
                 seq: int | None = None) -> None:
        super().__init__(message)
        self.run_id, self.scope, self.seq = run_id, scope, seq


class JournalUnavailableError(JournalError):
    """A journal on a database server (PostgreSQL) that cannot be used: the server cannot be reached,
    refuses the user or password, has no such database, or the connection broke. Names the URL with
    its password masked. Entries not yet written stay in memory and go in with the next commit."""

    infrastructure = True


# --- remote agents ---------------------------------------------------------------------------


class RemoteAgentError(AgentzooError):
    """A remote agent (`agentzoo.net.a2a_client`) could not be asked, or did not answer; names its URL."""


class RemoteAgentUnreachable(RemoteAgentError):
    """No connection to the remote agent's server (refused, no route, name not resolved)."""

    infrastructure = True


class AgentCardError(RemoteAgentError):
    """The agent card could not be fetched or read, or names no transport this client speaks."""

    infrastructure = True


class RemoteAuthError(RemoteAgentError):
    """The remote agent's server refused the request (401 / 403): the key is missing or wrong."""


class RemoteTimeout(RemoteAgentError):
    """The remote agent gave no final answer within the deadline."""

    infrastructure = True
    may_have_taken_effect = True  # the task was sent and may have been worked on: resume asks before sending it again


class RemoteReplyTooLarge(RemoteAgentError):
    """A reply (the card, or the task's events) longer than the client's `max_reply_bytes`: reading stopped at
    the cap, so a runaway or hostile server cannot fill this process's memory."""


class RemoteTaskFailed(RemoteAgentError):
    """The remote agent ran the task and it did not complete: `state` (`failed`, `rejected`, `canceled`,
    `input-required`, …), the agent's `reason`, and its `run_id` when the remote is agentzoo."""

    def __init__(self, message: str, *, state: str = "failed", reason: str = "", run_id: str | None = None) -> None:
        super().__init__(message)
        self.state, self.reason, self.run_id = state, reason, run_id


# --- limits ---------------------------------------------------------------------------------


class SandboxError(AgentzooError):
    """The sandbox worker failed to start or broke its protocol (not the code's own errors, which are results)."""

    infrastructure = True


class BudgetExceeded(AgentzooError):
    """A budget ran out before an effect, or (wall time) during one: says which budget, its limit,
    the use, and where; `during` names the effect a wall-clock budget cut in flight."""

    def __init__(self, *, budget: str, limit: float, used: float, budget_scope: str, at_scope: str,
                 during: str | None = None) -> None:
        self.budget, self.limit, self.used = budget, limit, used
        self.budget_scope, self.at_scope, self.during = budget_scope, at_scope, during
        where = "the run" if budget_scope == "" else f"scope {budget_scope!r}"
        at = at_scope or "<root>"
        stopped = (f"cut off {during} in scope {at!r} in flight" if during
                   else f"stopped before an effect in scope {at!r}")
        super().__init__(f"budget {budget!r} of {where} ran out: used {used:g} of {limit:g} ({stopped})")


class StepLimitExceeded(AgentzooError):
    """The agent took its maximum number of steps without a final answer."""


class ReplayedError(AgentzooError):
    """Replay of an effect whose recorded outcome was an error; carries the original type name."""

    def __init__(self, type_name: str, message: str) -> None:
        self.type_name = type_name
        super().__init__(f"{type_name}: {message}")


def error_to_json(exc: BaseException) -> dict[str, Any]:
    """The journal's form of an exception: its type name and message, and whether it was the
    infrastructure's fault (see `AgentzooError.infrastructure`)."""
    error = {"type": type(exc).__name__, "message": str(exc)}
    if getattr(exc, "infrastructure", False):
        error["infrastructure"] = True
    return error


def did_you_mean(name: str, choices: Iterable[str], cutoff: float = 0.6) -> str:
    """`; did you mean 'NAME'?` for the choice `name` is closest to (a typo), or "" when none is that close. A
    higher `cutoff` asks for a closer match (names that share only a word, such as `-agent`, are no typo)."""
    import difflib  # only when a name is wrong: every module imports this one

    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=cutoff)
    return f"; did you mean {close[0]!r}?" if close else ""
