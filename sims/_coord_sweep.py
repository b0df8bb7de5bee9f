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
from typing import TYPE_CHECKING, Any

import pandas as pd

from ._coord_config import ARMS, UNIT_FIELDS, CoordConfig
from ._store import dumps_json, write_text_atomic
from .errors import ConfigError, ResultsError

if TYPE_CHECKING:
    from sharding import Shard

_META = "# unit "  # the unit file's second line: JSON metadata (seconds, model description)


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


def _load_unit(path: Path, key: str) -> tuple[pd.DataFrame, dict[str, Any]] | None:
    """A stored unit with the same fingerprint, else None (missing, stale or unreadable)."""
    try:
        return _parse_unit(path.read_text(encoding="utf-8"), key)
    except OSError:
        return None


def _parse_unit(text: str, key: str) -> tuple[pd.DataFrame, dict[str, Any]] | None:
    """A unit file's frame and metadata (``{}`` in files older than the metadata line), or
    None when its fingerprint is not ``key`` or it does not parse."""
    head, _, body = text.partition("\n")
    if head != f"# fingerprint {key}":
        return None
    meta: dict[str, Any] = {}
    if body.startswith(_META):
        line, _, body = body.partition("\n")
        try:
            meta = json.loads(line[len(_META):])
        except ValueError:
            return None
    try:
        return pd.read_csv(io.StringIO(body), keep_default_na=False, na_values=["nan"]), meta
    except (ValueError, pd.errors.ParserError):
        return None


def _unit_text(key: str, meta: dict[str, Any], df: pd.DataFrame) -> str:
    """A unit file: the fingerprint line, the metadata line, the unit's long frame as CSV."""
    return (f"# fingerprint {key}\n{_META}{json.dumps(meta, sort_keys=True)}\n"
            + df.to_csv(index=False))


def _width_info(info: dict[str, Any], width: int) -> dict[str, Any]:
    """The model's description as one unit at ``width`` saw it (JSON round-tripped).

    The toy model's pretraining entry keeps only this width and drops ``cache_hit``, which
    says whether this process found the cache, not what the weights are.
    """
    out = dict(info)
    if "pretrain" in out:
        pre = {k: v for k, v in out["pretrain"].get(width, {}).items() if k != "cache_hit"}
        out["pretrain"] = {str(width): pre}
    return json.loads(json.dumps(out))


def _merged_info(metas: list[dict[str, Any]]) -> dict[str, Any] | None:
    """One model description from the units' (per-width pretraining merged), None if none."""
    infos = [m["model"] for m in metas if m.get("model")]
    if not infos:
        return None
    merged = dict(infos[0])
    if "pretrain" in merged:
        merged["pretrain"] = {k: v for info in infos for k, v in info.get("pretrain", {}).items()}
    return merged


def _git_revision() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


@dataclass
class CoordResult:
    """What a run produced: the frames (None for a shard) and which units were computed or
    reused."""

    coord: pd.DataFrame | None
    summary: pd.DataFrame | None
    computed: list[tuple[str, int]]
    reused: list[tuple[str, int]]
    out: Path


def run_coord(config: CoordConfig, *, shard: Shard | None = None, combine: bool = False,
              on_unit: Callable[[str, int], None] | None = None) -> CoordResult:
    """Run (or resume) every (arm, width) unit and write coord.csv, coord_summary.csv, run.json.

    Each finished unit is stored at once in ``out/units/<arm>/n<width>.csv`` (atomically,
    tagged with its fingerprint, then a metadata line: seconds, the model's description
    at that width); a later run with the same settings reuses it. The result files are
    built from the unit files' contents only, so they do not depend on which process
    computed which unit.

    Args:
        config: the run.
        shard: compute only this shard's units (positions ≡ i mod K of the unit list, arm
            by arm and width by width in config order) under the shard's lock, and write
            no result files: shards share ``out``; a later run without a shard combines.
        combine: compute nothing; write the result files from the stored units.
        on_unit: called with (arm, width) after each computed unit is stored.

    Raises:
        ConfigError: invalid settings, or both ``shard`` and ``combine``.
        ResultsError: ``out`` cannot be locked or written (another run holds it), or
            ``combine`` finds units missing.
    """
    import torch

    from atomicfile import remove_stale_temporaries
    from sharding import hold_out

    from ._coord_models import llama_model, toy_model
    from ._coord_run import lora_coord_check

    cfg = config.resolved()
    if shard is not None and combine:
        raise ConfigError("--shard computes units, --combine only combines: give one of them")
    torch.set_num_threads(cfg.threads)
    out = Path(cfg.out)
    units = [(arm, n) for arm in cfg.arms for n in cfg.widths]
    with hold_out(out, shard, ResultsError):
        if shard is None:  # only the whole directory's holder may clear temporaries
            for directory in (out, *(out / "units").glob("*/")):
                remove_stale_temporaries(directory)
        todo, stored, reused = [], {}, []
        for arm, n in units if shard is None else shard.select(units):
            found = _load_unit(_unit_path(out, arm, n), fingerprint(cfg, arm, n))
            if found is None:
                todo.append((arm, n))
            else:
                stored[arm, n] = found
                reused.append((arm, n))
        if combine and todo:
            missing = [f"{a}/n{n}" for a, n in todo]
            raise ResultsError(f"--combine: {len(todo)} units are not finished "
                               f"({', '.join(missing[:3])}{', …' if len(todo) > 3 else ''}); "
                               "run the missing shards, or drop --combine")
        built = None
        if todo:
            built = (toy_model(steps=cfg.steps, rank=cfg.rank, pretrain_steps=cfg.pretrain_steps,
                               fixed_batch=cfg.fixed_batch, progress=cfg.progress)
                     if cfg.model == "toy" else llama_model(rank=cfg.rank))
        per_step = 1 if cfg.engine == "vmap" else cfg.seeds
        bar = _progress(len(todo) * cfg.steps * per_step, cfg.progress)
        try:
            for arm, n in todo:
                t0 = time.perf_counter()
                df = lora_coord_check(built.make_model, [n], built.batches, loss=built.loss,
                                      steps=cfg.steps, seeds=cfg.seeds, record=cfg.record,
                                      engine=cfg.engine, on_step=bar.update,
                                      **arm_settings(cfg, arm))
                meta = {"seconds": round(time.perf_counter() - t0, 3),
                        "model": _width_info(built.info, n)}
                key = fingerprint(cfg, arm, n)
                text = _unit_text(key, meta, df)
                write_text_atomic(_unit_path(out, arm, n), text)
                # the results read what a later run would load, so they never depend on
                # whether this process computed the unit
                stored[arm, n] = _parse_unit(text, key)
                if on_unit is not None:
                    on_unit(arm, n)
        finally:
            bar.close()
        if shard is not None:  # shards write unit files only
            return CoordResult(None, None, todo, reused, out)
        coord, summary = _write_results(cfg, out, [(a, n, *stored[a, n]) for a, n in units])
    return CoordResult(coord, summary, todo, reused, out)


def _write_results(cfg: CoordConfig, out: Path,
                   units: list[tuple[str, int, pd.DataFrame, dict[str, Any]]]
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """coord.csv, coord_summary.csv and run.json from every unit's frame and metadata."""
    import torch

    from ._coord_fit import coord_exponents, fit_coord_data

    coord = pd.concat([df.assign(arm=arm) for arm, _, df, _ in units], ignore_index=True)
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
        "model": _merged_info([meta for *_, meta in units]),
        "engine_note": ("vmap: the seeds of a width as one torch.func program" if cfg.engine
                        == "vmap" else "loop: seeds one after another on the module itself"),
        "units": [f"{arm}/n{n}" for arm, n, _, _ in units],
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "pandas": pd.__version__},
        "git_revision": _git_revision(),
    }
    write_text_atomic(out / "run.json", dumps_json(run))
    return coord, summary


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
