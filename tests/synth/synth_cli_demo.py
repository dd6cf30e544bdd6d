"""The demo pipeline (`synth_pipeline_demo`) with a pipeline module's surface, for `agentzoo synth` tests."""

from synth_pipeline_demo import pipeline

from agentzoo.errors import ConfigError

NAME = "demo"
PAPER = "a test pipeline"
SUMMARY = "questions and answers, judged"
ENVS = ("gsm8k",)
OPTIONS = {"drop_maps": True}
OPTION_SOURCES = {"drop_maps": "ours"}
DEVIATIONS: list[str] = []


def build(model, env, *, limit=4, seed=0, **options):
    unknown = set(options) - set(OPTIONS)
    if unknown:
        raise ConfigError(f"unknown options {sorted(unknown)}")
    made = pipeline(model)
    made.seeds = made.seeds[:limit]
    return made


def rows(items, run_id):
    from agentzoo.synth.pipeline import provenance

    return [{"kind": "sft", "messages": [{"role": "user", "content": i["question"]},
                                         {"role": "assistant", "content": i["answer"]}],
             "provenance": provenance(i, NAME, run_id)} for i in items]
