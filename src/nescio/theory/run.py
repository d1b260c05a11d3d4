"""The sweep behind ``nescio theory``: Bloom check, analytic curves and the memoriser models.

``run_theory(out, preset="default")`` writes ``out/results.json`` and the plots
(``histograms.png``, ``qhat_vs_capacity.png``, ``frontier.png``). Every trained model's
measurements are saved as ``out/points/<name>.json`` the moment it finishes, with the
config that made it; a rerun with the same preset skips the points already on disk.

Measured per model (facts = the n true claims; non-facts = held-out wrong values for the
facts' keys, never used in training):

* ``threshold``: the facts' 10th-percentile score ("fact-level confidence": 90% of facts
  score at least this).
* ``q_hat``: share of non-facts scoring ≥ ``threshold``.
* ``middle_facts`` / ``middle_nonfacts``: share of scores in the unsure range
  ``(0.2, 0.8)``.
* ``frontier``: false-negative vs false-positive rate over all thresholds.
* ``effective_bits_per_fact``: ``KL(Bern(0.9) ‖ Bern(q_hat))``, the least memory per fact
  any thresholded tester needs for that (FN, FP) point; ``× n / parameters`` gives the
  least bits per parameter the model must be using.
* ``q_star_at_fn10[bpp]``: the analytic least FP rate at FN = 10% for a budget of
  ``parameters × bpp`` bits (``bpp`` = assumed bits per parameter, swept), and
  ``q_star_logloss[bpp] = 2^(−bits per fact)``, the log-loss optimum's share.
* generator only: ``fact_recall``; for keys that are not facts, ``new_key_confident``
  (greedy made-up value's probability ≥ ``threshold``), ``new_key_above_half`` (≥ 0.5),
  ``new_key_consistent`` (all samples repeat it) and the intersections.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from nescio.types import SCHEMA_VERSION, NescioError

RESULTS_SCHEMA = 1
FN_TARGET = 0.10
MIDDLE = (0.2, 0.8)
BITS_PER_PARAM = (0.5, 1.0, 2.0, 4.0)
BLOOM_BITS_PER_KEY = (2, 4, 6, 8, 10, 12, 16)
SEPARATED_Q_HAT = 0.05


def _preset(name: str, device: str):
    from nescio.theory.memoriser import MemoriserConfig

    if name == "quick":
        base = MemoriserConfig(num_facts=128, value_digits=3, steps=700, batch_size=128, num_new_keys=256,
                               fact_weight=10.0, device=device)
        sizes = [(3, 2), (24, 2)]
    elif name == "default":
        base = MemoriserConfig(num_facts=256, value_digits=3, steps=1500, batch_size=128, num_new_keys=512,
                               fact_weight=10.0, device=device)
        sizes = [(3, 2), (6, 2), (12, 2), (24, 2), (32, 2)]
    elif name == "large":
        base = MemoriserConfig(num_facts=4096, value_digits=3, steps=8000, batch_size=1024, num_new_keys=2048,
                               fact_weight=10.0, device=device)
        sizes = [(8, 2), (16, 2), (32, 2), (64, 2), (128, 2), (256, 2)]
    else:
        raise NescioError(f"preset={name!r} is not known; use 'quick', 'default' or 'large'")
    configs = []
    for form in ("scorer", "generator"):
        for d, layers in sizes:
            configs.append(replace(base, form=form, d_model=d, n_layers=layers, n_heads=1 if d % 2 else 2))
    return configs


def _point_name(config) -> str:
    return f"{config.form}_d{config.d_model}_l{config.n_layers}"


def _frontier(fact_scores: np.ndarray, nonfact_scores: np.ndarray, points: int = 101) -> dict:
    thresholds = np.unique(np.quantile(np.r_[fact_scores, nonfact_scores], np.linspace(0, 1, points)))
    thresholds = np.r_[thresholds, np.inf]
    fn = [(fact_scores < t).mean() for t in thresholds]
    fp = [(nonfact_scores >= t).mean() for t in thresholds]
    return {"false_negative_rate": [float(x) for x in fn], "false_positive_rate": [float(x) for x in fp]}


def _hist(scores: np.ndarray, bins: int = 40) -> list[float]:
    counts, _ = np.histogram(np.clip(scores, 0, 1), bins=bins, range=(0, 1))
    return [float(c) / len(scores) for c in counts]


def summarise_point(config, raw: dict) -> dict:
    """Turn one model's raw scores into the measured quantities listed in the module docstring."""
    from nescio.theory import analytic as A

    fk, nf = np.asarray(raw["fact_scores"]), np.asarray(raw["nonfact_scores"])
    threshold = float(np.quantile(fk, FN_TARGET))
    q_hat = float((nf >= threshold).mean())
    fn_at = float((fk < threshold).mean())
    params = int(raw["num_parameters"])
    eff = A.effective_bits_per_fact(min(fn_at, 1.0), min(max(q_hat, 1.0 / len(nf)), 1.0))
    in_middle = lambda s: float(((s > MIDDLE[0]) & (s < MIDDLE[1])).mean())  # noqa: E731
    point = {
        "name": _point_name(config),
        "config": config.to_dict(),
        "num_parameters": params,
        "facts_bits": config.facts_bits,
        "capacity_ratio_at_2bpp": params * 2.0 / config.facts_bits,
        "threshold": threshold,
        "false_negative_at_threshold": fn_at,
        "q_hat": q_hat,
        "q_hat_is_upper_bound_zero": q_hat == 0.0,
        "num_nonfacts": len(nf),
        "middle_facts": in_middle(fk),
        "middle_nonfacts": in_middle(nf),
        "separated": bool(q_hat <= SEPARATED_Q_HAT),
        "effective_bits_per_fact": eff,
        "effective_bits_per_parameter": eff * config.num_facts / params,
        "q_star_at_fn10": {str(b): A.bloom_false_positive_at_budget(params * b / config.num_facts, FN_TARGET)
                           for b in BITS_PER_PARAM},
        "q_star_logloss": {str(b): A.hallucination_share_at_budget(params * b / config.num_facts)
                           for b in BITS_PER_PARAM},
        "hist_facts": _hist(fk),
        "hist_nonfacts": _hist(nf),
        "frontier": _frontier(fk, nf),
        "final_loss": raw["loss_curve"][-1],
        "loss_curve": raw["loss_curve"],
        "train_seconds": raw.get("train_seconds"),
    }
    if config.form == "generator":
        conf = np.asarray(raw["new_key_confidence"])
        consistent = np.asarray(raw["new_key_consistent"], dtype=bool)
        confident = conf >= threshold
        confident_abs = conf >= 0.5
        point.update({
            "fact_recall": raw["fact_recall"],
            "new_key_confident": float(confident.mean()),
            "new_key_consistent": float(consistent.mean()),
            "new_key_confident_and_consistent": float((confident & consistent).mean()),
            "new_key_above_half": float(confident_abs.mean()),
            "new_key_above_half_and_consistent": float((confident_abs & consistent).mean()),
            "new_key_middle": in_middle(conf),
            "hist_new_key_confidence": _hist(conf),
        })
    return point


def analytic_curves() -> dict:
    """q* against bits per fact: the log-loss share 2^(−b) and the FP floor at FN = 10%."""
    from nescio.theory import analytic as A

    bits = np.linspace(0.0, 10.0, 101)
    return {
        "bits_per_fact": bits.tolist(),
        "q_star_logloss": [A.hallucination_share_at_budget(b) for b in bits],
        "fp_floor_at_fn10": [A.bloom_false_positive_at_budget(b, FN_TARGET) for b in bits],
        "examples": [
            {"eps_k": ek, "eps_n": en, **{k: v for k, v in vars(A.logloss_optimum(ek, en)).items()}}
            for ek, en in [(0.05, 0.05), (0.1, 0.01), (0.5, 0.01)]
        ],
    }


def run_theory(out: str | Path, preset: str = "default", *, device: str | None = None, progress: bool = True,
               plots: bool = True, num_threads: int = 1) -> dict:
    """Run the whole theory sweep into ``out`` and return the results dict (also in ``out/results.json``).

    ``preset``: ``"quick"`` (2 tiny models per form, ≈ 1–2 min on 2 CPU cores), ``"default"``
    (5 sizes per form, ≤ 20 min on 2 CPU cores) or ``"large"`` (bigger facts and models, for a
    GPU). ``device``: torch device, default ``"cuda"`` when available else ``"cpu"``.
    Finished models are checkpointed under ``out/points/``; a rerun resumes.
    """
    import torch

    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    threads_before = torch.get_num_threads()
    torch.set_num_threads(num_threads)
    try:
        return _run(Path(out), preset, device, progress, plots)
    finally:
        torch.set_num_threads(threads_before)


def _run(out: Path, preset: str, device: str, progress: bool, plots: bool) -> dict:
    import torch

    from nescio.theory.bloom import check_bloom_filter
    from nescio.theory.memoriser import train_and_measure

    configs = _preset(preset, device)  # validates the preset before anything is written
    (out / "points").mkdir(parents=True, exist_ok=True)
    started = time.time()
    bloom = [check_bloom_filter(b, num_keys=20_000 if preset != "quick" else 10_000,
                                num_queries=200_000 if preset != "quick" else 100_000).to_dict()
             for b in BLOOM_BITS_PER_KEY]
    points = []
    with _progress(progress, sum(c.steps for c in configs)) as advance:
        for config in configs:
            path = out / "points" / f"{_point_name(config)}.json"
            if path.exists():
                saved = json.loads(path.read_text())
                if saved.get("config") == config.to_dict() and saved.get("schema") == RESULTS_SCHEMA:
                    points.append(saved)
                    advance(config.steps)
                    continue
            t0 = time.time()
            raw = train_and_measure(config, progress=lambda: advance(1))
            raw["train_seconds"] = time.time() - t0
            point = summarise_point(config, raw) | {"schema": RESULTS_SCHEMA}
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(point))
            tmp.replace(path)
            points.append(point)
    results = {
        "schema_version": SCHEMA_VERSION,
        "results_schema": RESULTS_SCHEMA,
        "spec": {"command": "nescio theory", "preset": preset, "device": device, "torch": torch.__version__,
                 "fn_target": FN_TARGET, "middle": MIDDLE, "bits_per_param_assumed": BITS_PER_PARAM,
                 "separated_q_hat": SEPARATED_Q_HAT},
        "bloom": bloom,
        "analytic": analytic_curves(),
        "points": points,
        "wall_seconds": time.time() - started,  # this call only (a resumed run skips finished points)
        "train_seconds_total": sum(p.get("train_seconds") or 0.0 for p in points),  # all points, when trained
    }
    (out / "results.json").write_text(json.dumps(results, indent=1))
    (out / "summary.md").write_text(summary_markdown(results))
    if plots:
        from nescio.theory.plots import plot_all

        results["plots"] = plot_all(results, out)
        (out / "results.json").write_text(json.dumps(results, indent=1))
    return results


class _progress:
    """A rich progress bar over training steps (a no-op when disabled)."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled, self.total = enabled, total

    def __enter__(self):
        if not self.enabled:
            return lambda k=1: None
        from rich.progress import BarColumn, Progress, TimeElapsedColumn, TimeRemainingColumn

        self._bar = Progress("[progress.description]{task.description}", BarColumn(), "{task.completed}/{task.total} steps",
                             TimeElapsedColumn(), TimeRemainingColumn(), transient=False)
        self._bar.__enter__()
        task = self._bar.add_task("theory sweep", total=self.total)
        return lambda k=1: self._bar.advance(task, k)

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self._bar.__exit__(*exc)


def load_results(out: str | Path) -> dict:
    """Read ``out/results.json`` (JSON only; nothing is executed)."""
    path = Path(out) / "results.json"
    if not path.exists():
        raise NescioError(f"{path} does not exist; run `nescio theory --out {out}` first")
    return json.loads(path.read_text())


def summary_markdown(results: dict) -> str:
    """Markdown tables of a theory run (what ``nescio theory`` prints and writes to ``summary.md``)."""
    bpps = results["spec"]["bits_per_param_assumed"]
    lines: list[str] = []
    if results["points"]:
        cfg = results["points"][0]["config"]
        lines.append(f"Facts: n = {cfg['num_facts']} keys, {10 ** cfg['value_digits']} values, "
                     f"{results['points'][0]['facts_bits']:.0f} bits. Threshold: facts' 10th percentile (FN = 10%). "
                     f"Middle: scores in {tuple(results['spec']['middle'])}.")
        lines.append("")
        head = ["model", "params", "capacity @2 bits/param", "q̂", "middle facts / non-facts",
                "eff. bits/fact", "eff. bits/param"] + [f"q* @{b:g} b/p" for b in bpps]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for p in results["points"]:
            row = [p["name"], f"{p['num_parameters']:,}", f"{p['capacity_ratio_at_2bpp']:.2f}×", f"{p['q_hat']:.3f}",
                   f"{p['middle_facts']:.2f} / {p['middle_nonfacts']:.2f}", f"{p['effective_bits_per_fact']:.2f}",
                   f"{p['effective_bits_per_parameter']:.3f}"] + [f"{p['q_star_at_fn10'][str(b)]:.2g}" for b in bpps]
            lines.append("| " + " | ".join(row) + " |")
        gen = [p for p in results["points"] if p["config"]["form"] == "generator"]
        if gen:
            lines += ["", "| generator | params | fact recall | new keys: p(made-up value) ≥ 0.5 | "
                          "same value in all samples | both |", "|---|---|---|---|---|---|"]
            for p in gen:
                lines.append(f"| {p['name']} | {p['num_parameters']:,} | {p['fact_recall']:.2f} | {p['new_key_above_half']:.2f} "
                             f"| {p['new_key_consistent']:.2f} | {p['new_key_above_half_and_consistent']:.2f} |")
    lines += ["", "| Bloom bits/key | k | FPR measured | predicted (1−e^(−kn/m))^k | z | bound 2^(−bits) | "
                  "space ÷ bound's |", "|---|---|---|---|---|---|---|"]
    for b in results["bloom"]:
        lines.append(f"| {b['bits_per_key']:g} | {b['num_hashes']} | {b['fpr_measured']:.5f} | {b['fpr_predicted']:.5f} "
                     f"| {b['z']:+.2f} | {b['fpr_bound']:.5f} | {b['space_ratio']:.2f} |")
    return "\n".join(lines) + "\n"
