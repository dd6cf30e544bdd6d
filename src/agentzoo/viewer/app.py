"""The viewer's routes: a GET request (path and query) in, a `Response` out. No sockets here, so
tests call `App.handle` directly; `server` puts it on HTTP.

Pages are rendered by Jinja with autoescape on (nothing is marked safe); the one script reads its
data from `/api/...` as JSON and sets it as text. Every page and answer is GET-only and read-only.
"""

from __future__ import annotations

import math
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlencode

import jinja2

from .. import _json
from ..errors import AgentzooError, ConfigError, CorruptJournalError, RunNotFoundError, UserError
from ..runtime.gateway import describe_differences
from . import diff as diffs
from . import evals as ev
from . import shape
from .store import PAGE_SIZE, SORTS, JournalView, RunQuery

HERE = Path(__file__).parent
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".svg": "image/svg+xml", ".png": "image/png"}
ENTRIES_PAGE = 100
"""Entries per request of the run page (it asks for more as they are needed)."""
DIFF_PAGE = 400
SAMPLES_PAGE = ev.SAMPLES_PER_PAGE


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


class NotFound(Exception):
    pass


@dataclass
class Source:
    """A journal the viewer shows: the user's, or an eval folder's `journal.db`."""

    key: str
    """How URLs name it: `main`, or `e0`, `e1`… for the eval folders in the order given."""
    label: str
    path: Path | None
    view: JournalView | None = None
    unreadable: str = ""
    """Why there is no `path` (an eval whose runs are in a PostgreSQL journal), said when its runs are asked for."""


class App:
    def __init__(self, journal: Path | None, evals: list[Path] | None = None, *,
                 default_journal: Path | None = None, names: dict[Path, str] | None = None) -> None:
        """`names`: what to call a journal or eval folder other than by its path (one unpacked from a bundle)."""
        from ..runtime.journal import default_journal_path

        names = names or {}
        self.default_journal = default_journal or default_journal_path()
        self.evals = [ev.EvalFolder(Path(p), names.get(Path(p))) for p in evals or ()]
        self.sources: dict[str, Source] = {}
        if journal is not None:
            self.sources["main"] = Source("main", names.get(Path(journal), str(journal)), Path(journal))
        for i, folder in enumerate(self.evals):
            label = names.get(folder.path) or folder.path.name or str(folder.path)
            try:
                self.sources[f"e{i}"] = Source(f"e{i}", f"{label} (eval)", folder.journal_path)
            except ConfigError as exc:
                self.sources[f"e{i}"] = Source(f"e{i}", f"{label} (eval)", None, unreadable=str(exc))
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
            undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        self.templates.filters.update(FILTERS)
        self.templates.globals.update(url=url)
        self.static = {p.name: p.read_bytes() for p in (HERE / "static").iterdir() if p.suffix in STATIC_TYPES}
        self.routes: dict[str, Callable[[dict[str, str]], Response]] = {
            "/": self.index, "/runs": self.runs, "/run": self.run, "/diff": self.diff, "/evals": self.eval_list,
            "/eval": self.eval_page, "/eval/plot": self.eval_plot, "/api/run": self.api_run,
            "/api/entries": self.api_entries, "/api/entry": self.api_entry,
        }

    def close(self) -> None:
        for source in self.sources.values():
            if source.view is not None:
                source.view.close()

    # --- dispatch ---------------------------------------------------------------------------

    def handle(self, path: str, query: dict[str, str]) -> Response:
        try:
            if path == "/favicon.ico":  # asked for by every browser; there is none
                return Response(204, b"", "text/plain")
            if path.startswith("/static/"):
                return self.static_file(path[len("/static/"):])
            route = self.routes.get(path)
            if route is None:
                raise NotFound(f"no page {path}")
            return route(query)
        except (NotFound, RunNotFoundError) as exc:
            return self._error(404, str(exc), path)
        except (UserError, CorruptJournalError, AgentzooError) as exc:
            return self._error(400 if isinstance(exc, UserError) else 500, f"{type(exc).__name__}: {exc}", path)
        except Exception as exc:  # a bug: say so on the page, with the details in the server's log
            traceback.print_exc()
            return self._error(500, f"internal error ({type(exc).__name__}); see the terminal running "
                                    "`agentzoo view`", path)

    def _error(self, status: int, message: str, path: str) -> Response:
        if path.startswith("/api/"):
            return _json_response({"error": message}, status)
        return self._page("error.html", status=status, code=status, message=message)

    def _page(self, template: str, status: int = 200, **context: Any) -> Response:
        context.setdefault("sources", list(self.sources.values()))
        context.setdefault("evals", self.evals)
        body = self.templates.get_template(template).render(**context).encode("utf-8")
        return Response(status, body)

    def _view(self, key: str) -> tuple[Source, JournalView]:
        source = self.sources.get(key or "main")
        if source is None:
            raise NotFound(f"no journal {key!r} here")
        if source.path is None:
            raise ConfigError(source.unreadable)
        if source.view is None:
            source.view = JournalView(source.path)
        return source, source.view

    # --- pages ------------------------------------------------------------------------------

    def index(self, query: dict[str, str]) -> Response:
        target = "/runs?j=main" if "main" in self.sources or not self.evals else "/evals"
        return Response(302, b"", headers={"Location": target})

    def runs(self, query: dict[str, str]) -> Response:
        key = query.get("j", "main")
        source = self.sources.get(key)
        if source is None and key == "main":
            return self._page("runs.html", source=None, rows=[], total=0, q=RunQuery(), pages=0, statuses=[],
                              sorts=list(SORTS), message="no journal was given")
        if source is not None and source.path is not None and not source.path.is_file():
            return self._page("runs.html", source=source, rows=[], total=0, q=RunQuery(), pages=0, statuses=[],
                              sorts=list(SORTS), message=f"no runs yet: {source.path} does not exist")
        source, view = self._view(key)
        q = RunQuery(q=query.get("q", "")[:500], status=query.get("status", ""),
                     sort=query.get("sort", "created") if query.get("sort") in SORTS else "created",
                     descending=query.get("dir", "desc") != "asc", page=_int(query.get("page"), 1, 1))
        total = view.count_runs(q)
        rows = view.runs_page(q)
        return self._page("runs.html", source=source, rows=rows, total=total, q=q,
                          pages=max(1, math.ceil(total / PAGE_SIZE)), statuses=view.statuses(), sorts=list(SORTS),
                          message="")

    def run(self, query: dict[str, str]) -> Response:
        source, view = self._view(query.get("j", "main"))
        info = view.run(_required(query, "id"))
        forks = view.forks_of(info.run_id)
        fork_point = info.fork_point if isinstance(info.fork_point, dict) else None
        return self._page("run.html", source=source, info=info, forks=forks, fork_point=fork_point,
                          spec=_spec_summary(info.config),
                          commands=shape.commands(info, source.path, self.default_journal))

    def diff(self, query: dict[str, str]) -> Response:
        source, view = self._view(query.get("j", "main"))
        a = view.run(_required(query, "a"))
        b_id = query.get("b") or ""
        if not b_id:  # a run alone: against its parent
            if not a.parent_id:
                raise NotFound(f"run {a.run_id} has no parent; name the second run (b=)")
            a, b = view.run(a.parent_id), a
        else:
            b = view.run(b_id)
        rows = diffs.align(view.diff_keys(a.run_id), view.diff_keys(b.run_id))
        first = diffs.first_divergence(rows)
        differences: list[str] = []
        if first is not None and rows[first].state == "request":
            if b.parent_id == a.run_id and isinstance(b.fork_point, dict):
                differences = [str(d) for d in b.fork_point.get("differences") or ()]
            else:
                left = view.entry(a.run_id, rows[first].scope, rows[first].seq)
                right = view.entry(b.run_id, rows[first].scope, rows[first].seq)
                if left is not None and right is not None:
                    differences = describe_differences(left.request, right.request)
        pages = max(1, math.ceil(len(rows) / DIFF_PAGE))
        page = min(_int(query.get("page"), 1 if first is None else first // DIFF_PAGE + 1, 1), pages)
        counts = {s: sum(1 for r in rows if r.state == s) for s in ("same", "result", "request", "left", "right")}
        return self._page("diff.html", source=source, a=a, b=b, rows=rows[(page - 1) * DIFF_PAGE: page * DIFF_PAGE],
                          offset=(page - 1) * DIFF_PAGE, first=first, differences=differences, page=page,
                          pages=pages, counts=counts, total=len(rows),
                          first_key=(rows[first].scope, rows[first].seq) if first is not None else None,
                          first_state=rows[first].state if first is not None else None,
                          first_page=first // DIFF_PAGE + 1 if first is not None else None)

    def eval_list(self, query: dict[str, str]) -> Response:
        return self._page("evals.html")

    def _eval(self, query: dict[str, str]) -> tuple[int, ev.EvalFolder]:
        index = _int(query.get("e"), 0, 0)
        if index >= len(self.evals):
            raise NotFound("no such eval folder here (give folders to `agentzoo view`)")
        return index, self.evals[index]

    def eval_page(self, query: dict[str, str]) -> Response:
        index, folder = self._eval(query)
        summary, rows = folder.load()
        filt = ev.SampleFilter(**{k: query.get(k, "") for k in ("agent", "env", "model", "seed", "outcome")})
        kept = [r for r in rows if filt.keeps(r)]
        pages = max(1, math.ceil(len(kept) / SAMPLES_PAGE))
        page = min(_int(query.get("page"), 1, 1), pages)
        options = ev.choices(rows)
        baseline = query.get("baseline") or (options["agent"][0] if options["agent"] else "")
        envs = list(dict.fromkeys(g["env"] for g in summary.get("groups") or ()))
        plots = folder.plots()
        return self._page("eval.html", index=index, folder=folder, summary=summary, envs=envs,
                          plots={env: _plot_for(env, plots) for env in envs}, filt=filt, options=options,
                          outcomes=ev.OUTCOMES, samples=kept[(page - 1) * SAMPLES_PAGE: page * SAMPLES_PAGE],
                          kept=len(kept), page=page, pages=pages, baseline=baseline,
                          paired=ev.paired(rows, baseline) if baseline else [], journal_key=f"e{index}",
                          has_journal=_is_file(self.sources[f"e{index}"].path))

    def eval_plot(self, query: dict[str, str]) -> Response:
        _, folder = self._eval(query)
        name = query.get("name", "")
        if name not in folder.plots():  # only the report's own plot files, by exact name
            raise NotFound(f"no plot {name!r} in {folder.name}")
        return Response(200, (folder.path / name).read_bytes(), "image/png")

    def static_file(self, name: str) -> Response:
        body = self.static.get(name)
        if body is None:
            raise NotFound(f"no file {name}")
        return Response(200, body, STATIC_TYPES[Path(name).suffix], {"Cache-Control": "max-age=300"})

    # --- the run page's data ------------------------------------------------------------------

    def api_run(self, query: dict[str, str]) -> Response:
        """The parts of a run that change while it runs: status, answer, scopes, usage, budgets."""
        _, view = self._view(query.get("j", "main"))
        info = view.run(_required(query, "id"))
        scopes = view.scopes(info.run_id)
        entries, last_id, first_started = view.progress(info.run_id)
        totals = {"effects": entries, "model_calls": sum(s.model_calls for s in scopes),
                  "tool_calls": sum(s.tool_calls for s in scopes),
                  "input_tokens": sum(s.input_tokens for s in scopes),
                  "output_tokens": sum(s.output_tokens for s in scopes),
                  "cost_usd": sum(s.cost_usd for s in scopes), "unpriced_calls": sum(s.unpriced_calls for s in scopes)}
        config = info.config if isinstance(info.config, dict) else {}
        return _json_response({
            "run_id": info.run_id, "status": info.status, "task": shape.clip(info.task),
            "answer": shape.clip(info.answer), "error": shape.clip(info.error),
            "created_at": info.created_at, "updated_at": info.updated_at, "now": time.time(),
            "last_id": last_id, "first_started_id": first_started, "totals": totals,
            "scopes": shape.scope_tree(scopes), "budgets": shape.budgets_used(config, scopes, info),
        })

    def api_entries(self, query: dict[str, str]) -> Response:
        """Entries after row id `after` (the page's cursor), at most `limit`, optionally of one scope's subtree."""
        _, view = self._view(query.get("j", "main"))
        run_id = _required(query, "id")
        limit = min(_int(query.get("limit"), ENTRIES_PAGE, 1), 500)
        scope = query.get("scope")
        rows, problems = view.entries_after(run_id, _int(query.get("after"), 0, 0), limit + 1, scope)
        more = len(rows) > limit
        rows = rows[:limit]
        previous: dict[str, Any] = {}
        out = []
        for row_id, entry in rows:
            before = None
            if entry.kind == "model":
                if entry.scope not in previous:
                    previous[entry.scope] = view.previous_model_request(run_id, entry.scope, entry.seq)
                before = previous[entry.scope]
                previous[entry.scope] = entry.request
            out.append(shape.entry_json(row_id, entry, before))
        return _json_response({"entries": out, "more": more, "cursor": rows[-1][0] if rows else None,
                               "problems": [str(p) for p in problems]})

    def api_entry(self, query: dict[str, str]) -> Response:
        """One entry whole, as the journal holds it (the raw view a clipped value points to)."""
        _, view = self._view(query.get("j", "main"))
        run_id = view.run(_required(query, "id")).run_id
        entry = view.entry(run_id, query.get("scope", ""), _int(query.get("seq"), 0, 0))
        if entry is None:
            raise NotFound("no such entry")
        body = {"run_id": entry.run_id, "scope": entry.scope, "seq": entry.seq, "kind": entry.kind,
                "name": entry.name, "status": entry.status, "request": entry.request, "result": entry.result,
                "error": entry.error, "usage": {"input_tokens": entry.usage.input_tokens,
                                                "output_tokens": entry.usage.output_tokens},
                "cost_usd": entry.cost_usd, "started_at": entry.started_at, "ended_at": entry.ended_at,
                "request_hash": entry.request_hash, "side_effects": entry.side_effects}
        return _json_response(body)


# --- helpers -----------------------------------------------------------------------------------

def _json_response(value: Any, status: int = 200) -> Response:
    return Response(status, _json.dumps(value), "application/json; charset=utf-8", {"Cache-Control": "no-store"})


def _required(query: dict[str, str], key: str) -> str:
    value = query.get(key, "")
    if not value:
        raise NotFound(f"missing {key}=")
    return value


def _int(text: str | None, default: int, low: int) -> int:
    try:
        return max(low, int(text)) if text not in (None, "") else default
    except ValueError:
        return default


def url(path: str, **params: Any) -> str:
    """A link within the viewer; the template escapes it again when it writes it into an attribute."""
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    return path + ("?" + urlencode(kept) if kept else "")


def _plot_for(env: str, plots: list[str]) -> str | None:
    from ..eval.report import _slug

    name = f"plot_{_slug(env)}.png"
    return name if name in plots else None


def _spec_summary(config: Any) -> list[tuple[str, str]]:
    """The run's agent spec as a few lines (name, value) for the run page."""
    if not isinstance(config, dict):
        return []
    out = []
    for name, value in (("agent", shape.agent_label(config)), ("model", config.get("model")),
                        ("models per role", config.get("models")), ("options", config.get("options")),
                        ("action format", config.get("action_format")), ("tools", config.get("tools")),
                        ("environment", config.get("env")), ("max steps", config.get("max_steps")),
                        ("sampling", config.get("sampling")), ("budgets", config.get("budgets")),
                        ("role budgets", config.get("role_budgets")), ("system prompt", config.get("system"))):
        if value not in (None, "", [], {}):
            out.append((name, value if isinstance(value, str) else _json.dumps_str(value)))
    return out


def fmt_int(value: Any) -> str:
    return f"{int(value):,}" if isinstance(value, (int, float)) else "—"


def fmt_usd(value: Any) -> str:
    from ..eval.report import fmt_usd as report_usd

    return report_usd(value) if isinstance(value, (int, float)) else "—"


def fmt_seconds(value: Any) -> str:
    if not isinstance(value, (int, float)):
        return "—"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.1f} s"
    if value < 7200:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"


def fmt_time(value: Any) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(value)) if isinstance(value, (int, float)) else "—"


def short(value: Any, width: int = 120) -> str:
    text = " ".join(str(value or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def fmt_pct(value: Any) -> str:
    return f"{100 * value:.1f}%" if isinstance(value, (int, float)) else "—"


def fmt_p(value: Any) -> str:
    if not isinstance(value, (int, float)):
        return "—"
    return f"{value:.3f}" if value >= 0.001 else "< 0.001"


def fmt_rate(success: Any) -> str:
    from ..eval.report import fmt_rate as report_rate

    return report_rate(success) if isinstance(success, dict) and "rate" in success else "—"


def fmt_cost(cost: Any) -> str:
    from ..eval.report import fmt_cost as report_cost

    return report_cost(cost) if isinstance(cost, dict) else "—"


def fmt_num(value: Any, digits: int = 1) -> str:
    from ..eval.report import fmt_num as report_num

    return report_num(value, digits) if isinstance(value, (int, float)) else "—"


FILTERS = {"int": fmt_int, "usd": fmt_usd, "seconds": fmt_seconds, "utc": fmt_time, "short": short, "pct": fmt_pct,
           "p": fmt_p, "rate": fmt_rate, "cost": fmt_cost, "num": fmt_num, "json": _json.dumps_str}


def _is_file(path: Path | None) -> bool:
    return path is not None and path.is_file()
