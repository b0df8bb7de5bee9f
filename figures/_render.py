"""Lay out every figure from the result frames, name the files and save them atomically."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from figures._io import save_atomic
from figures._load import Results, load_results
from figures._style import ARM_LABEL, QUANTITIES, QUANTITY_LABEL, RC, fmt_exp
from figures.errors import FiguresError, NothingToDrawError

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

KINDS = ("width", "exponents", "agreement", "maps", "norms", "toymodel", "phase", "coord")


@dataclass
class Drawn:
    """One figure ready to save: its file stem, the figure, and the report section and caption."""

    stem: str
    figure: Figure
    section: str
    caption: str


@dataclass
class Outcome:
    """What a render produced: files written (in order) and one line per input that was missing."""

    written: list[Path] = field(default_factory=list)
    drawn: list[tuple[Path, Drawn]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def slug(name: str) -> str:
    """A config name made safe for a file name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "config"


def file_stems(prefix: str, configs: list[str]) -> dict[str, str]:
    """``prefix_<slug>`` per config, numbered where two slugs collide (``a+b`` and ``a_b``)."""
    stems: dict[str, str] = {}
    for c in configs:
        stem = f"{prefix}_{slug(c)}"
        k = 2
        while stem in stems.values():
            stem, k = f"{prefix}_{slug(c)}_{k}", k + 1
        stems[c] = stem
    return stems


def _figure(ncols: int, nrows: int = 1, panel: tuple[float, float] = (3.2, 2.6)) -> Figure:
    """A constrained-layout ``Figure`` (no pyplot) sized for ``nrows × ncols`` panels."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(panel[0] * ncols, panel[1] * nrows), layout="constrained")
    fig.get_layout_engine().set(w_pad=0.08, h_pad=0.06)  # room for mathtext at the edges
    return fig


def _figure_legend(fig: Figure, axes: list, first: tuple[str, ...] = ()) -> None:
    """One legend for the whole figure, outside the panels: the union of the axes' labels,
    those in ``first`` leading in that order, then the rest as they appear."""
    seen: dict[str, object] = {}
    for ax in axes:
        for h, label in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(label, h)
    order = sorted(seen, key=lambda lab: first.index(lab) if lab in first else len(first))
    if seen:
        fig.legend([seen[lab] for lab in order], order, loc="outside right upper",
                   frameon=False)


def _need(res: Results, names: tuple[str, ...], notes: list[str]) -> bool:
    """True when every file in ``names`` loaded; otherwise note why each one did not."""
    absent = [n for n in names if res.get(n) is None]
    notes += [res.why_absent(n) for n in absent]
    return not absent


def draw_width(sweep: Results, notes: list[str]) -> list[Drawn]:
    """Plot 1: one figure per config, one panel per representative recorded step."""
    from figures._plot_sweep import plot_width
    from figures._tidy_sweep import representative_steps, width_bands

    if not _need(sweep, ("measurements.csv",), notes):
        return []
    summary = sweep.get("summary.csv")
    if summary is None:
        notes.append(f"width plots drawn without theory slopes: {sweep.why_absent('summary.csv')}")
    measurements = sweep.get("measurements.csv")
    bands = width_bands(measurements, summary)
    order = [c for c in dict.fromkeys(measurements["config"]) if c in set(bands["config"])]
    stems = file_stems("width", order)  # the sweep's suite order, as everywhere
    out = []
    for config in order:
        steps = representative_steps(bands.loc[bands["config"] == config, "step"], k=4)
        fig = _figure(len(steps))
        axes = fig.subplots(1, len(steps), squeeze=False)[0]
        for ax, step in zip(axes, steps, strict=True):
            plot_width(bands, config=config, step=step, ax=ax, legend=False)
        _figure_legend(fig, axes, first=tuple(QUANTITY_LABEL[q] for q in QUANTITIES))
        fig.suptitle(f"{config}: per-entry RMS against width (median and interquartile band "
                     "over seeds)")
        out.append(Drawn(stems[config], fig, "Width plots",
                         f"{config}: RMS of δ₁, δ₂, δ₃, ΔY against n, theory's slope dashed"))
    return out


def draw_exponents(sweep: Results, notes: list[str]) -> list[Drawn]:
    """Plot 2: one figure per config, one panel per quantity: γ̂ over steps against γ_pred."""
    from figures._plot_sweep import plot_exponents

    if not _need(sweep, ("summary.csv",), notes):
        return []
    summary = sweep.get("summary.csv")
    stems = file_stems("exponents", list(dict.fromkeys(summary["config"])))
    out = []
    for config, d in summary.groupby("config", sort=False):
        qs = [q for q in QUANTITIES if q in set(d["quantity"])]
        if not qs:
            continue
        ncols = min(3, len(qs))
        nrows = math.ceil(len(qs) / ncols)
        fig = _figure(ncols, nrows)
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        for i, q in enumerate(qs):
            plot_exponents(summary, config=config, quantity=q, ax=axes[i], legend=False)
        for ax in axes[len(qs):]:
            ax.remove()
        _figure_legend(fig, axes[:len(qs)])
        fig.suptitle(f"{config}: fitted exponent over steps")
        out.append(Drawn(stems[config], fig, "Exponents over steps",
                         f"{config}: fitted γ̂ (95% interval) against predicted γ"))
    return out


def draw_agreement(sweep: Results, notes: list[str]) -> list[Drawn]:
    """Plot 3: the agreement map at each config's last recorded step."""
    from figures._plot_sweep import plot_agreement, plot_verdict_steps
    from figures._tidy_sweep import agreement_table

    if not _need(sweep, ("summary.csv",), notes):
        return []
    table = agreement_table(sweep.get("summary.csv"))
    fig = _figure(1, panel=(1.3 * table["quantity"].nunique() + 3.0,
                            0.6 * table["config"].nunique() + 1.4))
    plot_agreement(table, ax=fig.add_subplot())
    fig.suptitle("agreement at each config's last recorded step")
    out = [Drawn("agreement", fig, "Agreement map",
                 "configs × quantities at the last recorded step: fitted γ̂ (predicted γ) "
                 "and its 95% interval, coloured by verdict")]
    summary = sweep.get("summary.csv")
    n_cols = summary["quantity"].nunique() * (summary["step"].nunique() + 1)
    fig = _figure(1, panel=(0.13 * n_cols + 3.0, 0.3 * summary["config"].nunique() + 1.4))
    ax = plot_verdict_steps(summary, ax=fig.add_subplot())
    _figure_legend(fig, [ax])
    fig.suptitle("verdict at every recorded step")
    out.append(Drawn("agreement_steps", fig, "Agreement map",
                     "verdict of every config × quantity × recorded step (steps increase "
                     "within each block)"))
    return out


def draw_maps(sweep: Results, notes: list[str]) -> list[Drawn]:
    """One figure per config: the (n, t) plane of each quantity coloured by local slope,
    theory's crossover lines t* = K·n^{τ*} drawn on it (crossovers.csv)."""
    from figures._plot_map import plot_slope_map

    if not _need(sweep, ("summary.csv", "measurements.csv"), notes):
        return []
    summary, crossovers = sweep.get("summary.csv"), sweep.get("crossovers.csv")
    if crossovers is None:
        notes.append(f"(n, t) maps drawn without crossover lines: "
                     f"{sweep.why_absent('crossovers.csv')}")
    measurements = sweep.get("measurements.csv")
    order = list(dict.fromkeys(summary["config"]))
    stems = file_stems("map", order)
    out = []
    for config in order:
        widths = sorted(set(measurements.loc[measurements["config"] == config, "width"]))
        qs = [q for q in QUANTITIES if q in set(summary.loc[summary["config"] == config,
                                                             "quantity"])]
        if len(widths) < 2 or not qs:
            continue
        fig = _figure(3, math.ceil(len(qs) / 3), panel=(3.6, 3.0))
        axes = fig.subplots(math.ceil(len(qs) / 3), 3, squeeze=False).ravel()
        for ax, q in zip(axes, qs, strict=False):
            plot_slope_map(summary, crossovers, config=config, quantity=q, widths=widths, ax=ax)
        for ax in axes[len(qs):]:
            ax.remove()
        fig.suptitle(f"{config}: local slope d log RMS / d log n over the (n, t) plane "
                     "(hatched: converged)")
        out.append(Drawn(stems[config], fig, "Crossover maps",
                         f"{config}: measured local slopes over (n, t); theory's crossover "
                         "t* = K·n^τ* as a line (K measured), dotted where K is not"))
    return out


def _shrink_title(configs: pd.DataFrame | None, config: str) -> str:
    """Panel title naming the config and its shrink ratio λ (or that it has none)."""
    if configs is None:
        return config
    lam = configs.loc[configs["config"] == config, "shrink"].astype(float)
    if lam.empty or not lam.iloc[0] > 0:
        return f"{config}: no shrinkage"
    return rf"{config}: $\lambda$ = {lam.iloc[0]:g}"


def draw_norms(sweep: Results, notes: list[str]) -> list[Drawn]:
    """Plot 4: ‖A‖_F/n and ‖B‖_F/m over steps per config; the stop step against n."""
    from figures._plot_sweep import plot_norms, plot_stop_steps
    from figures._tidy_sweep import norm_curves, shrink_families, stop_laws, stop_table

    out = []
    stops = sweep.get("stops.csv")
    stops_t = stop_table(stops) if stops is not None else None
    if _need(sweep, ("trajectories.csv",), notes):
        curves = norm_curves(sweep.get("trajectories.csv"))
        configs = sweep.get("configs.csv")
        present = set(curves["config"])
        order = shrink_families(configs) if configs is not None else sorted(present)
        order = [c for c in order if c in present] or sorted(present)
        ncols = min(3, len(order))
        nrows = math.ceil(len(order) / ncols)
        fig = _figure(ncols, nrows, panel=(3.6, 2.8))
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        for i, config in enumerate(order):
            plot_norms(curves, config=config, stops=stops_t, ax=axes[i], legend=False,
                       title=_shrink_title(configs, config))
        for ax in axes[len(order):]:
            ax.remove()
        _figure_legend(fig, axes[:len(order)])
        fig.suptitle(r"norm dynamics with and without shrinkage")
        out.append(Drawn("norms", fig, "Norm dynamics",
                         "‖A‖_F/n (solid) and ‖B‖_F/m (dashed) over steps, stop step dotted"))
    if stops_t is None:
        notes.append(sweep.why_absent("stops.csv"))
    else:
        fig = _figure(1, panel=(4.0, 3.0))
        configs = sweep.get("configs.csv")
        laws = stop_laws(configs) if configs is not None else None
        plot_stop_steps(stops_t, laws=laws, ax=fig.add_subplot())
        out.append(Drawn("stop_steps", fig, "Norm dynamics",
                         "Stable-LoRA stop step N against n, theory's stop law through it"))
    return out


def draw_toymodel(toy: Results, notes: list[str]) -> list[Drawn]:
    """Plot 5: the ICML paper's Figure 2 (heat maps, ratio, curves) and Stable-LoRA beside it."""
    from figures._plot_toy import plot_improvement, plot_toy_curves, plot_toy_heatmap
    from figures._tidy_toy import (
        curve_settings,
        improvement,
        stable_comparison,
        toy_curves,
        toy_grid,
    )

    if not _need(toy, ("runs.csv",), notes):
        return []
    grid = toy_grid(toy.get("runs.csv"))
    arms = set(grid["arm"])
    curves = toy.get("curves.csv")
    if curves is None:
        notes.append(toy.why_absent("curves.csv"))
    tidy_curves = toy_curves(curves) if curves is not None else None
    settings = curve_settings(grid)
    out = []
    base = [a for a in ("init_A", "init_AB") if a in arms]
    if base:
        finite = grid[grid["arm"].isin(base)]["mean"].dropna()
        vmin, vmax = (finite.min(), finite.max()) if not finite.empty else (None, None)
        panels: list[Callable[[Axes], object]] = [
            partial(plot_toy_heatmap, grid, arm=arm, vmin=vmin, vmax=vmax) for arm in base
        ]
        if {"init_A", "init_AB"} <= arms:
            panels.append(partial(plot_improvement, improvement(grid, "init_AB")))
        if tidy_curves is not None:
            panels.append(partial(plot_toy_curves, tidy_curves,
                                  settings=[s for s in settings if s["arm"] in base]))
        ncols = 2 if len(panels) == 4 else len(panels)  # the paper's 2 × 2, else one row
        fig = _figure(ncols, math.ceil(len(panels) / ncols), panel=(3.8, 3.0))
        for ax, draw in zip(fig.subplots(math.ceil(len(panels) / ncols), ncols,
                                         squeeze=False).ravel(), panels, strict=True):
            draw(ax=ax)
        fig.suptitle("toy model: test loss, Init[A] against Init[AB]")
        out.append(Drawn("toymodel", fig, "Toy model",
                         "mean test loss over η × σ (grey: every seed diverged, ×: some did), "
                         "improvement ratio (L_A − L_AB)/L_A, convergence curves"))
    stable = [a for a in ("stable_lora", "stable_lora_AB") if a in arms]
    if stable and "init_A" in arms:
        panels = [(arm, label, d) for arm in stable
                  for label, d in stable_comparison(grid, arm).groupby("sigma_label", sort=True)]
        fig = _figure(1 + len(panels), panel=(3.8, 3.0))
        axes = fig.subplots(1, 1 + len(panels), squeeze=False)[0]
        ratios = [d["ratio"].abs().max() * 100 for _, _, d in panels]
        lim = max((r for r in ratios if math.isfinite(r)), default=1.0)
        for ax, (arm, label, d) in zip(axes, panels, strict=False):
            plot_improvement(d, x="shrink", ax=ax, lim=lim,
                             title=f"{ARM_LABEL[arm]} {label}\nvs Init[A] at its best σ")
        if tidy_curves is not None:
            plot_toy_curves(tidy_curves, settings=settings, ax=axes[-1])
        else:
            axes[-1].remove()
        fig.suptitle("toy model: Stable-LoRA against Init[A]")
        out.append(Drawn("toymodel_stable", fig, "Toy model",
                         "Stable-LoRA's improvement over the best-σ Init[A] over η × λ, "
                         "and curves"))
    elif not stable:
        notes.append(f"no Stable-LoRA arm in {toy.directory / 'runs.csv'}: "
                     f"run `python -m toymodel run --out {toy.directory}` with its default arms")
    return out


def draw_phase(sweep: Results, notes: list[str], resolution: Fraction = Fraction(1, 16)
               ) -> list[Drawn]:
    """Plot 6: the case of theory.classify on the (γ[η], γ[A₀Z]) plane, one panel per γ[B₀]."""
    from figures._phase import config_points, exact, phase_grid, plot_phase
    from figures._tidy_sweep import config_verdicts

    if not _need(sweep, ("configs.csv",), notes):
        return []
    summary = sweep.get("summary.csv")
    if summary is None:
        notes.append(f"phase diagram drawn without verdicts: {sweep.why_absent('summary.csv')}")
    points = config_points(sweep.get("configs.csv"),
                           config_verdicts(summary) if summary is not None else None)
    lo_x = min(-2.0, math.floor(points["eta"].min() * 2) / 2 - 0.5)
    hi_x = max(0.5, math.ceil(points["eta"].max() * 2) / 2 + 0.5)
    fin = points["A0Z"][points["A0Z"] > -math.inf]
    lo_y = min(-2.0, math.floor(fin.min() * 2) / 2 - 0.5) if not fin.empty else -2.0
    hi_y = max(1.5, math.ceil(fin.max() * 2) / 2 + 0.5) if not fin.empty else 1.5
    b0s = sorted(set(points["B0"]))
    fig = _figure(len(b0s), panel=(4.6, 3.8))
    axes = fig.subplots(1, len(b0s), squeeze=False)[0]
    for ax, b0 in zip(axes, b0s, strict=True):
        grid = phase_grid(B0=exact(b0), eta=(Fraction(lo_x), Fraction(hi_x)),
                          A0Z=(Fraction(lo_y), Fraction(hi_y)), resolution=resolution)
        plot_phase(grid, points=points[points["B0"] == b0], ax=ax, legend=False,
                   title=rf"$\gamma[B_0]$ = {fmt_exp(b0)}")
    _figure_legend(fig, axes)
    fig.suptitle(r"cases of Stable-LoRA §3.2 on $\gamma[s]+2\gamma[\eta]+1=0$")
    return [Drawn("phase", fig, "Phase diagram",
                  "Case 1 / Case 2 / mixed from theory, measured configs marked by verdict")]


def draw_coord(directory: Path, notes: list[str]) -> list[Drawn]:
    """Coordinate-check panels and agreement maps from ``DIR/coord_check/`` (issue 12)."""
    from figures._plot_coord import COORD_COMMAND, coord_figures, load_coord

    found = load_coord(directory)
    if found is None:
        notes.append(f"coordinate-check figures skipped: no coord.csv and coord_summary.csv in "
                     f"{directory} (make them with `{COORD_COMMAND.format(dir=directory)}`)")
        return []
    return [Drawn(stem, fig, "Coordinate check", caption)
            for stem, fig, caption in coord_figures(*found)]


def render_all(results: str | Path, out: str | Path, *, fmt: str = "png", dpi: int = 150,
               kinds: tuple[str, ...] = KINDS, progress: bool = True) -> Outcome:
    """Draw every figure that the result files allow, save them and write ``report.md``.

    Args:
        results: directory holding ``width_sweep/`` and ``toymodel/`` (either may be absent).
        out: directory for the figures and ``report.md`` (created).
        fmt: ``png``, ``pdf`` or ``svg``.
        dpi: resolution of raster output.
        kinds: which of ``KINDS`` to draw.
        progress: show a tqdm bar over the figure kinds.

    Returns:
        The files written and one note per missing or malformed input.

    Raises:
        NothingToDrawError: no figure could be drawn; its ``notes`` say what is missing.
    """
    import matplotlib
    from tqdm import tqdm

    from figures._report import write_report

    results, out = Path(results), Path(out)
    sweep = load_results(results / "width_sweep", "width_sweep")
    toy = load_results(results / "toymodel", "toymodel")
    drawers: dict[str, Callable[[Results, list[str]], list[Drawn]]] = {
        "width": draw_width, "exponents": draw_exponents, "agreement": draw_agreement,
        "maps": draw_maps, "norms": draw_norms, "toymodel": draw_toymodel, "phase": draw_phase,
        "coord": draw_coord,
    }
    outcome = Outcome()
    notes: list[str] = []
    with matplotlib.rc_context(RC):
        for kind in tqdm(kinds, desc="figures", disable=not progress or None, leave=False):
            try:
                source = {"toymodel": toy, "coord": results / "coord_check"}.get(kind, sweep)
                drawn = drawers[kind](source, notes)
            except FiguresError as exc:  # bad values in one input: skip only this kind
                notes.append(f"{kind} figures skipped: {exc}")
                continue
            if drawn:
                out.mkdir(parents=True, exist_ok=True)
            for d in drawn:
                path = out / f"{d.stem}.{fmt}"
                save_atomic(d.figure, path, fmt, dpi)
                outcome.written.append(path)
                outcome.drawn.append((path, d))
    outcome.notes = list(dict.fromkeys(notes))  # one line per missing input
    if not outcome.written:
        raise NothingToDrawError(f"nothing to draw from {results}", outcome.notes)
    report = out / "report.md"
    write_report(report, outcome, sweep, toy)
    outcome.written.append(report)
    return outcome

