"""Attention-signal benchmark: the attention signals side by side with nescio's other signals, same answers.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/attention_signal.py            # full: 304 test questions
    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/attention_signal.py --limit 40 # a smoke run

One generation pass over the built-in **test** split (``--limit N``: a seeded random subset)
captures what the registry's ``attention`` signals declare (``attn_logdiag`` of the middle
layer; ``--all-layers``: every layer, for a per-layer table) and, with ``--p-true`` /
``--samples K``, what P(True) and the sampling signals need. The graded answers
(hallucinated vs correct, abstentions left out) are scored by every computed signal that
the generation supports — logits, attention, and optionally reflexive / sampling — so every
AUROC in the table is measured on the same answers; also on the answerable (``fact/``)
questions only, and next to the length confounds (the attention diagonal falls with the
number of keys a token sees, and the built-in split's unanswerable questions are longer:
:func:`confounds`). Fitted probes are left out (they need the train split:
``benchmarks/detection.py``). Also: wall time per question of greedy
generation with and without the attention capture, on the first ``--timing-questions``
questions (the capture must not change the answers: checked, token for token).

Generations are cached (``benchmarks/detection.py``'s ``cached_generate``) under
``runs/attention_cache``; results go to ``benchmarks/results/attention_signal.json``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

import harness
from detection import _subset, cached_generate, labels_of, score_table

BASE_FAMILIES = ("logits", "attention")


def per_layer_aurocs(generations, y) -> dict:
    """AUROC of both attention formulas at every captured layer (``--all-layers``)."""
    from nescio.evaluate.metrics import auroc
    from nescio.signals.attention import SITE

    layers = sorted({int(k.split("/")[1]) for g in generations for k in g.activations if k.startswith(SITE + "/")})
    out = {}
    for layer in layers:
        full, ans = [], []
        for g in generations:
            a = np.asarray(g.activations[f"{SITE}/{layer}/answer"], dtype=float)
            p = np.asarray(g.activations[f"{SITE}/{layer}/prompt_mean"], dtype=float)
            full.append(-(p * g.prompt_token_count + a.sum(0)).mean())
            ans.append(-a.mean() if a.shape[0] else np.nan)
        row = {}
        for name, v in (("attention_score", np.array(full)), ("attention_score_answer", np.array(ans))):
            keep = ~np.isnan(y) & ~np.isnan(v)
            row[name] = auroc(v[keep], y[keep])
        out[layer] = row
    return out


def confounds(generations, y, table, attention: list[str]) -> dict:
    """What the attention signals may be reading instead: length.

    log a_tt has a positional baseline: a token that spread its attention evenly over the
    n_t keys it sees would have log a_tt = −log n_t, so sums and means of it fall with prompt
    and answer length. Reported: the AUROC of the prompt and answer lengths themselves, each
    attention signal's correlation with the prompt length, and a diagnostic (not registered)
    answer score measured against that uniform baseline, −mean_t (log a_tt + log n_t)."""
    from nescio.evaluate.metrics import auroc
    from nescio.signals.attention import SITE, _layer

    keep = ~np.isnan(y)
    plen = np.array([g.prompt_token_count for g in generations], dtype=float)
    alen = np.array([len(g.token_ids) for g in generations], dtype=float)
    vs_uniform = []
    for g in generations:
        layer = _layer(g, "answer")
        a = np.asarray(g.activations[f"{SITE}/{layer}/answer"], dtype=float) if layer is not None else np.zeros((0, 1))
        n_keys = g.prompt_token_count + 1 + np.arange(a.shape[0])  # keys answer token t sees (itself included)
        vs_uniform.append(-(a.mean(1) + np.log(n_keys)).mean() if a.shape[0] else np.nan)
    v = np.array(vs_uniform)
    ok = keep & ~np.isnan(v)
    return {
        "auroc_prompt_tokens": auroc(plen[keep], y[keep]),
        "auroc_answer_tokens": auroc(alen[keep], y[keep]),
        "correlation_with_prompt_tokens": {n: float(np.corrcoef(np.nan_to_num(table.values[n]), plen)[0, 1])
                                           for n in attention},
        "auroc_answer_vs_uniform_attention (diagnostic, not registered)": auroc(v[ok], y[ok]),
    }


def timing(lm, questions, capture, max_new_tokens: int) -> dict:
    """Seconds per question of greedy generation without and with the attention capture (each run twice, the
    faster kept), and whether the answers are the same token for token."""
    from nescio.models import generate
    from nescio.types import GenerationConfig

    out, answers = {}, {}
    for label, cap in (("greedy", ()), ("greedy+attention_capture", capture)):
        cfg = GenerationConfig(max_new_tokens=max_new_tokens, capture=cap, seed=1)
        best = float("inf")
        for _ in range(2):
            t0 = time.perf_counter()
            gens = generate(lm, questions, cfg, progress=False)
            best = min(best, time.perf_counter() - t0)
        out[label] = best / max(len(questions), 1)
        answers[label] = [g.token_ids for g in gens]
    out["relative"] = out["greedy+attention_capture"] / out["greedy"]
    out["same_answers"] = answers["greedy"] == answers["greedy+attention_capture"]
    out["n_questions"] = len(questions)
    return out


def run(args) -> dict:
    import torch

    from nescio.data import builtin_questions
    from nescio.models import load_model
    from nescio.signals import capture_needs, compute_signals, list_signals, signal_info
    from nescio.types import CaptureSpec, GenerationConfig

    torch.set_num_threads(args.threads)
    lm = load_model(args.model)
    attention = list_signals("attention")
    names = [n for n in list_signals() if signal_info(n).family in BASE_FAMILIES]
    if args.p_true:
        names.append("one_minus_p_true")
    if args.samples:
        names += [n for n in list_signals("sampling")]
    needs = capture_needs(names, n_samples=args.samples or None)
    capture = needs["capture"]
    if args.all_layers:
        capture = tuple(CaptureSpec(c.site, "all", c.positions) for c in capture)
    cfg = GenerationConfig(**{**needs, "capture": capture, "max_new_tokens": args.max_new_tokens, "seed": 0})
    questions = _subset(builtin_questions("test"), args.limit)
    t0 = time.perf_counter()
    gens, seconds = cached_generate(lm, questions, cfg, Path(args.cache_dir) / args.model / "builtin_test",
                                    label="builtin test")
    y, outcomes = labels_of(gens)
    table = compute_signals(gens, names)
    scores = score_table(table, y, names)
    res = {
        "command": harness.command(__file__),
        "smoke": bool(args.limit and args.limit < 304),  # a subset of the split: a smoke figure, not a result
        "model": args.model, "model_id": lm.model_id, "n_layers": lm.n_layers,
        "attention_layer": lm.n_layers // 2,
        "split": "builtin test", "n": len(gens), "max_new_tokens": args.max_new_tokens,
        "outcomes": {o: sum(1 for x in outcomes if x.value == o) for o in ("correct", "hallucinated", "abstained")},
        "generation_seconds_per_question": seconds,
        "wall_seconds": time.perf_counter() - t0,
        "capture": [{"site": c.site, "layers": c.layers, "positions": list(c.positions)} for c in capture],
        "signals": scores,
        "ranking_by_auroc": sorted(names, key=lambda n: -np.nan_to_num(scores[n]["auroc"], nan=-1.0)),
    }
    fact = np.array([g.question.category.startswith("fact/") for g in gens])
    res["signals_fact_questions_only"] = score_table(table, y, names, mask=fact)
    res["confounds"] = confounds(gens, y, table, attention)
    if args.all_layers:
        res["attention_auroc_by_layer"] = per_layer_aurocs(gens, y)
    if args.timing_questions:
        res["timing"] = timing(lm, questions[: args.timing_questions], capture_needs(attention)["capture"],
                               args.max_new_tokens)
    return res


def main() -> None:
    ap = harness.parser(__doc__)
    ap.add_argument("--model", default=harness.DEFAULT_MODEL)
    ap.add_argument("--limit", type=int, default=0, help="built-in test questions, a seeded subset (0 = all 304)")
    ap.add_argument("--max-new-tokens", type=int, default=16)
    ap.add_argument("--p-true", action="store_true", help="also one_minus_p_true (one extra prefill per question)")
    ap.add_argument("--samples", type=int, default=0, help="also the sampling signals with K samples")
    ap.add_argument("--all-layers", action="store_true", help="capture every layer; add a per-layer AUROC table")
    ap.add_argument("--timing-questions", type=int, default=16, help="questions for the speed check (0 = skip)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cache-dir", default=str(harness.RUNS_DIR / "attention_cache"))
    ap.add_argument("--out", default=str(harness.RESULTS_DIR / "attention_signal.json"))
    args = ap.parse_args()
    res = run(args)
    harness.write_results(args.out, res)
    print(f"{res['model']} built-in test, n={res['n']} {res['outcomes']}" + (" (SMOKE RUN)" if res["smoke"] else ""))
    for n in res["ranking_by_auroc"]:
        s = res["signals"][n]
        print(f"  {n:32s} AUROC {s['auroc']:.3f} [{s['auroc_ci95'][0]:.2f}, {s['auroc_ci95'][1]:.2f}]  "
              f"PRR {s['prr']:.3f}  n={s['n_scored']}")
    c = res["confounds"]
    print(f"  confounds: AUROC of prompt length {c['auroc_prompt_tokens']:.3f}, of answer length "
          f"{c['auroc_answer_tokens']:.3f}; correlation with prompt length "
          + ", ".join(f"{n} {r:.2f}" for n, r in c["correlation_with_prompt_tokens"].items())
          + f"; answer score against uniform attention (diagnostic) AUROC "
          f"{c['auroc_answer_vs_uniform_attention (diagnostic, not registered)']:.3f}")
    print("  fact questions only: " + ", ".join(f"{n} {res['signals_fact_questions_only'][n]['auroc']:.3f}"
                                               for n in res["ranking_by_auroc"][:6]))
    if "timing" in res:
        t = res["timing"]
        print(f"  timing: greedy {t['greedy']:.3f}s/q, with attention capture {t['greedy+attention_capture']:.3f}s/q "
              f"(x{t['relative']:.2f}), same answers: {t['same_answers']}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
