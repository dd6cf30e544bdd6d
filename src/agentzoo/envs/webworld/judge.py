"""The model that judges `fuzzy_match` answers (WebArena's `llm_fuzzy_match`: a model reads the question,
the reference and the answer, and only "correct" scores; "partially correct" and "incorrect" score 0).

The call goes through a gateway of its own, live and with no journal: the harness scores a sample after
its run has ended, so there is no run to record it in. The gateway masks secrets and counts usage as for
any model call, and what the judge said is kept in the score's details.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ...prompts import render
from ...runtime.gateway import Gateway
from ...runtime.scope import Scope
from ...types import ModelRequest

PROMPT = Path(__file__).parent / "prompts" / "fuzzy_match.md"


class ModelJudge:
    """A `Judge` played by a model: a `Model`, a model string, or `{model: STRING, model_options: {KEY: VALUE}}`."""

    def __init__(self, model: Any) -> None:
        from ...models.registry import env_model

        self.model = env_model(model, "environment webworld, option judge")

    async def __call__(self, intent: str, reference: str, answer: str) -> tuple[float, dict[str, Any]]:
        prompt = render(PROMPT, intent=intent, reference=reference, answer=answer)
        request = ModelRequest(messages=[{"role": "user", "content": prompt}], temperature=0)
        response = await Gateway(run_id="webworld-judge").model_call(Scope("judge"), self.model, request)
        said = (response.text or "").strip()
        return verdict(said), {"judge": getattr(self.model, "name", "judge"), "said": said[:500]}


def verdict(said: str) -> float:
    """1.0 only for a plain "correct" (WebArena's reading: any "incorrect" or "partially correct" is 0)."""
    text = said.lower()
    if "incorrect" in text or "partially correct" in text or "not correct" in text:
        return 0.0
    return float(re.search(r"\bcorrect\b", text) is not None)
