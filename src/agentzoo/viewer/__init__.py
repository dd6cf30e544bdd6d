"""`agentzoo view`: a local web viewer over journals and eval result folders, and OpenTelemetry export.

- `store`   a journal opened read-only, paged in SQL (runs list, one run's entries, scopes, diffs);
- `shape`   entries made ready to show: big values clipped, images picked out, repeated history left out;
- `evals`   an eval results folder: summary, samples with filters, paired comparison with a baseline;
- `app`     routes: one request in, one response out (no sockets: tests call it directly);
- `server`  the HTTP server on 127.0.0.1 (standard library), its security headers and host check;
- `otel`    runs as OpenTelemetry GenAI spans, live (a gateway listener) or from the journal.

Nothing here executes anything a journal holds: every value a model, a tool or a user wrote is
escaped by the templates (Jinja autoescape) or set as `textContent` by the script, and a
Content-Security-Policy forbids inline scripts. Importing this package loads none of its modules.
"""
