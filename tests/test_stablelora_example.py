"""examples/finetune_trainer.py runs offline: Stable-LoRA and the plain PEFT + AdamW run differ."""

import math
import runpy
from pathlib import Path

import pytest

pytest.importorskip("peft")
pytest.importorskip("accelerate")
pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::UserWarning")
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "finetune_trainer.py"


def test_example_trains_with_and_without_stable_lora(monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    main = runpy.run_path(str(EXAMPLE), run_name="example")["main"]
    stable = main(["--steps", "40", "--shrink", "0.05"])
    plain = main(["--steps", "40", "--plain"])
    out = capsys.readouterr().out
    assert "Stable-LoRA: held-out loss" in out and "PEFT + AdamW: held-out loss" in out
    assert math.isfinite(stable["eval_loss"]) and stable["eval_loss"] < math.log(64)  # learns
    assert stable["eval_loss"] != plain["eval_loss"] and "stop_steps" not in plain
    stops = stable["stop_steps"]
    assert len(stops) == 14 and any(s is not None for s in stops.values())
