"""A synthesis written down: the pipeline, its environment, models, options, budgets and what to write.

    agentzoo synth experiments/synth-pae-screens.yaml --out data/pae

The command line's flags make the same `SynthSettings` (and override a file's values), so a synthesis given
as flags and the same one in a file are one thing. `check` refuses what the pipeline would not take — an
environment it does not work on, an option it does not have, a format nobody writes — before any model call,
and every error in a file names the file, the line and the key.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import ConfigError
from ..runtime.spec import BudgetSpec, ModelOptions, first_error, unknown_key

DEFAULT_FORMATS = ("jsonl", "openai", "sharegpt", "dpo", "parquet")


class SynthSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pipeline: str
    """A pipeline's name (`agentzoo synth --help` lists them)."""
    env: str | None = None
    """The environment it works on; default the pipeline's first. Pipelines that make their own have none."""
    model: str | None = None
    """The model every role uses unless `models` names another; default $AGENTZOO_MODEL."""
    models: dict[str, str] = Field(default_factory=dict)
    """A model per role: the role is the name of a scope that calls a model (`teacher`, `judge`, ...), as the
    report's Roles table lists them; the deepest scope segment naming a role wins."""
    model_options: ModelOptions = Field(default_factory=dict)
    """Settings of the models' clients (`--model-opt`, `AgentSpec.model_options`): how replies are read, not
    what is asked, so a synthesis resumes under other ones."""
    limit: int = Field(4, ge=1)
    """Seeds (tasks, documents, questions) to start from."""
    seed: int = 0
    options: dict[str, Any] = Field(default_factory=dict)
    """The pipeline's options (its module's OPTIONS; the paper's constants are the defaults)."""
    formats: list[str] = Field(default_factory=lambda: list(DEFAULT_FORMATS), min_length=1)
    near_dup: float = Field(0.8, ge=0.0, le=1.0)
    """Jaccard similarity (MinHash) from which two rows are near duplicates."""
    dedup: bool = True
    decontam: bool = True
    """Drop rows that overlap the shipped benchmarks' test sets (13-gram overlap)."""
    budgets: BudgetSpec | None = None
    """Limits of the whole run."""
    out: str | None = None
    """The synthesis folder (a flag `--out` wins)."""

    def check(self, module: ModuleType) -> SynthSettings:
        """These settings, with the environment defaulted, if the pipeline takes them; else a `ConfigError`."""
        from .formats import FORMATS

        envs = tuple(module.ENVS)
        env = self.env
        if not envs and env is not None:
            raise ConfigError(f"pipeline {self.pipeline} makes its own environments: it takes no env ({env!r})")
        if envs:
            env = env or envs[0]
            if env not in envs:
                raise ConfigError(f"pipeline {self.pipeline} works on {', '.join(envs)}, not {env!r}")
        unknown = sorted(set(self.options) - set(module.OPTIONS))
        if unknown:
            raise ConfigError(f"pipeline {self.pipeline} has no option {', '.join(unknown)}; its options: "
                              f"{', '.join(sorted(module.OPTIONS)) or 'none'}")
        bad = [f for f in self.formats if f not in FORMATS]
        if bad:
            raise ConfigError(f"format {', '.join(bad)}: choose from {', '.join(FORMATS)}")
        return self.model_copy(update={"env": env})

    def kept(self) -> dict[str, Any]:
        """What a synthesis keeps for its life (its folder's state): the same settings resume it, others are refused.
        Models are kept masked (`runtime.secrets`), so a key in a model string never lands on disk."""
        from ..runtime.secrets import mask_text

        return {"pipeline": self.pipeline, "env": self.env, "model": mask_text(self.model or ""),
                "models": {role: mask_text(m) for role, m in sorted(self.models.items())},
                "limit": self.limit, "seed": self.seed, "options": self.options}


def load_settings(path: Path) -> SynthSettings:
    """A synthesis file (YAML or JSON); errors name the file, line and key."""
    from ..eval.experiment import error_at, read_yaml

    data, lines = read_yaml(path)
    if not isinstance(data, dict) or "pipeline" not in data:
        raise ConfigError(f"{path}: a synthesis file is a mapping with at least `pipeline:`")
    try:
        return SynthSettings.model_validate(data)
    except ValidationError as exc:
        err = first_error(exc)
        message = unknown_key(SynthSettings, err["loc"]) if err["type"] == "extra_forbidden" else err["msg"]
        raise error_at(str(path), lines, tuple(err["loc"]), message) from None
