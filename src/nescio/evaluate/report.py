"""A self-contained ``report.html`` from :class:`~nescio.evaluate.result.EvalResult` records (offline, PNGs inlined).

Sections: headline before/after table, risk–coverage curves (main signals + detector),
reliability diagram, P(correct) histograms for correct vs hallucinated answers,
per-category bars, example decisions, signal table and cost. With several runs (``--compare``)
the headline table gets one column pair per model and every figure is drawn per model,
side by side.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Sequence

import numpy as np

from nescio.evaluate.metrics import reliability_bins, risk_coverage_curve
from nescio.evaluate.result import DecisionRecord, EvalResult
from nescio.plots import png_img
from nescio.types import Action, Outcome

ROWS = [
    ("correct", "correct"),
    ("hallucinated", "hallucinated"),
    ("abstained", "abstained (incl. pre-check)"),
    ("hedged", "hedged"),
    ("answered", "answered (unhedged)"),
    ("realised_risk", "hallucination rate among answered"),
    ("kept", "kept: raw correct answers still given"),
]


def _pct(x) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "–"
    return f"{100 * float(x):.1f}%"


def _fmt(x) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        return "–" if not np.isfinite(x) else f"{x:.3f}"
    return html.escape(str(x))


def _graded(records: Sequence[DecisionRecord]) -> list[DecisionRecord]:
    return [r for r in records if r.outcome in (Outcome.CORRECT, Outcome.HALLUCINATED)]


def _fig_risk_coverage(results: EvalResult, main_signals: list[str]):
    import matplotlib.pyplot as plt

    rec = _graded(results.records)
    fig, ax = plt.subplots(figsize=(5.2, 3.8))
    if rec:
        bad = np.array([r.outcome == Outcome.HALLUCINATED for r in rec])
        for name in main_signals:
            vals = np.array([np.nan if r.signals.get(name) is None else r.signals[name] for r in rec], float)
            vals = np.where(np.isnan(vals), np.nanmax(vals) if np.isfinite(vals).any() else 0.0, vals)
            cov, risk = risk_coverage_curve(vals, bad)
            ax.plot(cov, risk, lw=1.2, label=name)
        p = np.array([np.nan if r.score is None else r.score for r in rec], float)
        cov, risk = risk_coverage_curve(-p, bad)
        ax.plot(cov, risk, lw=2.4, color="black", label="detector")
        oracle_cov = np.linspace(1 / len(bad), 1, len(bad))
        n_good = (~bad).sum()
        ax.plot(oracle_cov, np.maximum(0, (oracle_cov * len(bad) - n_good)) / (oracle_cov * len(bad)), "k:", lw=1, label="oracle")
    alpha = results.guarded.alpha
    ax.axhline(alpha, color="crimson", ls="--", lw=1, label=f"α = {alpha}")
    ax.set_xlabel("coverage (share of the model's answers given)")
    ax.set_ylabel("hallucination rate among given")
    ax.set_ylim(0, 1)
    ax.set_title(f"Risk–coverage: {results.model}", fontsize=10)
    ax.legend(fontsize=7)
    return fig


def _fig_reliability(results: EvalResult):
    import matplotlib.pyplot as plt

    rec = [r for r in _graded(results.records) if r.p_correct is not None]
    fig, ax = plt.subplots(figsize=(4.2, 3.8))
    if rec:
        p = np.array([r.p_correct for r in rec], float)
        y = np.array([r.outcome == Outcome.CORRECT for r in rec], float)
        bins = [b for b in reliability_bins(p, y, n_bins=10) if b["count"]]
        xs, ys, ns = ([b[k] for b in bins] for k in ("mean_confidence", "accuracy", "count"))
        ax.plot([0, 1], [0, 1], "k:", lw=1)
        ax.scatter(xs, ys, s=[12 + 2 * n for n in ns], color="tab:blue", zorder=3)
        ax.plot(xs, ys, color="tab:blue")
    ece = results.detector.ece
    ax.set_title(f"Reliability (ECE {_fmt(ece)})", fontsize=10)
    ax.set_xlabel("calibrated P(correct)")
    ax.set_ylabel("observed share correct")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    return fig


def _fig_histograms(results: EvalResult):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(8.4, 3.2), sharey=False)
    bins = np.linspace(0, 1, 21)
    for ax, key, title in [(axes[0], "msp_prob", "model's own mean token probability"), (axes[1], "p_correct", "guard P(correct)")]:
        for outcome, color in ((Outcome.CORRECT, "tab:green"), (Outcome.HALLUCINATED, "tab:red")):
            vals = [getattr(r, key) for r in results.records if r.outcome == outcome and getattr(r, key) is not None]
            if vals:
                ax.hist(vals, bins=bins, alpha=0.55, color=color, label=f"{outcome} ({len(vals)})", density=True)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("probability")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("density")
    return fig


def _fig_categories(results: EvalResult):
    import matplotlib.pyplot as plt

    cats = sorted(results.per_category)
    fig, ax = plt.subplots(figsize=(max(6, 0.95 * len(cats)), 3.6))
    if cats:
        x = np.arange(len(cats))
        w = 0.4
        for off, which, hatch in ((-w / 2, "raw", ""), (w / 2, "guarded", "//")):
            bottom = np.zeros(len(cats))
            for key, color in (("correct", "tab:green"), ("hallucinated", "tab:red"), ("hedged", "tab:orange"), ("abstained", "tab:gray")):
                vals = np.array([getattr(getattr(results.per_category[c], which), key, 0.0) or 0.0 for c in cats])
                ax.bar(x + off, vals, w, bottom=bottom, color=color, hatch=hatch, edgecolor="white",
                       label=key if which == "guarded" else None)
                bottom += vals
        ax.set_xticks(x, [c.replace("fact/", "") for c in cats], rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("share of questions")
        ax.set_title("Per category: raw (left, plain) vs guarded (right, hatched)", fontsize=10)
        ax.legend(fontsize=7, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.3))
    return fig


def _headline(runs: Sequence[EvalResult]) -> str:
    head = "".join(f"<th colspan=2>{html.escape(r.model)}</th>" for r in runs)
    sub = "".join("<th>raw</th><th>guarded</th>" for _ in runs)
    body = []
    for key, label in ROWS:
        cells = []
        for r in runs:
            raw = {"correct": r.raw.correct, "hallucinated": r.raw.hallucinated, "abstained": r.raw.abstained,
                   "realised_risk": r.raw.risk, "answered": r.raw.correct + r.raw.hallucinated,
                   "kept": 1.0, "hedged": 0.0}[key]
            cells.append(f"<td>{_pct(raw)}</td><td><b>{_pct(getattr(r.guarded, key))}</b></td>")
        body.append(f"<tr><td>{label}</td>{''.join(cells)}</tr>")
    return f"<table><tr><th></th>{head}</tr><tr><th></th>{sub}</tr>{''.join(body)}</table>"


def _ranked_signals(results: EvalResult) -> list[str]:
    """Signal names by evaluation AUROC, best first."""
    return sorted(results.signals, key=lambda k: -(results.signals[k].auroc or 0))


def _signals_table(results: EvalResult) -> str:
    body = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{_fmt(v.auroc)}</td><td>{_fmt(v.prr)}</td><td>{_fmt(v.cost)}</td></tr>"
        for k, v in ((k, results.signals[k]) for k in _ranked_signals(results))
    )
    det = results.detector
    body += f"<tr><td><b>detector</b></td><td><b>{_fmt(det.auroc)}</b></td><td><b>{_fmt(det.prr)}</b></td><td></td></tr>"
    return f"<table><tr><th>signal</th><th>AUROC</th><th>PRR</th><th>extra passes / question</th></tr>{body}</table>"


def _examples(records: Sequence[DecisionRecord], per_kind: int = 4) -> str:
    A, O = Action, Outcome
    kinds = [
        ("abstained, model would have hallucinated", lambda r: r.action == A.ABSTAIN and r.outcome == O.HALLUCINATED),
        ("abstained, model would have been right", lambda r: r.action == A.ABSTAIN and r.outcome == O.CORRECT),
        ("hedged", lambda r: r.action == A.HEDGE),
        ("answered, right", lambda r: r.action == A.ANSWER and r.outcome == O.CORRECT),
        ("answered, wrong", lambda r: r.action == A.ANSWER and r.outcome == O.HALLUCINATED),
    ]
    out = []
    for title, pred in kinds:
        chosen = [r for r in records if pred(r)][:per_kind]
        if not chosen:
            continue
        rows = "".join(
            f"<tr><td>{html.escape(r.question)}</td><td>{html.escape(r.gold or '–')}</td>"
            f"<td>{html.escape(r.answer)}</td><td>{html.escape(r.shown)}</td><td>{_fmt(r.p_correct)}</td>"
            f"<td>{html.escape(r.reason)}</td></tr>"
            for r in chosen
        )
        out.append(
            f"<h4>{title}</h4><table class=ex><tr><th>question</th><th>gold</th><th>model said</th><th>guard shows</th>"
            f"<th>P(correct)</th><th>why</th></tr>{rows}</table>"
        )
    return "".join(out)


def _cost(results: EvalResult) -> str:
    items = [*results.timing.to_json().items(), *results.cost.to_json().items()]
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{_fmt(v)}</td></tr>" for k, v in items)
    return f"<table><tr><th>item</th><th>value</th></tr>{rows}</table>"


CSS = """body{font-family:system-ui,sans-serif;max-width:1400px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:0.6em 0}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}
th{background:#f3f3f3}.row{display:flex;flex-wrap:wrap;gap:1.5em}.col{flex:1;min-width:420px}
table.ex td{max-width:320px}.note{color:#555;font-size:13px}"""


def write_report(runs: Sequence[EvalResult], path: str | Path, main_signals: int = 4) -> Path:
    """Write the HTML report for one or more runs (each with its decision records) to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    path = Path(path)
    first = runs[0]
    g = first.guarded
    parts = [
        f"<html><head><meta charset='utf-8'><title>nescio report</title><style>{CSS}</style></head><body>",
        "<h1>nescio: does the model say “I don't know” when it doesn't know?</h1>",
        f"<p class=note>bench <b>{html.escape(first.bench)}</b>, guard fitted on "
        f"<b>{html.escape(first.train_bench)}</b>; evaluated on n = {first.n} questions. "
        f"Target: hallucination rate among answered ≤ α = {g.alpha} with probability ≥ 1 − δ = {1 - g.delta:.2f} "
        "(Learn-then-Test, Clopper–Pearson). Rates are shares of all questions unless stated.</p>",
        "<h2>Before / after</h2>",
        _headline(runs),
    ]
    for r in runs:  # nothing certified at α: what the guard certifies at its tightest level
        if (tl := r.at_tightest_level) is not None:
            parts.append(
                f"<p class=note><b>{html.escape(r.model)}</b>: nothing could be certified at α = {g.alpha}. "
                f"The tightest level this guard certifies is α = {tl.alpha:g}: there it answers "
                f"{100 * tl.answered:.1f}% of the questions plainly, with realised risk "
                f"{_pct(tl.realised_risk)}, and keeps {_pct(tl.kept)} of the raw correct answers.</p>")
    if any(r.training for r in runs):  # a model made by `nescio train`: its data, settings, loss
        from nescio.train.report import training_html

        parts += ["<h2>Training</h2>", "<div class=row>" + "".join(f"<div class=col>{training_html(r.training)}</div>"
                                                                   for r in runs) + "</div>"]

    def per_run(render) -> str:
        return "<div class=row>" + "".join(f"<div class=col>{render(r)}</div>" for r in runs) + "</div>"

    parts += [
        "<h2>What can be certified</h2><p class=note>Every level the guard certified (δ = "
        f"{g.delta:g}), tightest first: the threshold's certified upper bound on the calibration answers it "
        "lets through, and what the same threshold does on the evaluated questions. Choosing α after seeing "
        "this table voids the guarantee at the α you chose; refit with that α.</p>",
        per_run(_frontier_table),
        "<h2>Risk–coverage</h2><p class=note>Answering questions in order of increasing risk score; lower is better. "
        "The detector combines the signals; the dotted line is a perfect detector.</p>",
        per_run(lambda r: png_img(_fig_risk_coverage(r, _ranked_signals(r)[:main_signals]))),
        "<h2>Calibration and confidence</h2><p class=note>Left: the model's own probability of its greedy answer "
        "(often as high on hallucinations as on facts); right: the guard's calibrated P(correct).</p>",
        per_run(lambda r: png_img(_fig_reliability(r)) + png_img(_fig_histograms(r))),
        "<h2>Per category</h2>",
        per_run(lambda r: png_img(_fig_categories(r))),
        "<h2>Pre-check and confidence target</h2>",
        per_run(_policy_extras),
        "<h2>Signals</h2><p class=note>AUROC separates correct from hallucinated answers on the evaluation set; "
        "PRR as in LM-Polygraph (0 random, 1 oracle); cost in extra model passes per question.</p>",
        per_run(_signals_table),
        "<h2>Example decisions</h2>",
        per_run(lambda r: _examples(r.records)),
        "<h2>Cost</h2><p class=note>Wall times were measured on the machine that ran this report.</p>",
        per_run(_cost),
        "<h2>results.json</h2>",
        per_run(lambda r: f"<details><summary>{html.escape(r.model)}</summary><pre>"
                f"{html.escape(json.dumps({k: v for k, v in r.to_json().items() if k != 'compare'}, indent=1))}</pre></details>"),
        "</body></html>",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(parts), encoding="utf-8")
    return path


def _frontier_table(r: EvalResult) -> str:
    if not r.frontier:
        return "<p class=note>No level could be certified on this calibration set.</p>"
    rows = "".join(
        f"<tr><td>{f.alpha:g}</td><td>{f.calibration_answered} ({f.calibration_hallucinated} wrong; bound "
        f"{_pct(f.calibration_risk_upper_bound)})</td><td>{_pct(f.answered)}</td><td>{_pct(f.realised_risk)}</td>"
        f"<td>{_pct(f.kept)}</td></tr>" for f in r.frontier)
    return ("<table class=frontier><tr><th>α</th><th>calibration answers</th><th>answered here</th>"
            f"<th>realised risk</th><th>kept</th></tr>{rows}</table>")


def _policy_extras(r: EvalResult) -> str:
    pc = r.precheck
    rows = [
        f"<tr><td>knowability pre-check fired</td><td>{_pct(pc.fire_rate)}</td></tr>"
        f"<tr><td>… on unanswerable questions</td><td>{_pct(pc.fire_rate_unanswerable)}</td></tr>"
        f"<tr><td>… wrongly on answerable questions</td><td>{_pct(pc.wrongful_block_rate)}</td></tr>"
        f"<tr><td>… blocking a raw-correct answer</td><td>{_pct(pc.blocked_correct_rate)}</td></tr>"
    ]
    rows += [f"<tr><td>Kalai score at t = {k}</td><td>{_fmt(v)}</td></tr>" for k, v in r.confidence_target.items()]
    return "<table>" + "".join(rows) + "</table>"
