"""`agentzoo recipes`: every agent and recipe, its presets and its options with their defaults and sources.

Printed as plain text (never as markup): the descriptions and sources are ours, but a user's
builder is not, and the text is meant to be pasted.
"""

from __future__ import annotations

import textwrap

import typer

from ..catalog import AgentKind, get_kind, names

app = typer.Typer(add_completion=False, invoke_without_command=True, rich_markup_mode=None,
                  help="List agents and recipes, their presets and options (with the paper constant each default comes from).")


@app.callback()
def recipes(ctx: typer.Context) -> None:
    """List every agent kind and recipe."""
    if ctx.invoked_subcommand is not None:
        return
    rows = []
    for name in names():
        kind = get_kind(name)
        presets = ", ".join(kind.presets) or "-"
        if kind.default_preset:
            presets = presets.replace(kind.default_preset, f"{kind.default_preset}*", 1)
        rows.append((name, presets, _first_sentence(kind.summary)))
    width = max(len(r[0]) for r in rows)
    pwidth = min(24, max(len(r[1]) for r in rows))
    typer.echo(f"{'agent'.ljust(width)}  {'presets'.ljust(pwidth)}  summary")
    for name, presets, summary in rows:
        typer.echo(f"{name.ljust(width)}  {presets.ljust(pwidth)}  {summary}")
    typer.echo("\n* applied when no preset is named. Use: --agent NAME[@PRESET] --agent-opt KEY=VALUE; "
               "details: agentzoo recipes show NAME")


@app.command("show")
def show(name: str = typer.Argument(..., help="an agent or recipe name")) -> None:
    """One agent or recipe: what it is, its presets, options, defaults and their sources, and where it differs from the paper."""
    typer.echo(describe(get_kind(name)))


def describe(kind: AgentKind) -> str:
    lines = [kind.name, "=" * len(kind.name), ""]
    text = kind.description or kind.summary
    lines += ["\n\n".join(text.split("\n\n")[:2])]  # the docstring is wrapped already
    lines.append(f"\ndefined in {kind.source}" + ("; runs model-written code in the sandbox (--tier, --unsafe)"
                                                  if kind.runs_code else ""))
    if kind.presets:
        lines.append("\npresets:")
        for preset, values in kind.presets.items():
            mark = " (default)" if preset == kind.default_preset else ""
            shown = ", ".join(f"{k}={v!r}" for k, v in values.items()) or "(the defaults)"
            lines.append(f"  @{preset}{mark}: {shown}")
    settable = [o for o in kind.options.values() if not o.python_only]
    if settable:
        lines.append("\noptions (--agent-opt KEY=VALUE):")
        for o in settable:
            lines.append(f"  {o.name}: {o.type_text} = {o.default_text()}")
            if o.source:
                lines.append(f"      from {o.source}")
    python_only = [o.name for o in kind.options.values() if o.python_only]
    if python_only:
        lines.append(f"\nfrom Python only: {', '.join(python_only)}")
    if kind.deviations:
        lines.append("\nwhere the defaults differ from the paper, and why:")
        lines += [textwrap.fill(d, 100, initial_indent="  - ", subsequent_indent="    ") for d in kind.deviations]
    example = f"agentzoo run --agent {kind.name}" + (f"@{next(iter(kind.presets))}" if kind.presets else "")
    lines.append(f"\nexample: {example} --model MODEL \"TASK\"")
    return "\n".join(lines)


def _first_sentence(text: str, width: int = 90) -> str:
    sentence = text.split(". ")[0].strip()
    return sentence if len(sentence) <= width else sentence[: width - 1] + "…"
