"""The protocol as a decoding constraint: a GBNF grammar or a JSON schema for the model's next reply.

`grammar` (llama.cpp's GBNF, sent as the request body's `grammar` field) covers a whole reply: from
the automaton's state it unrolls every sequence of segments the model may write, one per line,
each starting with an allowed header, up to where the runtime takes over (after the actions, when
an observation may come) or to the final segment (whose text runs to the end of the reply). An
action's line is a known tool's name and a JSON object. Text segments are one line each here
(a header could not be told from a continuation line otherwise); a final segment may span lines.

`json_schema` (an OpenAI-style `response_format`, which OpenAI, vLLM, Ollama and llama.cpp's server
constrain decoding with) covers one segment: `{"next": {...}}` where the object is one of the
allowed segments, an action as `{"segment", "tool", "arguments"}` with the tool an enum and the
arguments as JSON text (strict mode has no free-form objects), and, when actions wait, the
observation label alone, which hands over to the runtime.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...errors import ConfigError
from ...replies import json_format, object_schema
from .protocol import Protocol

# A JSON object on one line (segments are lines), spaces and tabs only between tokens.
_JSON = r'''json-object ::= "{" ws ( json-member ( ws "," ws json-member )* )? ws "}"
json-member ::= json-string ws ":" ws json-value
json-value ::= json-object | json-array | json-string | json-number | "true" | "false" | "null"
json-array ::= "[" ws ( json-value ( ws "," ws json-value )* )? ws "]"
json-string ::= "\"" ( [^"\\\x7F\x00-\x1F] | "\\" ( ["\\/bfnrt] | "u" hex hex hex hex ) )* "\""
hex ::= [0-9a-fA-F]
json-number ::= "-"? ( "0" | [1-9] [0-9]* ) ( "." [0-9]+ )? ( [eE] [-+]? [0-9]+ )?
ws ::= [ \t]*
line ::= [^\n]*
rest ::= ( [^\n] | "\n" )*'''


def literal(text: str) -> str:
    """`text` as a GBNF string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def grammar(protocol: Protocol, automaton: Any, state: int, tools: Sequence[str]) -> str:
    """The GBNF grammar of every reply the model may write in `state`."""
    observation = protocol.observation
    model_labels = set(protocol.of_kind("text", "action", "final"))
    Node = tuple[int, bool]  # (automaton state, whether the reply has an action waiting for the runtime)

    def may_stop(node: Node) -> bool:
        return node[1] and observation is not None and observation in automaton.allowed(node[0])

    # Every node the model can reach in one reply, and its moves: (label, the node after it; None after a final).
    moves: dict[Node, list[tuple[str, Node | None]]] = {}
    todo: list[Node] = [(state, False)]
    while todo:
        node = todo.pop()
        if node in moves:
            continue
        moves[node] = []
        for label in automaton.allowed(node[0]):
            if label not in model_labels:
                continue
            kind = protocol.kind(label)
            nxt = None if kind == "final" else (automaton.delta[node[0]][label], node[1] or kind == "action")
            moves[node].append((label, nxt))
            if nxt is not None:
                todo.append(nxt)
    # Productive: a node from which the reply can end (a final segment, or the runtime's turn).
    productive: set[Node] = set()
    changed = True
    while changed:
        changed = False
        for node, edges in moves.items():
            if node not in productive and any(n is None or may_stop(n) or n in productive for _, n in edges):
                productive.add(node)
                changed = True
    if (state, False) not in productive:
        raise ConfigError(f"protocol {protocol.name!r}: in this state the model can write no reply that ends "
                          f"(allowed next: {', '.join(automaton.allowed(state)) or 'nothing'})")
    lines = [f"root ::= {_name((state, False))}"]
    for node in sorted(productive):
        alternatives = []
        for label, nxt in moves[node]:
            head = literal(f"{label}: ")
            if nxt is None:
                alternatives.append(f"{head} rest")
                continue
            body = "tool-call" if protocol.kind(label) == "action" else "line"
            more, stop = nxt in productive, may_stop(nxt)
            if more and stop:
                alternatives.append(f'{head} {body} ( "\\n" {_name(nxt)} )?')
            elif more:
                alternatives.append(f'{head} {body} "\\n" {_name(nxt)}')
            elif stop:
                alternatives.append(f"{head} {body}")
        lines.append(f"{_name(node)} ::= " + " | ".join(alternatives))
    if tools:
        lines.append("tool-call ::= ( " + " | ".join(literal(t) for t in tools) + ' ) " " json-object')
    lines.append(_JSON)
    return "\n".join(lines) + "\n"


def _name(node: tuple[int, bool]) -> str:
    return f"s{node[0]}-{'acted' if node[1] else 'open'}"


def json_schema(protocol: Protocol, automaton: Any, state: int, tools: Sequence[str], pending: bool) -> dict[str, Any]:
    """The `response_format` that lets the model write exactly one allowed next segment."""
    options: list[dict[str, Any]] = []
    for label in automaton.allowed(state):
        kind = protocol.kind(label)
        if kind in ("text", "final"):
            options.append(object_schema({"segment": {"type": "string", "enum": [label]}, "content": {"type": "string"}}))
        elif kind == "action" and tools:
            options.append(object_schema({"segment": {"type": "string", "enum": [label]},
                                    "tool": {"type": "string", "enum": list(tools)},
                                    "arguments": {"type": "string", "description": "the arguments as a JSON object"}}))
        elif kind == "observation" and pending:
            options.append(object_schema({"segment": {"type": "string", "enum": [label]}}))
    schema = object_schema({"next": options[0] if len(options) == 1 else {"anyOf": options}})
    return json_format(schema, "next_segment")
