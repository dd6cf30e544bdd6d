"""The reported-vs-reproduced cards in docs/recipes/ are what bench/cards.py makes of the committed eval:
regenerating them changes nothing (so a recipe's deviations or the eval cannot drift from its card)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_the_committed_cards_are_generated_from_the_committed_eval(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "cards.py"),
                          str(ROOT / "bench" / "results" / "local-model-baselines"), "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    committed = ROOT / "docs" / "recipes"
    made = sorted(p.name for p in tmp_path.iterdir())
    assert made == sorted(p.name for p in committed.iterdir())
    for name in made:
        assert (tmp_path / name).read_text() == (committed / name).read_text(), f"{name}: run bench/cards.py again"
    summary = (committed / "README.md").read_text()
    assert "74.4% on GSM8K" in summary and "local-model-baselines" in summary
