"""Plots of a theory run, drawn only from its results dict (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_histograms(results: dict, path: Path) -> None:
    """Score histograms μ_K (facts) and μ_N (held-out non-facts), one panel per model, rows by form."""
    plt = _plt()
    forms = [f for f in ("scorer", "generator") if any(p["config"]["form"] == f for p in results["points"])]
    cols = max(sum(p["config"]["form"] == f for p in results["points"]) for f in forms)
    fig, axes = plt.subplots(len(forms), cols, figsize=(2.6 * cols, 2.4 * len(forms)), squeeze=False, sharey="row")
    for r, form in enumerate(forms):
        pts = sorted((p for p in results["points"] if p["config"]["form"] == form), key=lambda p: p["num_parameters"])
        for c in range(cols):
            ax = axes[r][c]
            if c >= len(pts):
                ax.axis("off")
                continue
            p = pts[c]
            bins = len(p["hist_facts"])
            edges = np.linspace(0, 1, bins + 1)
            centers, width = (edges[:-1] + edges[1:]) / 2, 1 / bins
            ax.bar(centers, p["hist_facts"], width=width, alpha=0.6, label="facts μ_K", color="tab:blue")
            ax.bar(centers, p["hist_nonfacts"], width=width, alpha=0.6, label="non-facts μ_N", color="tab:red")
            if form == "generator":
                ax.step(centers, p["hist_new_key_confidence"], where="mid", color="black", lw=1,
                        label="new keys: made-up value")
            ax.axvspan(*results["spec"]["middle"], color="grey", alpha=0.12)
            ax.axvline(p["threshold"], color="k", ls=":", lw=1)
            ax.set_yscale("log")
            ax.set_ylim(1e-3, 1.5)
            ax.set_title(f"{form} {p['num_parameters']:,} params\n{p['capacity_ratio_at_2bpp']:.2g}× facts @2 bits/param "
                         f"q̂={p['q_hat']:.2f}", fontsize=8)
            ax.set_xlabel("score" if form == "scorer" else "p(value | key)", fontsize=8)
            ax.tick_params(labelsize=7)
        axes[r][0].set_ylabel("share (log)", fontsize=8)
    axes[0][0].legend(fontsize=6, loc="upper center")
    if len(forms) > 1:
        axes[1][0].legend(fontsize=6, loc="upper center")
    fig.suptitle("Score histograms per capacity\n(shaded: the 'unsure' middle; dotted: facts' 10th percentile)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)


def plot_qhat_vs_capacity(results: dict, path: Path) -> None:
    """q̂ against parameters / facts' bits, with the analytic FP floor at FN = 10% per bits-per-parameter assumption."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9.0, 4.2))
    pts = results["points"]
    facts_bits = pts[0]["facts_bits"]
    num_facts = pts[0]["config"]["num_facts"]
    x = np.geomspace(min(p["num_parameters"] for p in pts) / 2, max(p["num_parameters"] for p in pts) * 2, 200)
    an = results["analytic"]
    bits_grid, floor = np.asarray(an["bits_per_fact"]), np.asarray(an["fp_floor_at_fn10"])
    for bpp, style in zip(results["spec"]["bits_per_param_assumed"], [":", "-.", "-", "--"]):
        bpf = x * bpp / num_facts
        ax.plot(x * 2 / facts_bits, np.interp(bpf, bits_grid, floor, right=0.0), style, color="grey",
                label=f"bound, {bpp:g} bits/param")
    for form, marker, color in [("scorer", "o", "tab:blue"), ("generator", "s", "tab:orange")]:
        fp = sorted((p for p in pts if p["config"]["form"] == form), key=lambda p: p["num_parameters"])
        if fp:
            xs = [p["capacity_ratio_at_2bpp"] for p in fp]
            ys = [max(p["q_hat"], 0.5 / p["num_nonfacts"]) for p in fp]
            ax.plot(xs, ys, marker=marker, color=color, label=f"measured q̂, {form}")
    gen = sorted((p for p in pts if p["config"]["form"] == "generator"), key=lambda p: p["num_parameters"])
    if gen:
        ax.plot([p["capacity_ratio_at_2bpp"] for p in gen],
                [max(p["new_key_above_half_and_consistent"], 1e-3) for p in gen], marker="^", ls="--",
                color="tab:green", label="new keys: made-up value, p ≥ 0.5, same in all samples")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(1e-3, 1.2)
    ax.axvline(1.0, color="k", lw=0.6)
    ax.set_xlabel("capacity: parameters × 2 bits / facts' bits (n·log2 #values)")
    ax.set_ylabel("share of non-facts at fact-level confidence (FN = 10%)")
    ax.set_title("Hallucination share vs capacity (points at 1e-3 = none measured)", fontsize=9)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)


def plot_frontier(results: dict, path: Path) -> None:
    """The FP/FN frontier of each scorer model by thresholding, with the analytic frontier at its budget."""
    from nescio.theory.analytic import bloom_frontier

    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    pts = sorted((p for p in results["points"] if p["config"]["form"] == "scorer"), key=lambda p: p["num_parameters"])
    cmap = plt.get_cmap("viridis")
    fn_grid = np.linspace(0, 0.99, 100)
    for i, p in enumerate(pts):
        color = cmap(i / max(1, len(pts) - 1))
        f = p["frontier"]
        ax.plot(f["false_negative_rate"], f["false_positive_rate"], color=color,
                label=f"{p['num_parameters']:,} params ({p['capacity_ratio_at_2bpp']:.2g}×)")
        bpf = p["num_parameters"] * 2.0 / p["config"]["num_facts"]
        ax.plot(fn_grid, bloom_frontier(bpf, fn_grid), ls=":", color=color, lw=1)
    ax.set_xlabel("false negatives (true facts refused / forgotten)")
    ax.set_ylabel("false positives (non-facts accepted = hallucinations)")
    ax.set_yscale("log")
    ax.set_ylim(1e-4, 1.05)
    ax.set_title("FP/FN frontier by thresholding (solid: measured; dotted: bound at 2 bits/param)", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)


def plot_all(results: dict, out: Path) -> list[str]:
    """Write the three plots into ``out``; returns their file names."""
    out = Path(out)
    names = {"histograms.png": plot_histograms, "qhat_vs_capacity.png": plot_qhat_vs_capacity,
             "frontier.png": plot_frontier}
    for name, fn in names.items():
        fn(results, out / name)
    return list(names)
