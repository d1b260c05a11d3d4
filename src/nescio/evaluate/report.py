"""A self-contained ``report.html`` from ``results.json`` + ``decisions.jsonl`` (offline, PNGs inlined).

Sections: headline before/after table, risk–coverage curves (main signals + detector),
reliability diagram, P(correct) histograms for correct vs hallucinated answers,
per-category bars, example decisions, signal table and cost. With several runs (``--compare``)
the headline table gets one column pair per model and every figure is drawn per model,
side by side.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import numpy as np

from nescio.evaluate.metrics import reliability_bins, risk_coverage_curve

ROWS = [
    ("correct", "correct"),
    ("hallucinated", "hallucinated"),
    ("abstained", "abstained (incl. pre-check)"),
    ("hedged", "hedged"),
    ("answered", "answered (unhedged)"),
    ("realised_risk", "hallucination rate among answered"),
    ("kept", "kept: raw correct answers still given"),
]


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return f'<img src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}"/>'


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


def _fig_risk_coverage(results: dict, records: list[dict], main_signals: list[str]):
    import matplotlib.pyplot as plt

    rec = [r for r in records if r["outcome"] in ("correct", "hallucinated")]
    fig, ax = plt.subplots(figsize=(5.2, 3.8))
    if rec:
        bad = np.array([r["outcome"] == "hallucinated" for r in rec])
        for name in main_signals:
            vals = np.array([np.nan if r["signals"].get(name) is None else r["signals"][name] for r in rec], float)
            vals = np.where(np.isnan(vals), np.nanmax(vals) if np.isfinite(vals).any() else 0.0, vals)
            cov, risk = risk_coverage_curve(vals, bad)
            ax.plot(cov, risk, lw=1.2, label=name)
        p = np.array([r["score"] for r in rec], float)
        cov, risk = risk_coverage_curve(-p, bad)
        ax.plot(cov, risk, lw=2.4, color="black", label="detector")
        oracle_cov = np.linspace(1 / len(bad), 1, len(bad))
        n_good = (~bad).sum()
        ax.plot(oracle_cov, np.maximum(0, (oracle_cov * len(bad) - n_good)) / (oracle_cov * len(bad)), "k:", lw=1, label="oracle")
    alpha = results["guarded"]["alpha"]
    ax.axhline(alpha, color="crimson", ls="--", lw=1, label=f"α = {alpha}")
    ax.set_xlabel("coverage (share of the model's answers given)")
    ax.set_ylabel("hallucination rate among given")
    ax.set_ylim(0, 1)
    ax.set_title(f"Risk–coverage: {results['model']}", fontsize=10)
    ax.legend(fontsize=7)
    return fig


def _fig_reliability(results: dict, records: list[dict]):
    import matplotlib.pyplot as plt

    rec = [r for r in records if r["outcome"] in ("correct", "hallucinated") and r["p_correct"] is not None]
    fig, ax = plt.subplots(figsize=(4.2, 3.8))
    if rec:
        p = np.array([r["p_correct"] for r in rec], float)
        y = np.array([r["outcome"] == "correct" for r in rec], float)
        bins = [b for b in reliability_bins(p, y, n_bins=10) if b["count"]]
        xs, ys, ns = ([b[k] for b in bins] for k in ("mean_confidence", "accuracy", "count"))
        ax.plot([0, 1], [0, 1], "k:", lw=1)
        ax.scatter(xs, ys, s=[12 + 2 * n for n in ns], color="tab:blue", zorder=3)
        ax.plot(xs, ys, color="tab:blue")
    ece = results.get("detector", {}).get("ece")
    ax.set_title(f"Reliability (ECE {_fmt(ece)})", fontsize=10)
    ax.set_xlabel("calibrated P(correct)")
    ax.set_ylabel("observed share correct")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    return fig


def _fig_histograms(results: dict, records: list[dict]):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(8.4, 3.2), sharey=False)
    bins = np.linspace(0, 1, 21)
    for ax, key, title in [(axes[0], "msp_prob", "model's own mean token probability"), (axes[1], "p_correct", "guard P(correct)")]:
        for outcome, color in (("correct", "tab:green"), ("hallucinated", "tab:red")):
            vals = [r[key] for r in records if r["outcome"] == outcome and r.get(key) is not None]
            if vals:
                ax.hist(vals, bins=bins, alpha=0.55, color=color, label=f"{outcome} ({len(vals)})", density=True)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("probability")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("density")
    return fig


def _fig_categories(results: dict):
    import matplotlib.pyplot as plt

    cats = sorted(results.get("per_category", {}))
    fig, ax = plt.subplots(figsize=(max(6, 0.95 * len(cats)), 3.6))
    if cats:
        x = np.arange(len(cats))
        w = 0.4
        for off, which, hatch in ((-w / 2, "raw", ""), (w / 2, "guarded", "//")):
            bottom = np.zeros(len(cats))
            for key, color in (("correct", "tab:green"), ("hallucinated", "tab:red"), ("hedged", "tab:orange"), ("abstained", "tab:gray")):
                vals = np.array([results["per_category"][c][which].get(key, 0.0) or 0.0 for c in cats])
                ax.bar(x + off, vals, w, bottom=bottom, color=color, hatch=hatch, edgecolor="white",
                       label=key if which == "guarded" else None)
                bottom += vals
        ax.set_xticks(x, [c.replace("fact/", "") for c in cats], rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("share of questions")
        ax.set_title("Per category: raw (left, plain) vs guarded (right, hatched)", fontsize=10)
        ax.legend(fontsize=7, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.3))
    return fig


def _headline(runs: list[tuple[dict, list[dict]]]) -> str:
    head = "".join(f"<th colspan=2>{html.escape(r['model'])}</th>" for r, _ in runs)
    sub = "".join("<th>raw</th><th>guarded</th>" for _ in runs)
    body = []
    for key, label in ROWS:
        cells = []
        for r, _ in runs:
            raw = r["raw"].get(key) if key in ("correct", "hallucinated", "abstained") else None
            if key == "realised_risk":
                raw = r["raw"].get("risk")
            if key == "answered":
                raw = r["raw"].get("correct", 0) + r["raw"].get("hallucinated", 0)
            if key == "kept":
                raw = 1.0
            if key == "hedged":
                raw = 0.0
            cells.append(f"<td>{_pct(raw)}</td><td><b>{_pct(r['guarded'].get(key))}</b></td>")
        body.append(f"<tr><td>{label}</td>{''.join(cells)}</tr>")
    return f"<table><tr><th></th>{head}</tr><tr><th></th>{sub}</tr>{''.join(body)}</table>"


def _signals_table(results: dict) -> str:
    rows = sorted(results.get("signals", {}).items(), key=lambda kv: -(kv[1].get("auroc") or 0))
    body = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{_fmt(v.get('auroc'))}</td><td>{_fmt(v.get('prr'))}</td><td>{_fmt(v.get('cost'))}</td></tr>"
        for k, v in rows
    )
    det = results.get("detector", {})
    body += f"<tr><td><b>detector</b></td><td><b>{_fmt(det.get('auroc'))}</b></td><td><b>{_fmt(det.get('prr'))}</b></td><td></td></tr>"
    return f"<table><tr><th>signal</th><th>AUROC</th><th>PRR</th><th>extra passes / question</th></tr>{body}</table>"


def _examples(records: list[dict], per_kind: int = 4) -> str:
    kinds = [
        ("abstained, model would have hallucinated", lambda r: r["action"] == "abstain" and r["outcome"] == "hallucinated"),
        ("abstained, model would have been right", lambda r: r["action"] == "abstain" and r["outcome"] == "correct"),
        ("hedged", lambda r: r["action"] == "hedge"),
        ("answered, right", lambda r: r["action"] == "answer" and r["outcome"] == "correct"),
        ("answered, wrong", lambda r: r["action"] == "answer" and r["outcome"] == "hallucinated"),
    ]
    out = []
    for title, pred in kinds:
        chosen = [r for r in records if pred(r)][:per_kind]
        if not chosen:
            continue
        rows = "".join(
            f"<tr><td>{html.escape(r['question'])}</td><td>{html.escape(r.get('gold') or '–')}</td>"
            f"<td>{html.escape(r['answer'])}</td><td>{html.escape(r['shown'])}</td><td>{_fmt(r['p_correct'])}</td>"
            f"<td>{html.escape(r['reason'])}</td></tr>"
            for r in chosen
        )
        out.append(
            f"<h4>{title}</h4><table class=ex><tr><th>question</th><th>gold</th><th>model said</th><th>guard shows</th>"
            f"<th>P(correct)</th><th>why</th></tr>{rows}</table>"
        )
    return "".join(out)


def _cost(results: dict) -> str:
    t = results.get("timing", {})
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{_fmt(v)}</td></tr>" for k, v in t.items())
    c = results.get("cost", {})
    rows += "".join(f"<tr><td>{html.escape(k)}</td><td>{_fmt(v)}</td></tr>" for k, v in c.items())
    return f"<table><tr><th>item</th><th>value</th></tr>{rows}</table>"


CSS = """body{font-family:system-ui,sans-serif;max-width:1400px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:0.6em 0}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}
th{background:#f3f3f3}.row{display:flex;flex-wrap:wrap;gap:1.5em}.col{flex:1;min-width:420px}
table.ex td{max-width:320px}.note{color:#555;font-size:13px}"""


def write_report(runs: list[tuple[dict, list[dict]]], path: str | Path, main_signals: int = 4) -> Path:
    """Write the HTML report for one or more runs (results dict, decision records) to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    path = Path(path)
    first = runs[0][0]
    g = first["guarded"]
    parts = [
        f"<html><head><meta charset='utf-8'><title>nescio report</title><style>{CSS}</style></head><body>",
        "<h1>nescio: does the model say “I don't know” when it doesn't know?</h1>",
        f"<p class=note>bench <b>{html.escape(str(first['bench']))}</b>, guard fitted on "
        f"<b>{html.escape(str(first['train_bench']))}</b>; evaluated on n = {first['n']} questions. "
        f"Target: hallucination rate among answered ≤ α = {g['alpha']} with probability ≥ 1 − δ = {1 - g['delta']:.2f} "
        "(Learn-then-Test, Clopper–Pearson). Rates are shares of all questions unless stated.</p>",
        "<h2>Before / after</h2>",
        _headline(runs),
    ]
    for r, _ in runs:  # nothing certified at α: what the guard certifies at its tightest level
        if (tl := r.get("at_tightest_level")) is not None:
            parts.append(
                f"<p class=note><b>{html.escape(str(r['model']))}</b>: nothing could be certified at α = {g['alpha']}. "
                f"The tightest level this guard certifies is α = {tl['alpha']:g}: there it answers "
                f"{100 * tl['answered']:.1f}% of the questions plainly, with realised risk "
                f"{_pct(tl['realised_risk'])}, and keeps {_pct(tl['kept'])} of the raw correct answers.</p>")
    if any(r.get("training") for r, _ in runs):  # a model made by `nescio train`: its data, settings, loss
        from nescio.train.report import training_html

        parts += ["<h2>Training</h2>", "<div class=row>" + "".join(f"<div class=col>{training_html(r)}</div>" for r, _ in runs) + "</div>"]

    def per_run(render) -> str:
        return "<div class=row>" + "".join(f"<div class=col>{render(r, rec)}</div>" for r, rec in runs) + "</div>"

    def top_signals(r: dict) -> list[str]:
        ranked = sorted(r.get("signals", {}).items(), key=lambda kv: -(kv[1].get("auroc") or 0))
        return [k for k, _ in ranked[:main_signals]]

    parts += [
        "<h2>Risk–coverage</h2><p class=note>Answering questions in order of increasing risk score; lower is better. "
        "The detector combines the signals; the dotted line is a perfect detector.</p>",
        per_run(lambda r, rec: _png(_fig_risk_coverage(r, rec, top_signals(r)))),
        "<h2>Calibration and confidence</h2><p class=note>Left: the model's own probability of its greedy answer "
        "(often as high on hallucinations as on facts); right: the guard's calibrated P(correct).</p>",
        per_run(lambda r, rec: _png(_fig_reliability(r, rec)) + _png(_fig_histograms(r, rec))),
        "<h2>Per category</h2>",
        per_run(lambda r, rec: _png(_fig_categories(r))),
        "<h2>Pre-check and confidence target</h2>",
        per_run(lambda r, rec: _policy_extras(r)),
        "<h2>Signals</h2><p class=note>AUROC separates correct from hallucinated answers on the evaluation set; "
        "PRR as in LM-Polygraph (0 random, 1 oracle); cost in extra model passes per question.</p>",
        per_run(lambda r, rec: _signals_table(r)),
        "<h2>Example decisions</h2>",
        per_run(lambda r, rec: _examples(rec)),
        "<h2>Cost</h2><p class=note>Wall times were measured on the machine that ran this report.</p>",
        per_run(lambda r, rec: _cost(r)),
        "<h2>results.json</h2>",
        per_run(lambda r, rec: f"<details><summary>{html.escape(r['model'])}</summary><pre>"
                f"{html.escape(json.dumps(r, indent=1, default=str))}</pre></details>"),
        "</body></html>",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(parts), encoding="utf-8")
    return path


def _policy_extras(r: dict) -> str:
    rows = []
    pc = r.get("precheck")
    if pc:
        rows.append(
            f"<tr><td>knowability pre-check fired</td><td>{_pct(pc.get('fire_rate'))}</td></tr>"
            f"<tr><td>… on unanswerable questions</td><td>{_pct(pc.get('fire_rate_unanswerable'))}</td></tr>"
            f"<tr><td>… wrongly on answerable questions</td><td>{_pct(pc.get('wrongful_block_rate'))}</td></tr>"
            f"<tr><td>… blocking a raw-correct answer</td><td>{_pct(pc.get('blocked_correct_rate'))}</td></tr>"
        )
    ct = r.get("confidence_target")
    if ct:
        rows += [f"<tr><td>Kalai score at t = {k}</td><td>{_fmt(v)}</td></tr>" for k, v in ct.items()]
    if not rows:
        return "<p class=note>not run</p>"
    return "<table>" + "".join(rows) + "</table>"
