"""The embedded local model (`local:smollm2-135m`) measured, and agentzoo's cost on top of it.

    python bench/local_model.py [--model local:smollm2-135m] [--repeats 5] [--out bench/results/local_model.json]

Measured in this process (llama.cpp runs in it: its memory is this process's):
- load:        seconds from nothing to a server that answers (mmap, warm-up decode), median of
               several cold starts (the server is stopped between them);
- tokens/s:    prompt processing (a ~1,000-token prompt, 1 token out) and generation (256 tokens
               forced with llama.cpp's `ignore_eos`), from the server's own `timings`;
- RSS:         resident memory after the imports, with the model loaded, and the peak;
- overhead:    the same agent steps two ways, interleaved `repeats` times:
               raw    the exact request bodies agentzoo sent, POSTed by a bare HTTP client (the
                      same pyreqwest transport) that reads each reply and nothing more;
               agentzoo  a ToolCallingAgent (json tool mode, one tool) run by `agentzoo.run` with a
                      SQLite journal, the model through `LocalModel`;
               overhead = (agentzoo run wall - raw wall) / raw wall, medians over the repeats
               (greedy decoding makes both produce the same tokens, so the model's work is equal);
               and, apart from the model's noise, the framework alone: the same run with a
               ScriptedModel playing the recorded replies (journal on), per step, as a fraction
               of the model's step time. Target: agentzoo adds < 2 % to a local model's step.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import agents as A  # noqa: E402  - bench/agents.py: save(), machine info

from agentzoo import Journal, ModelRequest, ModelResponse, ScriptedModel, ToolCallingAgent  # noqa: E402
from agentzoo import run as run_agent  # noqa: E402
from agentzoo.models import local_server  # noqa: E402
from agentzoo.examples.demo import SYSTEM, add  # noqa: E402  (the demo's own tool and prompt)
from agentzoo.models.registry import parse_model  # noqa: E402

TARGET_OVERHEAD = 0.02
TASK = "What is 17 + 25? Use the add tool, then answer with the number."


def rss() -> dict[str, float]:
    """VmRSS and VmHWM of this process, in MiB (Linux)."""
    out = {}
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1]) / 1024
    return out


def measure_load(model_string: str, times: int) -> list[float]:
    samples = []
    for _ in range(times):
        local_server.shutdown_all()
        model = parse_model(model_string)
        started = time.perf_counter()
        local_server.shared(model.config)
        samples.append(time.perf_counter() - started)
    return samples


async def raw_post(client, url: str, key: str, body: bytes) -> bytes:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}", "Connection": "close"}  # as LocalModel
    async with client.post(url).headers(headers).body_bytes(body).build_streamed() as resp:
        assert resp.status == 200, (resp.status, bytes(await resp.bytes())[:300])
        chunks = bytearray()
        while (piece := await resp.body_reader.read_chunk()) is not None:
            chunks += bytes(piece)
        return bytes(chunks)


async def throughput(model, client) -> dict:
    """Prompt and generation tokens/s from llama.cpp's own timings (median of 3 each)."""
    from agentzoo import _json

    server = local_server.shared(model.config)
    url = f"{server.url}/v1/chat/completions"
    long_prompt = " ".join(f"item {i} is {i * 7 % 13}." for i in range(160))  # ~1,000 tokens
    prompt_rates, gen_rates, prompt_tokens = [], [], 0
    for _ in range(3):
        body = {"messages": [{"role": "user", "content": long_prompt}], "max_tokens": 1, "temperature": 0}
        t = _json.loads(await raw_post(client, url, server.api_key, _json.dumps(body)))["timings"]
        prompt_rates.append(t["prompt_per_second"])
        prompt_tokens = t["prompt_n"]
        body = {"messages": [{"role": "user", "content": "Tell me a long story."}], "max_tokens": 256,
                "temperature": 0, "ignore_eos": True}
        t = _json.loads(await raw_post(client, url, server.api_key, _json.dumps(body)))["timings"]
        gen_rates.append(t["predicted_per_second"])
    return {"prompt_tokens": prompt_tokens, "prompt_tokens_per_s": statistics.median(prompt_rates),
            "generation_tokens": 256, "generation_tokens_per_s": statistics.median(gen_rates)}


class Recorder:
    """Keeps the bodies a LocalModel's backend sends (bench only), to send the same ones raw."""

    def __init__(self, model) -> None:
        self.bodies: list[bytes] = []
        self.model = model

    async def arm(self) -> None:
        from agentzoo import _json

        http = await self.model._conn.client()
        build = http._body

        def recording(request):
            body = build(request)
            self.bodies.append(_json.dumps(body))
            return body

        http._body = recording


async def agentzoo_run(model, journal_path: Path) -> tuple[float, object]:
    agent = ToolCallingAgent(model, [add], system=SYSTEM, max_steps=4)
    with Journal(journal_path) as journal:
        started = time.perf_counter()
        result = await run_agent(agent, TASK, journal=journal)
        return time.perf_counter() - started, result


async def overhead(model_string: str, repeats: int, workdir: Path) -> dict:
    from pyreqwest.client import ClientBuilder

    model = parse_model(model_string)
    recorder = Recorder(model)
    await recorder.arm()
    await agentzoo_run(model, workdir / "warm.db")  # warm: server, client, imports, SQLite
    bodies = list(recorder.bodies)
    steps = len(bodies)
    server = local_server.shared(model.config)
    url = f"{server.url}/v1/chat/completions"
    client = ClientBuilder().max_connections(None).no_proxy().build()
    raw_walls, az_walls, answers = [], [], set()
    replies: list[ModelResponse] = []
    for i in range(repeats):
        started = time.perf_counter()
        for body in bodies:
            await raw_post(client, url, server.api_key, body)
        raw_walls.append(time.perf_counter() - started)
        recorder.bodies.clear()
        wall, result = await agentzoo_run(model, workdir / f"az{i}.db")
        az_walls.append(wall)
        answers.add(result.answer)
        if recorder.bodies != bodies:
            raise RuntimeError("agentzoo sent different requests in a repeat: greedy decoding is not deterministic here")
        if i == 0:
            with Journal(workdir / "az0.db") as journal:
                replies = [ModelResponse.from_json(e.result) for e in journal.entries(result.run_id) if e.kind == "model"]
    tp = await throughput(model, client)
    await client.close()
    await model.aclose()

    # The framework alone: the same run with the recorded replies played by a ScriptedModel.
    framework = []
    for i in range(max(repeats, 20)):
        scripted = ScriptedModel([r.message for r in replies], name=model.name)
        agent = ToolCallingAgent(scripted, [add], system=SYSTEM, max_steps=4)
        with Journal(workdir / f"scripted{i}.db") as journal:
            started = time.perf_counter()
            await run_agent(agent, TASK, journal=journal)
            framework.append(time.perf_counter() - started)

    raw, az = statistics.median(raw_walls), statistics.median(az_walls)
    return {"steps": steps, "repeats": repeats, "answers": sorted(a or "" for a in answers),
            "raw_wall_s": raw_walls, "agentzoo_wall_s": az_walls,
            "raw_median_s": raw, "agentzoo_median_s": az, "model_step_s": raw / steps,
            "overhead_ab": (az - raw) / raw,
            "framework_run_s": statistics.median(framework), "framework_step_s": statistics.median(framework) / steps,
            "overhead_framework": statistics.median(framework) / raw, "throughput": tp}


def markdown(r: dict) -> str:
    o, t = r["overhead"], r["overhead"]["throughput"]
    m = r["memory_mib"]
    return "\n".join([
        f"# Local model: {r['model']}",
        "",
        f"Machine: {r['machine'].get('cores')} cores, {r['machine'].get('platform')}; threads {r['threads']}, "
        f"ctx {r['ctx']}; xllamacpp {r['xllamacpp']}; load average {r['load_average'][0]:.1f} at the start, "
        f"{r['load_average'][1]:.1f} at the end (other work on the machine slows the model, not the framework). "
        "Command: `python bench/local_model.py`.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| load (cold start to serving, median of {len(r['load_s'])}) | {statistics.median(r['load_s']):.2f} s |",
        f"| prompt processing ({t['prompt_tokens']} tokens) | {t['prompt_tokens_per_s']:.0f} tokens/s |",
        f"| generation ({t['generation_tokens']} tokens) | {t['generation_tokens_per_s']:.0f} tokens/s |",
        f"| RSS after imports / with the model / peak | {m['before']:.0f} / {m['loaded']:.0f} / {m['peak']:.0f} MiB |",
        f"| agent steps per run (json tool mode) | {o['steps']} |",
        f"| model time per step (raw client, median) | {o['model_step_s'] * 1000:.0f} ms |",
        f"| agentzoo run vs the same requests raw (median of {o['repeats']}) | {o['agentzoo_median_s']:.3f} s vs "
        f"{o['raw_median_s']:.3f} s: {o['overhead_ab'] * 100:+.2f} % |",
        f"| framework alone per step (ScriptedModel, same replies, journal on) | {o['framework_step_s'] * 1000:.2f} ms "
        f"= {o['overhead_framework'] * 100:.2f} % of the model's step |",
        "",
        f"Target: agentzoo adds < {TARGET_OVERHEAD * 100:.0f} % to a local model's step time. The A/B figure carries "
        "the model's own run-to-run noise (CPU contention); the framework-alone figure does not.",
        ""])


async def main_async(cfg) -> dict:
    import importlib.metadata

    before, load_before = rss(), os.getloadavg()[0]
    model = parse_model(cfg.model)
    load = measure_load(cfg.model, cfg.loads)
    loaded = rss()
    with tempfile.TemporaryDirectory() as tmp:
        over = await overhead(cfg.model, cfg.repeats, Path(tmp))
    after = rss()
    local_server.shutdown_all()
    return {"model": cfg.model, "threads": model.config.threads, "ctx": model.config.ctx,
            "xllamacpp": importlib.metadata.version("xllamacpp"), "machine": A.machine(), "load_s": load,
            "memory_mib": {"before": before["VmRSS"], "loaded": loaded["VmRSS"], "after_runs": after["VmRSS"],
                           "peak": after["VmHWM"]},
            "overhead": over, "target_overhead": TARGET_OVERHEAD, "when": time.strftime("%Y-%m-%d %H:%M:%S"),
            "load_average": [load_before, os.getloadavg()[0]]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="local:smollm2-135m")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--loads", type=int, default=5)
    p.add_argument("--out", default=str(BENCH / "results" / "local_model.json"))
    cfg = p.parse_args()
    os.environ.setdefault("AGENTZOO_OFFLINE", "1")  # loopback only
    report = asyncio.run(main_async(cfg))
    print(A.save(report, Path(cfg.out), markdown(report)))


if __name__ == "__main__":
    main()
