"""Does the knowability pre-check transfer? (issue 12, item 2) → benchmarks/results/precheck_transfer.json

    OMP_NUM_THREADS=1 nice -n 15 .venv/bin/python benchmarks/precheck_transfer.py             # real size
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/precheck_transfer.py --limit 40 --results /tmp/pt.json  # smoke

The guard's pre-check (:class:`nescio.policy.precheck.PreCheck`: the ``knowability_last_prompt``
probe at the last prompt token, its threshold certified with Learn-then-Test so that ≤ α of
the blocked calibration questions are answerable) is fitted in several training variants:

- ``builtin``: built-in train / calibration (what the guard does today);
- ``wide``: the 5,106-question ``wide`` benchmark's train / calibration (template families held out);
- ``wide+builtin``: both;
- ``wide+builtin/all-layers``: both, the probe's layer searched over every layer instead of the
  guard's 6 (``PreCheck(layers=...)``);
- ``wide+builtin+user``: both plus a "user set" (answerable TriviaQA / NQ-open questions outside
  the evaluated samples, 60 / 40 into train / calibration); ``wide+builtin+user/fpr``: the same
  probe, its threshold instead certified on the user set's answerable calibration questions
  (share blocked ≤ α, one-sided Clopper–Pearson at δ: a wrongful-block guarantee).

With ``--per-layer``, the wide+builtin pre-check forced to each layer in turn; with
``--multilayer``, one probe on ten layers' residuals concatenated (diagnostics).
Per variant the results also hold an *oracle* (the lowest threshold blocking ≤ 5% of the
raw-correct answers, chosen on the evaluation sets themselves: the best this probe could do)
and the whole trade-off curve.

Each is measured, never trained, on the four ../shared unanswerable sets (NEC, SelfAware,
FalseQA, ForecastBench: fire rate; their answerable halves: over-refusal), on TriviaQA and
NQ-open (fire rate on all; share of the raw model's *correct* greedy answers it blocks) and on
the ``wide:test`` / ``builtin:test`` splits. The issue's target: blocks ≤ 5% of the raw
model's correct answers on TriviaQA and NQ-open while firing on ≥ 80% of the unanswerable
questions of each of the four sets.

Only TriviaQA and NQ-open are generated (greedy, the guard's 24-token budget, default prompt,
batch 16), to grade the raw model; every other question gets one prefill-only pass
(``max_new_tokens=1``) capturing the residual stream at the last prompt token of every layer,
as ``guard.precheck_config_`` does. Passes are cached (resumable) under
``runs/precheck_transfer/``; results are rewritten after each stage, so an interrupted run
leaves what it finished.
"""

from __future__ import annotations

import random
import time
import warnings
from pathlib import Path

import numpy as np

import harness
from harness import ROOT

RESULTS = harness.RESULTS_DIR / "precheck_transfer.json"
RUNS = harness.RUNS_DIR / "precheck_transfer"
SHARED_UNANSWERABLE = {"nec": "nec/NEC_unanswerable.jsonl", "selfaware": "selfaware/SelfAware.json",
                       "falseqa": "falseqa/test.csv", "forecastbench": "forecastbench/2026-08-16-llm.json"}
SHARED_ANSWERABLE_HALVES = {"nec": "nec/NEC_answerable.jsonl", "selfaware": "selfaware/SelfAware.json",
                            "falseqa": "falseqa/test.csv"}
FACTUAL = {"triviaqa": "triviaqa/triviaqa_1k.jsonl", "nq_open": "nq_open/NQ-open.dev.jsonl"}
VARIANTS = {  # name → (train specs, calibration specs, layers searched: None = the guard's subset, "all")
    "builtin": (["builtin:train"], ["builtin:calibration"], None),
    "wide": (["wide:train"], ["wide:calibration"], None),
    "wide+builtin": (["wide:train", "builtin:train"], ["wide:calibration", "builtin:calibration"], None),
    "wide+builtin/all-layers": (["wide:train", "builtin:train"], ["wide:calibration", "builtin:calibration"], "all"),
    "wide+builtin+user": (["wide:train", "builtin:train", "user:train"],
                          ["wide:calibration", "builtin:calibration", "user:calibration"], None),
}
"""``user``: the "any user set" of the issue, played by TriviaQA and NQ-open questions *outside*
the evaluated samples (answerable only, no answers or grades needed: a user's own questions
the model is expected to answer), 60 / 40 into train / calibration."""
TARGET_BLOCK_CORRECT = 0.05
TARGET_FIRE = 0.80


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _sample(items, n, seed):
    items = list(items)
    if n is None or len(items) <= n:
        return items
    random.Random(seed).shuffle(items)
    return items[:n]


# ------------------------------------------------------------------ question sets
def question_sets(args) -> dict[str, list]:
    """Every set the benchmark reads, by name (seeded samples where capped)."""
    from nescio.data import load_questions

    sets: dict[str, list] = {}
    for bench in ("builtin", "wide"):
        for split in ("train", "calibration", "test"):
            sets[f"{bench}:{split}"] = _sample(load_questions(f"{bench}:{split}"), args.limit, args.seed)
    for name, rel in SHARED_UNANSWERABLE.items():
        if (pool := harness.shared_questions(name, rel, warn=log)) is None:
            continue
        pool = [q for q in pool if not q.answerable]
        sets[f"{name}/unanswerable"] = _sample(pool, min(args.n_shared, args.limit or args.n_shared), args.seed)
    for name, rel in SHARED_ANSWERABLE_HALVES.items():
        if (pool := harness.shared_questions(name, rel)) is not None:
            pool = [q for q in pool if q.answerable]
            sets[f"{name}/answerable"] = _sample(pool, min(args.n_shared, args.limit or args.n_shared), args.seed)
    for name, rel in FACTUAL.items():
        if (pool := harness.shared_questions(name, rel, warn=log)) is None:
            continue
        pool = [q for q in pool if q.answerable]
        sets[name] = _sample(pool, min(args.n_factual, args.limit or args.n_factual), args.seed)
        taken = {q.id for q in sets[name]}
        rest = _sample([q for q in pool if q.id not in taken], min(args.n_user, args.limit or args.n_user), args.seed + 1)
        cut = int(round(0.6 * len(rest)))
        sets.setdefault("user:train", []).extend(rest[:cut])
        sets.setdefault("user:calibration", []).extend(rest[cut:])
    return sets


def passes(args, lm, sets: dict[str, list], timing: dict) -> dict[str, list]:
    """Prefill-only passes for every set, greedy generations for the factual ones (cached)."""
    from nescio.evaluate.run import generate_stored
    from nescio.types import CaptureSpec, GenerationConfig

    capture = (CaptureSpec("resid", "all", ("last_prompt",)),)
    prefill = GenerationConfig(max_new_tokens=1, batch_size=16, capture=capture)
    greedy = GenerationConfig(max_new_tokens=args.max_new_tokens, batch_size=16, capture=capture)
    out = {}
    for name, qs in sets.items():
        cfg, kind = (greedy, "greedy") if name in FACTUAL else (prefill, "prefill")
        t = time.perf_counter()
        log(f"{kind} {name}: {len(qs)} questions")
        out[name] = generate_stored(lm, qs, cfg, RUNS / "passes" / name.replace(":", "_").replace("/", "_"),
                                    progress=args.progress)
        took = time.perf_counter() - t
        log(f"{kind} {name}: done in {took:.0f} s")
        if took > 0.02 * len(qs) or name not in timing:  # a cached pass keeps the timing of the run that made it
            timing[name] = {"kind": kind, "n": len(qs), "s": took, "s_per_question": took / max(len(qs), 1)}
    return out


# ------------------------------------------------------------------ measuring
def _rate(mask: np.ndarray) -> float | None:
    return float(mask.mean()) if mask.size else None


def _auroc(pos: np.ndarray, neg: np.ndarray) -> float | None:
    """AUROC of the scores for separating ``pos`` from ``neg`` (non-finite scores left out); None when a side is empty."""
    from nescio.evaluate.metrics import auroc

    pos, neg = pos[np.isfinite(pos)], neg[np.isfinite(neg)]
    v = auroc(np.r_[pos, neg], np.r_[np.ones(pos.size), np.zeros(neg.size)])
    return None if np.isnan(v) else v


def _upper95(k: int, n: int) -> float | None:
    """One-sided 95% Clopper–Pearson upper bound on k of n (the risk policy's); None when n is 0."""
    from nescio.policy.risk import clopper_pearson_upper

    return float(clopper_pearson_upper(k, n, 0.05)) if n else None


def figures(scores: dict[str, np.ndarray], threshold: float, data: dict) -> dict:
    """Per set: what a pre-check firing at ``score >= threshold`` does."""
    out = {}
    for name, s in scores.items():
        fired = np.isfinite(s) & (np.nan_to_num(s, nan=-np.inf) >= threshold)
        if name in FACTUAL:
            correct = data["correct"][name]
            k, n = int((fired & correct).sum()), int(correct.sum())
            out[name] = {"n": int(s.size), "fire_rate_all": _rate(fired), "n_raw_correct": n,
                         "blocked_raw_correct": k, "blocked_raw_correct_rate": k / n if n else None,
                         "blocked_raw_correct_upper95": _upper95(k, n)}
        elif name.endswith(":test"):
            ans = data["answerable"][name]
            out[name] = {"n": int(s.size), "fire_rate_unanswerable": _rate(fired[~ans]),
                         "wrongful_block_rate": _rate(fired[ans])}
        elif name.endswith("/unanswerable"):
            out[name] = {"n": int(s.size), "fire_rate": _rate(fired)}
        elif name.endswith("/answerable"):
            out[name] = {"n": int(s.size), "fire_rate (over-refusal)": _rate(fired)}
    return out


def targets(fig: dict) -> dict:
    t = {}
    for name in FACTUAL:
        if name in fig:
            v = fig[name]["blocked_raw_correct_rate"]
            t[f"{name}_blocks_raw_correct_le_0.05"] = {"value": v, "target": TARGET_BLOCK_CORRECT,
                                                       "met": v is not None and v <= TARGET_BLOCK_CORRECT}
    for name in SHARED_UNANSWERABLE:
        key = f"{name}/unanswerable"
        if key in fig:
            v = fig[key]["fire_rate"]
            t[f"{name}_fires_ge_0.80"] = {"value": v, "target": TARGET_FIRE, "met": v is not None and v >= TARGET_FIRE}
    t["all_met"] = all(x["met"] for x in t.values())
    return t


def oracle(scores: dict[str, np.ndarray], data: dict) -> dict:
    """The best threshold chosen on the evaluation sets themselves (not a deployable choice):
    the lowest threshold (on the scores themselves, not the grid) that blocks ≤ 5% of the
    raw-correct answers of TriviaQA and of NQ-open; the fire rates there show how far the
    certified threshold is from what this probe could do at best."""
    need = []
    for name in FACTUAL:
        if name not in scores:
            continue
        c = np.sort(np.nan_to_num(scores[name][data["correct"][name]], nan=-np.inf))[::-1]
        k = int(np.floor(TARGET_BLOCK_CORRECT * c.size))  # blocks allowed
        if c.size > k:
            need.append(np.nextafter(c[k], np.inf))  # just above the (k+1)-th highest correct score
    if not need:
        return {"threshold": None, "note": "no raw-correct answers to protect"}
    th = float(max(need))
    fig = figures(scores, th, data)
    return {"threshold": th, "figures": {k: v for k, v in fig.items() if k.endswith("/unanswerable") or k in FACTUAL},
            "targets": targets(fig),
            "note": "lowest threshold with blocked raw-correct ≤ 5% on both TriviaQA and NQ-open, chosen on the "
                    "evaluation sets themselves: an upper bound on what this probe can do, not a certified choice"}


def fpr_threshold(scores: np.ndarray, alpha: float, delta: float) -> float:
    """The lowest grid threshold at which the share of these (answerable) questions it would
    block is certified ≤ ``alpha`` (one-sided Clopper–Pearson at ``delta``, fixed-sequence from
    the strictest): a wrongful-block-rate guarantee, where the pre-check's own certification
    bounds the share of answerable questions among those blocked."""
    from nescio.policy.risk import DEFAULT_GRID, clopper_pearson_upper

    s = scores[np.isfinite(scores)]
    best = float("inf")
    for th in DEFAULT_GRID:  # strictest first
        if float(clopper_pearson_upper(int((s >= th).sum()), s.size, delta)) > alpha:
            break
        best = float(th)
    return best


def fit_variant(name: str, gens: dict[str, list], args, n_layers: int):
    from nescio.policy.precheck import PreCheck

    train_specs, cal_specs, layers = VARIANTS[name]
    train = [g for s in train_specs for g in gens[s]]
    cal = [g for s in cal_specs for g in gens[s]]
    pre = PreCheck(alpha=args.precheck_alpha, delta=args.delta, layers=tuple(range(n_layers)) if layers == "all" else None)
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        pre.fit(train, None, cal)
    return pre, time.perf_counter() - t, len(train), len(cal)


def measure(pre, gens: dict[str, list], data: dict) -> tuple[dict, dict]:
    eval_sets = [n for n in gens if not n.endswith((":train", ":calibration"))]
    scores = {n: pre.check(gens[n]).scores for n in eval_sets}
    return scores, figures(scores, pre.threshold_, data)


def variant_result(name, pre, fit_s, n_train, n_cal, scores, fig, data) -> dict:
    probe = pre.signals_.estimators_[pre.signal]
    unans = np.concatenate([scores[f"{n}/unanswerable"] for n in SHARED_UNANSWERABLE if f"{n}/unanswerable" in scores] or [np.zeros(0)])
    known = np.concatenate([scores[n] for n in FACTUAL if n in scores] or [np.zeros(0)])
    known_correct = np.concatenate([scores[n][data["correct"][n]] for n in FACTUAL if n in scores] or [np.zeros(0)])
    th = float(pre.threshold_)
    return {
        "train": VARIANTS[name][0], "calibration": VARIANTS[name][1], "n_train": n_train, "n_calibration": n_cal,
        "layers_searched": "all" if VARIANTS[name][2] == "all" else "guard default (6 of the upper three quarters)",
        "layer": probe.layer_, "C": probe.C_, "cv_auroc_train": probe.cv_auroc_,
        "cv_auroc_by_layer": probe.cv_auroc_by_layer_,
        "threshold": th if np.isfinite(th) else "inf", "certified": bool(np.isfinite(th)),
        "calibration_blocked": int(pre.risk_.n_answered_[list(pre.risk_.grid_).index(th)]) if th in set(pre.risk_.grid_) else None,
        "auroc_shared_unanswerable_vs_trivia_nq": _auroc(unans, known),
        "auroc_shared_unanswerable_vs_raw_correct_trivia_nq": _auroc(unans, known_correct),
        "figures": fig, "targets": targets(fig), "oracle": oracle(scores, data), "curve": tradeoff(scores, data),
        "fit_s": fit_s,
    }


def tradeoff(scores: dict[str, np.ndarray], data: dict, n: int = 201) -> dict:
    """The whole trade-off of one probe: for thresholds between 0 and 1 (and the score
    quantiles above 0.99, where these probes saturate), the share of TriviaQA + NQ-open raw-correct
    answers blocked (pooled) and each shared unanswerable set's fire rate."""
    grid = np.unique(np.r_[np.linspace(0, 1, n), 1 - np.logspace(-6, -2, 40)])
    correct = np.concatenate([scores[k][data["correct"][k]] for k in FACTUAL if k in scores])
    out = {"threshold": grid.round(8).tolist(),
           "blocked_raw_correct_pooled": [float((correct >= t).mean()) if correct.size else None for t in grid]}
    for name in SHARED_UNANSWERABLE:
        key = f"{name}/unanswerable"
        if key in scores:
            out[key] = [float((scores[key] >= t).mean()) for t in grid]
    return out


def per_layer(gens, data, args, n_layers: int) -> dict:
    """Diagnostic: the wide+builtin pre-check with its probe forced to each layer in turn."""
    from nescio.policy.precheck import PreCheck

    train = [g for s in VARIANTS["wide+builtin"][0] for g in gens[s]]
    cal = [g for s in VARIANTS["wide+builtin"][1] for g in gens[s]]
    out = {}
    for layer in range(n_layers):
        pre = PreCheck(alpha=args.precheck_alpha, delta=args.delta, layers=(layer,))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            pre.fit(train, None, cal)
        scores, fig = measure(pre, gens, data)
        unans = np.concatenate([scores[f"{n}/unanswerable"] for n in SHARED_UNANSWERABLE if f"{n}/unanswerable" in scores])
        known = np.concatenate([scores[n] for n in FACTUAL if n in scores])
        orc = oracle(scores, data)
        out[str(layer)] = {
            "threshold": float(pre.threshold_) if np.isfinite(pre.threshold_) else "inf",
            "auroc_shared_unanswerable_vs_trivia_nq": _auroc(unans, known),
            "fire": {k: v.get("fire_rate") for k, v in fig.items() if k.endswith("/unanswerable")},
            "blocked_raw_correct": {k: fig[k]["blocked_raw_correct_rate"] for k in FACTUAL if k in fig},
            "oracle_threshold": orc.get("threshold"),
            "oracle_fire": {k: v["fire_rate"] for k, v in orc.get("figures", {}).items() if k.endswith("/unanswerable")},
        }
        log(f"layer {layer}: AUROC {out[str(layer)]['auroc_shared_unanswerable_vs_trivia_nq']:.3f} "
            f"threshold {out[str(layer)]['threshold']}")
    return out


def multilayer(gens, data, args, variant: str, layers=tuple(range(6, 26, 2)), C: float = 0.001) -> dict:
    """Diagnostic, not a PreCheck: one scaled logistic regression on the last-prompt residuals of
    several layers concatenated, trained on ``variant``'s train sets, its threshold certified on
    its calibration sets exactly as PreCheck does (Learn-then-Test, ≤ α answerable among blocked)."""
    from nescio.policy.risk import RiskController
    from nescio.signals.features import activation_tensor, fit_scaled_logistic, linear_probability

    def feats(gs):
        return activation_tensor(list(gs), "resid", list(layers), "last_prompt").reshape(len(gs), -1)

    train_specs, cal_specs, _ = VARIANTS[variant]
    train = [g for s in train_specs for g in gens[s]]
    cal = [g for s in cal_specs for g in gens[s]]
    t = time.perf_counter()
    params = fit_scaled_logistic(feats(train), np.array([0 if g.question.answerable else 1 for g in train]),
                                 C=C, random_state=args.seed)
    s_cal = linear_probability(feats(cal), *params)
    risk = RiskController(args.precheck_alpha, args.delta, n_starts=1).fit(
        s_cal, np.array([g.question.answerable for g in cal]))
    th = float(risk.threshold_)
    scores = {n: linear_probability(feats(gens[n]), *params) for n in gens if not n.endswith((":train", ":calibration"))}
    fig = figures(scores, th, data)
    unans = np.concatenate([scores[f"{n}/unanswerable"] for n in SHARED_UNANSWERABLE if f"{n}/unanswerable" in scores])
    known = np.concatenate([scores[n] for n in FACTUAL if n in scores])
    return {"train": train_specs, "calibration": cal_specs, "layers": list(layers), "C": C,
            "threshold": th if np.isfinite(th) else "inf", "certified": bool(np.isfinite(th)),
            "auroc_shared_unanswerable_vs_trivia_nq": _auroc(unans, known), "figures": fig, "targets": targets(fig),
            "oracle": oracle(scores, data), "curve": tradeoff(scores, data), "fit_s": time.perf_counter() - t}


# ------------------------------------------------------------------ plot
def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    variants = [v for v in results["variants"] if "figures" in results["variants"][v]]
    if not variants:
        return
    cols = []
    for n in SHARED_UNANSWERABLE:
        cols.append((f"{n}/unanswerable", "fire_rate", f"{n}\nunanswerable\n(fire ↑)"))
    for n in FACTUAL:
        cols.append((n, "blocked_raw_correct_rate", f"{n}\nraw-correct\nblocked ↓"))
        cols.append((n, "fire_rate_all", f"{n}\nall fired"))
    cols += [("wide:test", "fire_rate_unanswerable", "wide:test\nunanswerable"),
             ("wide:test", "wrongful_block_rate", "wide:test\nanswerable"),
             ("builtin:test", "fire_rate_unanswerable", "builtin:test\nunanswerable"),
             ("builtin:test", "wrongful_block_rate", "builtin:test\nanswerable")]
    cols = [c for c in cols if any(c[0] in results["variants"][v]["figures"] for v in variants)]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(max(10, 1.1 * len(cols)) + 6, 5.2),
                                  gridspec_kw={"width_ratios": [max(10, 1.1 * len(cols)), 6]})
    w = 0.8 / len(variants)
    x = np.arange(len(cols))
    for i, v in enumerate(variants):
        f = results["variants"][v]["figures"]
        vals = [(f.get(s) or {}).get(k) for s, k, _ in cols]
        ax.bar(x + (i - (len(variants) - 1) / 2) * w, [np.nan if y is None else y for y in vals], w,
               label=f"{v} (t = {results['variants'][v]['threshold']})")
    ax.axhline(TARGET_FIRE, color="green", ls="--", lw=0.8)
    ax.axhline(TARGET_BLOCK_CORRECT, color="red", ls="--", lw=0.8)
    ax.set_xticks(x, [c[2] for c in cols], fontsize=7)
    ax.set_ylim(0, 1)
    ax.set_ylabel("share")
    ax.set_title(f"Knowability pre-check by training set ({results['model']}); targets: fire ≥ 80% (green), block ≤ 5% (red)",
                 fontsize=9)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3)
    # the trade-off: every threshold of each probe; the target is the top-left box
    for i, v in enumerate(variants):
        c = results["variants"][v].get("curve")
        if not c:
            continue
        sets = [k for k in c if k.endswith("/unanswerable")]
        worst = np.min([c[k] for k in sets], axis=0)
        ax2.plot(c["blocked_raw_correct_pooled"], worst, color=f"C{i}", lw=1.2, label=v)
        f = results["variants"][v]["figures"]
        bx = [f[k]["blocked_raw_correct"] for k in FACTUAL if k in f]
        nx = [f[k]["n_raw_correct"] for k in FACTUAL if k in f]
        wy = min(f[k]["fire_rate"] for k in sets)
        ax2.plot(sum(bx) / max(sum(nx), 1), wy, "o", color=f"C{i}", ms=6)
    for i, (v, r) in enumerate((results.get("multilayer_diagnostic") or {}).items()):
        c = r["curve"]
        worst = np.min([c[k] for k in c if k.endswith("/unanswerable")], axis=0)
        ax2.plot(c["blocked_raw_correct_pooled"], worst, color="k", ls=("--", ":")[i % 2], lw=1.2,
                 label=f"diagnostic: {v}, 10 layers concatenated")
    ax2.legend(fontsize=6, loc="lower right")
    ax2.add_patch(plt.Rectangle((0, TARGET_FIRE), TARGET_BLOCK_CORRECT, 1 - TARGET_FIRE, color="green", alpha=0.2))
    ax2.set_xlim(0, 1)
    ax2.set_ylim(0, 1)
    ax2.set_xlabel("TriviaQA + NQ-open raw-correct answers blocked (pooled)", fontsize=8)
    ax2.set_ylabel("fire rate on the worst of the four unanswerable sets", fontsize=8)
    ax2.set_title("every threshold (line), certified one (dot); target: green box", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ------------------------------------------------------------------ main
def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def main() -> None:
    ap = harness.parser(__doc__)
    ap.add_argument("--model", default=harness.DEFAULT_MODEL)
    ap.add_argument("--limit", type=int, default=None, help="cap every set and split (smoke runs)")
    ap.add_argument("--n-shared", type=int, default=500, help="questions per ../shared set and half (seeded sample)")
    ap.add_argument("--n-factual", type=int, default=700, help="TriviaQA / NQ-open questions generated greedily (seeded sample)")
    ap.add_argument("--n-user", type=int, default=300,
                    help="TriviaQA / NQ-open questions outside the evaluated samples used as the 'user set' (each)")
    ap.add_argument("--max-new-tokens", type=int, default=24, help="answer budget of the greedy pass (the guard's)")
    ap.add_argument("--precheck-alpha", type=float, default=0.05)
    ap.add_argument("--delta", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--variant", action="append", choices=list(VARIANTS), help="default: all")
    ap.add_argument("--per-layer", action="store_true", help="also the wide+builtin pre-check forced to each layer")
    ap.add_argument("--multilayer", action="store_true",
                    help="also a diagnostic probe on layers 6, 8, …, 24 concatenated (not a PreCheck estimator)")
    ap.add_argument("--results", type=Path, default=RESULTS)
    ap.add_argument("--no-progress", dest="progress", action="store_false")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    from nescio.models import load_model
    from nescio.policy.answering import grade_outcomes
    from nescio.policy.guard import _n_layers
    from nescio.types import Outcome

    t0 = time.perf_counter()
    cmd = harness.command(__file__, "OMP_NUM_THREADS=1 nice -n 15 python")
    results = {"model": args.model, "command": cmd, "settings": {k: v for k, v in vars(args).items() if k != "results"} | {"results": _rel(args.results)},
               "targets": {"blocks_raw_correct_le": TARGET_BLOCK_CORRECT, "fires_on_unanswerable_ge": TARGET_FIRE},
               "machine": harness.machine(torch_threads=torch.get_num_threads(),
                                          note="2 shared CPU cores, RL training running alongside; timings inflated"),
               "variants": {}, "timing": {}}

    def write():
        results["timing"]["total_s"] = time.perf_counter() - t0
        harness.write_results(args.results, results)

    lm = load_model(args.model)
    n_layers = _n_layers(lm)
    sets = question_sets(args)
    results["sets"] = {k: len(v) for k, v in sets.items()}
    previous = harness.read_results(args.results)
    pass_timing = previous.get("timing", {}).get("passes", {})
    t = time.perf_counter()
    gens = passes(args, lm, sets, pass_timing)
    results["timing"]["passes"] = pass_timing
    results["timing"]["passes_s_this_run"] = time.perf_counter() - t
    results["timing"]["passes_s_uncached"] = sum(v["s"] for v in pass_timing.values())
    data = {"correct": {}, "answerable": {}}
    raw = {}
    for name in FACTUAL:
        if name in gens:
            oc = np.array(grade_outcomes(gens[name]), dtype=object)
            data["correct"][name] = oc == Outcome.CORRECT
            raw[name] = {"n": len(oc), "correct": float((oc == Outcome.CORRECT).mean()),
                         "hallucinated": float((oc == Outcome.HALLUCINATED).mean()),
                         "abstained": float((oc == Outcome.ABSTAINED).mean())}
    for name in gens:
        data["answerable"][name] = np.array([g.question.answerable for g in gens[name]], dtype=bool)
    results["raw_model"] = raw
    log(f"raw model: {raw}")
    write()
    for name in args.variant or list(VARIANTS):
        log(f"variant {name}: fitting")
        pre, fit_s, n_tr, n_ca = fit_variant(name, gens, args, n_layers)
        scores, fig = measure(pre, gens, data)
        results["variants"][name] = variant_result(name, pre, fit_s, n_tr, n_ca, scores, fig, data)
        tg = results["variants"][name]["targets"]
        log(f"variant {name}: layer {pre.signals_.estimators_[pre.signal].layer_}, threshold {pre.threshold_}, "
            + ", ".join(f"{k} {v['value'] if v['value'] is None else round(v['value'], 3)}{'' if v['met'] else ' MISSED'}"
                        for k, v in tg.items() if k != "all_met"))
        write()
        plot(results, args.results.with_suffix(".png"))
        if name == "wide+builtin+user":  # the same probe, its threshold certified on the user's answerable questions
            cal_scores = pre.check(gens["user:calibration"]).scores
            th = fpr_threshold(cal_scores, args.precheck_alpha, args.delta)
            pre.threshold_ = th
            scores, fig = measure(pre, gens, data)
            r = variant_result(name, pre, fit_s, n_tr, n_ca, scores, fig, data)
            r["threshold_rule"] = (f"lowest grid threshold blocking ≤ {args.precheck_alpha:g} of the user-set calibration "
                                   f"questions ({len(cal_scores)}, all answerable), certified with a one-sided "
                                   f"Clopper-Pearson bound at δ = {args.delta:g}")
            r["calibration_blocked"] = int((cal_scores >= th).sum())
            results["variants"][name + "/fpr"] = r
            log(f"variant {name}/fpr: threshold {th}, " + ", ".join(
                f"{k} {v['value'] if v['value'] is None else round(v['value'], 3)}{'' if v['met'] else ' MISSED'}"
                for k, v in r["targets"].items() if k != "all_met"))
            write()
            plot(results, args.results.with_suffix(".png"))
    if args.multilayer:
        results["multilayer_diagnostic"] = {}
        for v in ("wide+builtin", "wide+builtin+user"):
            r = results["multilayer_diagnostic"][v] = multilayer(gens, data, args, v)
            log(f"multi-layer {v}: threshold {r['threshold']}, AUROC {r['auroc_shared_unanswerable_vs_trivia_nq']:.3f}, "
                + ", ".join(f"{k} {v_['value']:.3f}{'' if v_['met'] else ' MISSED'}" for k, v_ in r["targets"].items()
                            if k != "all_met" and v_["value"] is not None))
            write()
    if args.per_layer:
        t = time.perf_counter()
        results["per_layer_wide+builtin"] = per_layer(gens, data, args, n_layers)
        results["timing"]["per_layer_s"] = time.perf_counter() - t
    write()
    plot(results, args.results.with_suffix(".png"))
    log(f"done in {time.perf_counter() - t0:.0f} s → {args.results}")


if __name__ == "__main__":
    main()
