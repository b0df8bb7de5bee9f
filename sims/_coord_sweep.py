"""The coordinate-check run behind the CLI: config, per-(arm, width) units, resume, result files."""

from __future__ import annotations

import hashlib
import io
import json
import platform
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ._coord_config import ARMS, UNIT_FIELDS, CoordConfig
from ._store import dumps_json, write_text_atomic


def arm_settings(config: CoordConfig, arm: str) -> dict[str, Any]:
    """``lora_coord_check`` keyword arguments of one arm (rules as ``WidthRule``)."""
    from stablelora import WidthRule

    init, shrinks = ARMS[arm]
    return dict(
        optimizer=config.optimizer, init=init,
        lr=WidthRule(config.lr_coef, float(config.lr_exp)),
        scale=WidthRule(config.s_coef, float(config.s_exp)),
        sigma=WidthRule(config.sigma_coef, float(config.sigma_exp)),
        shrink=config.shrink if shrinks else None, stop_condition=config.stop_condition,
    )


def fingerprint(config: CoordConfig, arm: str, width: int) -> str:
    """SHA-256 (20 hex digits) of everything that determines the numbers of one unit."""
    fields = {k: v for k, v in config.to_json().items() if k in UNIT_FIELDS}
    settings = {k: repr(v) for k, v in arm_settings(config, arm).items()}
    if settings["shrink"] == "None":
        del settings["stop_condition"]  # matters only when shrinking
    blob = json.dumps({"config": fields, "arm": settings, "width": width}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def _unit_path(out: Path, arm: str, width: int) -> Path:
    return out / "units" / arm / f"n{width}.csv"


def _load_unit(path: Path, key: str) -> pd.DataFrame | None:
    """A stored unit with the same fingerprint, else None (missing, stale or unreadable)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    head, _, body = text.partition("\n")
    if head != f"# fingerprint {key}":
        return None
    try:
        return pd.read_csv(io.StringIO(body), keep_default_na=False, na_values=["nan"])
    except (ValueError, pd.errors.ParserError):
        return None


def _git_revision() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


@dataclass
class CoordResult:
    """What a run produced: the frames and which units were computed or reused."""

    coord: pd.DataFrame
    summary: pd.DataFrame
    computed: list[tuple[str, int]]
    reused: list[tuple[str, int]]
    out: Path


def run_coord(config: CoordConfig, *, on_unit: Callable[[str, int], None] | None = None
              ) -> CoordResult:
    """Run (or resume) every (arm, width) unit and write coord.csv, coord_summary.csv, run.json.

    Each finished unit is stored at once in ``out/units/<arm>/n<width>.csv`` (atomically,
    tagged with its fingerprint); a later run with the same settings reuses it.
    """
    import torch

    from ._coord_fit import coord_exponents, fit_coord_data
    from ._coord_models import llama_model, toy_model
    from ._coord_run import lora_coord_check

    cfg = config.resolved()
    torch.set_num_threads(cfg.threads)
    out = Path(cfg.out)
    started = time.time()
    todo, frames, reused = [], {}, []
    for arm in cfg.arms:
        for n in cfg.widths:
            found = _load_unit(_unit_path(out, arm, n), fingerprint(cfg, arm, n))
            if found is None:
                todo.append((arm, n))
            else:
                frames[arm, n] = found
                reused.append((arm, n))
    built = None
    if todo:
        built = (toy_model(steps=cfg.steps, rank=cfg.rank, pretrain_steps=cfg.pretrain_steps,
                           fixed_batch=cfg.fixed_batch, progress=cfg.progress)
                 if cfg.model == "toy" else llama_model(rank=cfg.rank))
    per_step = 1 if cfg.engine == "vmap" else cfg.seeds
    bar = _progress(len(todo) * cfg.steps * per_step, cfg.progress)
    timings = {}
    try:
        for arm, n in todo:
            t0 = time.perf_counter()
            df = lora_coord_check(built.make_model, [n], built.batches, loss=built.loss,
                                  steps=cfg.steps, seeds=cfg.seeds, record=cfg.record,
                                  engine=cfg.engine, on_step=bar.update, **arm_settings(cfg, arm))
            timings[f"{arm}/n{n}"] = round(time.perf_counter() - t0, 3)
            key = fingerprint(cfg, arm, n)
            write_text_atomic(_unit_path(out, arm, n), f"# fingerprint {key}\n"
                              + df.to_csv(index=False))
            frames[arm, n] = df
            if on_unit is not None:
                on_unit(arm, n)
    finally:
        bar.close()
    coord = pd.concat([frames[a, n].assign(arm=a) for a in cfg.arms for n in cfg.widths],
                      ignore_index=True)
    coord = coord[["arm", "width", "seed", "step", "module", "quantity", "value"]]
    summaries, theory = [], {}
    for arm in cfg.arms:
        ex = coord_exponents(**{k: v for k, v in arm_settings(cfg, arm).items()})
        summaries.append(fit_coord_data(coord[coord["arm"] == arm], exponents=ex,
                                        n_boot=cfg.bootstrap))
        theory[arm] = _theory_json(ex)
    summary = pd.concat(summaries, ignore_index=True)
    write_text_atomic(out / "coord.csv", coord.to_csv(index=False))
    write_text_atomic(out / "coord_summary.csv", summary.to_csv(index=False))
    run = {
        "config": cfg.to_json(), "theory": theory,
        "model": built.info if built is not None else None,
        "engine_note": ("vmap: the seeds of a width as one torch.func program" if cfg.engine
                        == "vmap" else "loop: seeds one after another on the module itself"),
        "units_computed": [f"{a}/n{n}" for a, n in todo],
        "units_reused": [f"{a}/n{n}" for a, n in reused],
        "unit_seconds": timings, "wall_seconds": round(time.time() - started, 3),
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "pandas": pd.__version__},
        "git_revision": _git_revision(),
    }
    write_text_atomic(out / "run.json", dumps_json(run))
    return CoordResult(coord, summary, todo, reused, out)


def _theory_json(exponents: dict[str, Any]) -> dict[str, Any]:
    from theory import predict

    kw = {k: v for k, v in exponents.items() if k not in ("eta", "s", "A0Z", "B0")}
    p = predict(exponents["eta"], exponents["s"], exponents["A0Z"], exponents["B0"], **kw)
    return {"exponents": exponents, "case": p.case, "stable": bool(p.stable),
            "gamma": p.to_json()["gamma"]}


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, enabled: bool) -> Any:
    import sys

    if not enabled or total == 0 or not sys.stderr.isatty():
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="coord check (steps)", unit="step")
