"""Detection benchmark: how well does each nescio signal separate correct from hallucinated answers?

    nice -n 10 .venv/bin/python benchmarks/detection.py --limit 150

For each model: generate (cached on disk, so reruns do not regenerate) on the built-in
train split (probes are fitted here and only here), the built-in test split, and —
when ../shared/data exists — TriviaQA 1k, NQ-open, SelfAware and NEC (``--limit N``
questions each, a seeded random subset). Grade, compute every signal, and report per
set and signal: AUROC (hallucinated vs correct; abstentions left out), PRR
(LM-Polygraph), AURC, and cost (extra forward passes per question and wall time
relative to greedy generation). Also the unanswerable-vs-known AUROC of a last-prompt
probe (fabricated / future / random_fact vs known facts), on the built-in test split
and, cross-dataset, on NEC and SelfAware.

"Best signal that needs no sampling" is chosen on the **train split** (probes: their
cross-validated AUROC; unfitted signals: their train AUROC), never on a test set.
Results go to benchmarks/results/detection.json.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

import harness
UNANSWERABLE_FOR_SEPARATION = ("fabricated", "future", "random_fact")
NO_SAMPLING_FAMILIES = ("logits", "reflexive", "probe")


# ----------------------------------------------------------------- generation with an on-disk cache
def cached_generate(lm, questions, config, cache_dir: Path, *, chunk: int = 32, label: str = ""):
    """Generate in chunks saved with nescio.models.save_generations; reuse saved chunks.
    Returns (generations, seconds of generation per question measured when they were made)."""
    from nescio.models import generate, load_generations, save_generations
    from nescio.models.io import config_to_dict
    from nescio.types import RunInfo

    # config_to_dict leaves out options at their off value (neuron_scaling=None), so caches made
    # before such an option existed keep their key
    key = hashlib.sha256(json.dumps([lm.model_id, config_to_dict(config)], default=str, sort_keys=True).encode()).hexdigest()[:12]
    base = cache_dir / key
    out, seconds = [], 0.0
    from rich.progress import Progress

    with Progress(transient=True) as progress:
        task = progress.add_task(f"{label} ({key})", total=len(questions))
        for start in range(0, len(questions), chunk):
            part = questions[start:start + chunk]
            ids = hashlib.sha256("\n".join(q.id + q.text for q in part).encode()).hexdigest()[:12]
            d = base / f"chunk_{start // chunk:04d}_{ids}"
            timing = d / "timing.json"
            if timing.is_file():
                meta = json.loads(timing.read_text())
                gens = load_generations(d)[0]
                seconds += meta["seconds"]
            else:
                t0 = time.perf_counter()
                gens = generate(lm, part, config, progress=False)
                dt = time.perf_counter() - t0
                info = RunInfo(model=lm.spec, model_id=lm.model_id, architecture=lm.architecture,
                               prompt_format=lm.prompt_format, prompt_template="(see nescio.models.prompts)",
                               config=config)
                save_generations(d, gens, info)
                timing.write_text(json.dumps({"seconds": dt, "n": len(part), "format": "nescio"}))
                seconds += dt
            out.extend(gens)
            progress.advance(task, len(part))
    return out, seconds / max(len(questions), 1)


# ----------------------------------------------------------------- question sets
def cross_sets(shared: Path, limit: int, seed: int = 0, set_limits: dict | None = None) -> dict[str, list]:
    from nescio.data import load_file

    files = {
        "triviaqa": [("triviaqa", shared / "triviaqa" / "triviaqa_1k.jsonl")],
        "nq_open": [("nq_open", shared / "nq_open" / "NQ-open.dev.jsonl")],
        "selfaware": [("selfaware", shared / "selfaware" / "SelfAware.json")],
        "nec": [("nec", shared / "nec" / "NEC_answerable.jsonl"), ("nec", shared / "nec" / "NEC_unanswerable.jsonl")],
    }
    sets = {}
    for name, parts in files.items():
        if not all(p.is_file() for _, p in parts):
            print(f"skip {name}: data not found under {shared}", file=sys.stderr)
            continue
        n = (set_limits or {}).get(name, limit)
        per = n // len(parts) if n else None
        qs = []
        for fmt, path in parts:
            rows = load_file(fmt, path)
            random.Random(seed).shuffle(rows)
            qs.extend(rows[:per] if per else rows)
        random.Random(seed).shuffle(qs)
        sets[name] = qs
    return sets


# ----------------------------------------------------------------- scoring
def labels_of(generations):
    """hallucinated = 1, correct = 0, abstained = NaN (left out)."""
    from nescio.grading import grade
    from nescio.types import Outcome

    outcomes = [grade(g.question, g.text).outcome for g in generations]
    y = np.array([1.0 if o == Outcome.HALLUCINATED else 0.0 if o == Outcome.CORRECT else np.nan for o in outcomes])
    return y, outcomes


def auroc_ci(v, y, n_boot: int = 1000, seed: int = 0) -> list[float]:
    """95% percentile-bootstrap interval of the AUROC (resampling questions)."""
    from nescio.evaluate.metrics import auroc

    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(n_boot):
        idx = rng.integers(0, y.size, y.size)
        a = auroc(v[idx], y[idx])
        if a == a:
            vals.append(a)
    return [float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))] if vals else [float("nan")] * 2


def score_table(table, y, names, mask=None):
    from nescio.evaluate.metrics import aurc, auroc, prr

    rows = {}
    for n in names:
        v = np.asarray(table.values[n], dtype=float)
        keep = ~np.isnan(y) & ~np.isnan(v) & (True if mask is None else mask)
        rows[n] = {
            "auroc": auroc(v[keep], y[keep]),
            "auroc_ci95": auroc_ci(v[keep], y[keep]),
            "prr": prr(v[keep], 1 - y[keep]),
            "aurc": aurc(v[keep], y[keep]),
            "n_scored": int(keep.sum()),
            "extra_forward_passes": float(table.costs.get(n, 0.0)),
        }
    return rows


def _subset(questions: list, limit: int, seed: int = 0) -> list:
    """All questions, or a seeded random subset of ``limit`` (kept in the original order)."""
    if not limit or limit >= len(questions):
        return list(questions)
    keep = set(random.Random(seed).sample(range(len(questions)), limit))
    return [q for i, q in enumerate(questions) if i in keep]


HALLUCINATION_PROBES = ("probe_last_prompt", "probe_answer_first", "probe_answer_mean")
UNANSWERABLE_PROBE = "knowability_last_prompt"  # registered for the guard's pre-check; here fitted on
# the separation labels below (unanswerable kinds vs known facts) and reported in its own table


def fit_probes(train, outcomes_train, se_train, layers):
    """Fit every fitted signal of the registry on the train split only, each built from its
    registry entry (estimator + arguments) and trained on its label recipe. Returns (probes by
    signal name, the unanswerable-vs-known last-prompt probe)."""
    from nescio.signals import fit_signal

    probes = {name: fit_signal(name, train, outcomes_train, layers=layers) for name in HALLUCINATION_PROBES}
    # semantic-entropy labels come from a sampled subset of train (NaN elsewhere)
    probes["semantic_entropy_probe"] = fit_signal("semantic_entropy_probe", train, labels=se_train, layers=layers)
    probes["h_neurons"] = fit_signal("h_neurons", train, outcomes_train)
    # known-entity direction, recipe "unknown_entity": fabricated entity or answered wrongly vs answered correctly
    probes["entity_direction"] = fit_signal("entity_direction", train, outcomes_train, layers=layers)
    sep_label = np.array([1.0 if g.question.category in UNANSWERABLE_FOR_SEPARATION
                          else 0.0 if g.question.category.startswith("fact/") else np.nan for g in train])
    return probes, fit_signal(UNANSWERABLE_PROBE, train, labels=sep_label, layers=layers)


def run_model(spec: str, args, results: dict) -> None:
    import torch

    from nescio.data import builtin_questions
    from nescio.evaluate.metrics import auroc
    from nescio.models import load_model
    from nescio.signals import SIGNALS, capture_needs, compute_signals, list_signals, load_probe, save_probe, signal_info
    from nescio.signals.sampling import semantic_entropies
    from nescio.types import GenerationConfig

    torch.set_num_threads(args.threads)
    lm = load_model(spec)
    cache = Path(args.cache_dir) / spec
    probe_names = [n for n in list_signals("probe") if SIGNALS[n].fitted and n != UNANSWERABLE_PROBE]
    capture = capture_needs(probe_names)["capture"]
    K = args.samples
    cfg_train = GenerationConfig(max_new_tokens=args.max_new_tokens, capture=capture, seed=0)
    # samples for the semantic-entropy probe's labels, on a subset of train (sampling is the costly part)
    cfg_train_samples = GenerationConfig(max_new_tokens=args.max_new_tokens, n_samples=K, seed=0)
    cfg_test = GenerationConfig(max_new_tokens=args.max_new_tokens, n_samples=K, capture=capture, p_true=True,
                                verbal_confidence=True, seed=0)
    cfg_cross = GenerationConfig(max_new_tokens=args.max_new_tokens, capture=capture, p_true=True, seed=0)

    train_q = _subset(builtin_questions("train"), args.train_limit)
    test_q = _subset(builtin_questions("test"), args.test_limit)
    train, _ = cached_generate(lm, train_q, cfg_train, cache / "train", label="train")
    se_q = _subset(train_q, args.se_train_limit)
    sampled, _ = cached_generate(lm, se_q, cfg_train_samples, cache / "train_samples", label="train samples")
    se_by_id = dict(zip((g.question.id for g in sampled), semantic_entropies(sampled)))
    se_train = np.array([se_by_id.get(g.question.id, np.nan) for g in train])
    y_train, out_train = labels_of(train)
    print(f"{spec}: train {len(train)} ({np.nansum(y_train):.0f} hallucinated, {np.sum(y_train == 0)} correct)")

    # ---- fit probes on the train split only
    t0 = time.perf_counter()
    layers = list(range(lm.n_layers))[:: args.layer_stride]
    probe_dir = Path(args.cache_dir) / spec / "probes"
    saved = [*probe_names, "unanswerable_last_prompt"]
    reused = args.reuse_probes and all((probe_dir / n / "probe.json").is_file() for n in saved)
    if reused:
        # probes fitted on this train split by an earlier run; they reload bit-identically
        probes = {n: load_probe(probe_dir / n) for n in probe_names}
        unanswerable_probe = load_probe(probe_dir / "unanswerable_last_prompt")
    else:
        probes, unanswerable_probe = fit_probes(train, out_train, se_train, layers)
        for name, p in probes.items():
            save_probe(p, probe_dir / name, signal=name, signal_args=p.get_params())
        save_probe(unanswerable_probe, probe_dir / "unanswerable_last_prompt", signal=UNANSWERABLE_PROBE,
                   signal_args=unanswerable_probe.get_params())
    fit_seconds = time.perf_counter() - t0
    h = probes["h_neurons"]
    model_res = {
        "model": spec, "model_id": lm.model_id, "n_layers": lm.n_layers, "samples_K": K,
        "max_new_tokens": args.max_new_tokens, "probe_candidate_layers": layers,
        "se_probe_train_questions": int(np.sum(~np.isnan(se_train))), "se_threshold": probes["semantic_entropy_probe"].threshold_,
        "probe_fit_seconds": fit_seconds, "probes_reused_from_earlier_run": reused,
        "probes": {n: {"layer": getattr(p, "layer_", None), "C": getattr(p, "C_", None),
                       "train_cv_auroc": getattr(p, "cv_auroc_", None)} for n, p in probes.items()},
        "h_neurons": {"count": len(h.h_neurons_), "share_of_all_neurons": h.h_neuron_share_,
                      "n_neurons_total": h.n_neurons_total_, "C": h.C_, "holdout_accuracy": h.holdout_accuracy_,
                      "neurons": [list(x) for x in h.h_neurons_][:200]},
        "train": {"n": len(train), "n_hallucinated": int(np.nansum(y_train)), "n_correct": int(np.sum(y_train == 0))},
        "sets": {},
    }

    # closed-book benchmark: retrieval signals (they read the passages of a RAG run) do not apply
    # attention signals (their own capture) are benchmarked side by side in benchmarks/attention_signal.py
    all_names = [n for n in list_signals() if n != UNANSWERABLE_PROBE and signal_info(n).family not in ("retrieval", "attention")]
    no_sampling = [n for n in all_names if signal_info(n).family in NO_SAMPLING_FAMILIES]

    # ---- select the best no-sampling signal on TRAIN (probes: CV AUROC; others: train AUROC)
    train_table = compute_signals(train, [n for n in no_sampling if signal_info(n).family == "logits"])
    sel = {n: auroc(train_table.values[n], y_train) for n in train_table.values}
    sel.update({n: p.cv_auroc_ for n, p in probes.items() if n != "semantic_entropy_probe" and hasattr(p, "cv_auroc_")})
    best = max(sel, key=lambda n: -1 if np.isnan(sel[n]) else sel[n])
    model_res["selection_on_train"] = {"scores": sel, "best_no_sampling_signal": best}

    # ---- timing of generation variants (a small slice of test; seconds per question)
    timing_q = test_q[: args.timing_questions]
    base = GenerationConfig(max_new_tokens=args.max_new_tokens, seed=1)
    variants = {"greedy": base,
                "greedy+captures": GenerationConfig(max_new_tokens=args.max_new_tokens, capture=capture, seed=1),
                "p_true": GenerationConfig(max_new_tokens=args.max_new_tokens, p_true=True, seed=1),
                "verbal_confidence": GenerationConfig(max_new_tokens=args.max_new_tokens, verbal_confidence=True, seed=1),
                f"samples_K{K}": GenerationConfig(max_new_tokens=args.max_new_tokens, n_samples=K, seed=1)}
    wall = {}
    for vname, cfg in variants.items():
        _, wall[vname] = cached_generate(lm, timing_q, cfg, cache / "timing", label=f"timing {vname}")
    model_res["wall_seconds_per_question"] = wall

    def wall_relative(name: str) -> float:
        fam = signal_info(name).family
        extra = {"logits": 0.0, "probe": wall["greedy+captures"] - wall["greedy"],
                 "sampling": wall[f"samples_K{K}"] - wall["greedy"]}.get(fam)
        if name == "one_minus_p_true":
            extra = wall["p_true"] - wall["greedy"]
        if name == "one_minus_verbal_confidence":
            extra = wall["verbal_confidence"] - wall["greedy"]
        return 1.0 + extra / wall["greedy"]

    # ---- evaluation sets
    sets = {"builtin_test": (test_q, cfg_test)}
    shared = Path(args.shared)
    if shared.is_dir() and not args.no_cross:
        set_limits = {k: int(v) for k, v in (x.split("=") for x in args.set_limit)}
        for name, qs in cross_sets(shared, args.limit, set_limits=set_limits).items():
            sets[name] = (qs, cfg_cross)
    for set_name, (qs, cfg) in sets.items():
        gens, _ = cached_generate(lm, qs, cfg, cache / set_name, label=set_name)
        y, outcomes = labels_of(gens)
        names = [n for n in all_names if signal_info(n).family != "sampling" or cfg.n_samples]
        if not cfg.verbal_confidence:
            names.remove("one_minus_verbal_confidence")
        t0 = time.perf_counter()
        table = compute_signals(gens, names, probes=probes)
        signal_seconds = (time.perf_counter() - t0) / max(len(gens), 1)
        gradeable = set_name != "nec"  # NEC's real-entity questions carry no gold answers
        entry = {
            "n": len(gens),
            "outcomes": {o: sum(1 for x in outcomes if x.value == o) for o in ("correct", "hallucinated", "abstained")},
            "signal_compute_seconds_per_question": signal_seconds,
        }
        # greedy generation costs one forward pass per generated token (a prefill + decode steps)
        greedy_passes = float(np.mean([max(len(g.token_ids), 1) for g in gens]))
        entry["greedy_forward_passes_per_question"] = greedy_passes
        if gradeable:
            entry["signals"] = score_table(table, y, names)
            for n in names:
                entry["signals"][n]["wall_time_relative_to_greedy"] = wall_relative(n)
                entry["signals"][n]["forward_passes_relative_to_greedy"] = (
                    1.0 + entry["signals"][n]["extra_forward_passes"] / greedy_passes)
            if set_name == "builtin_test":  # the harder half: known-fact questions only (no unanswerables)
                facts = np.array([g.question.category.startswith("fact/") for g in gens])
                entry["signals_fact_questions_only"] = score_table(table, y, names, mask=facts)
            msp = entry["signals"]["sequence_nll"]["auroc"]
            entry["best_no_sampling_signal"] = {"name": best, "auroc": entry["signals"][best]["auroc"],
                                                "msp_auroc": msp, "gain_over_msp": entry["signals"][best]["auroc"] - msp}
        # unanswerable-vs-known separation from the last-prompt probe
        if set_name == "builtin_test":
            lab = np.array([1.0 if g.question.category in UNANSWERABLE_FOR_SEPARATION
                            else 0.0 if g.question.category.startswith("fact/") else np.nan for g in gens])
        elif set_name in ("nec", "selfaware"):
            lab = np.array([0.0 if g.question.answerable else 1.0 for g in gens])
        else:
            lab = None
        if lab is not None:
            keep = ~np.isnan(lab)
            entry["unanswerable_vs_known_auroc"] = {
                "unanswerable_last_prompt_probe": auroc(unanswerable_probe.predict_risk([g for g, k in zip(gens, keep) if k]), lab[keep]),
                "entity_direction": auroc(table.values["entity_direction"][keep], lab[keep]),
                "probe_last_prompt": auroc(table.values["probe_last_prompt"][keep], lab[keep]),
                "n": int(keep.sum()), "n_unanswerable": int(np.nansum(lab)),
            }
        model_res["sets"][set_name] = entry
        print(f"{spec} {set_name}: n={len(gens)} {entry['outcomes']}")
    results["models"][spec] = model_res


def print_table(results: dict) -> None:
    for spec, m in results["models"].items():
        sets = list(m["sets"])
        print(f"\n{spec}  (best no-sampling signal chosen on train: {m['selection_on_train']['best_no_sampling_signal']})")
        names = list(next(iter(s["signals"] for s in m["sets"].values() if "signals" in s)))
        print("signal".ljust(30) + "".join(s[:12].rjust(14) for s in sets if "signals" in m["sets"][s]))
        for n in names:
            cells = []
            for s in sets:
                sig = m["sets"][s].get("signals")
                if sig is None:
                    continue
                r = sig.get(n)
                cells.append("-".rjust(14) if r is None else f"{r['auroc']:.3f}/{r['prr']:+.2f}".rjust(14))
            print(n.ljust(30) + "".join(cells))


def markdown_table(results: dict) -> str:
    """The results as markdown: one AUROC / PRR table per model, plus cost and separation."""
    out = []
    for spec, m in results["models"].items():
        columns = {}
        for s_name, v in m["sets"].items():
            if "signals" in v:
                columns[s_name] = v["signals"]
            if "signals_fact_questions_only" in v:
                columns[f"{s_name}, facts only"] = v["signals_fact_questions_only"]
        graded = list(columns)
        first = columns[graded[0]]
        out.append(f"**{spec}** — AUROC / PRR (hallucinated vs correct; n scored in the header). "
                   f"Best no-sampling signal chosen on train: `{m['selection_on_train']['best_no_sampling_signal']}`.\n")
        def n_label(col):
            rows = [r for r in columns[col].values() if r["auroc"] == r["auroc"]]
            return f"{col} (n={max(r['n_scored'] for r in rows)})" if rows else col

        head = "| signal | " + " | ".join(n_label(s) for s in graded)
        out.append(head + " | extra passes / q | passes × greedy | wall × greedy |")
        out.append("|---" * (len(graded) + 4) + "|")
        for n in first:
            cells = []
            for s in graded:
                r = columns[s].get(n)
                cells.append("–" if r is None or r["auroc"] != r["auroc"] else f"{r['auroc']:.3f} / {r['prr']:+.2f}")
            cost = first[n]
            out.append(f"| `{n}` | " + " | ".join(cells) +
                       f" | {cost['extra_forward_passes']:.1f} | {cost.get('forward_passes_relative_to_greedy', float('nan')):.2f}"
                       f" | {cost['wall_time_relative_to_greedy']:.2f} |")
        out.append("")
        ci_rows = []
        for s_name in graded:
            for n in ("sequence_nll", m["selection_on_train"]["best_no_sampling_signal"]):
                r = columns[s_name].get(n)
                if r and "auroc_ci95" in r and r["auroc"] == r["auroc"]:
                    lo, hi = r["auroc_ci95"]
                    ci_rows.append(f"{s_name} `{n}` {r['auroc']:.3f} [{lo:.3f}, {hi:.3f}]")
        if ci_rows:
            out.append("AUROC with 95% bootstrap intervals: " + "; ".join(ci_rows) + ".\n")
        sep = {s: v["unanswerable_vs_known_auroc"] for s, v in m["sets"].items() if "unanswerable_vs_known_auroc" in v}
        if sep:
            out.append("Unanswerable-vs-known AUROC (no generation needed: read at the last prompt token / entity):\n")
            out.append("| set | n (unanswerable) | last-prompt unanswerable probe | entity direction | hallucination probe (last prompt) |")
            out.append("|---|---|---|---|---|")
            for s, v in sep.items():
                out.append(f"| {s} | {v['n']} ({v['n_unanswerable']}) | {v['unanswerable_last_prompt_probe']:.3f} | "
                           f"{v['entity_direction']:.3f} | {v['probe_last_prompt']:.3f} |")
            out.append("")
        h = m["h_neurons"]
        out.append(f"H-Neurons: {h['count']} of {h['n_neurons_total']} FFN neurons "
                   f"({100 * h['share_of_all_neurons']:.3f}%), C = {h['C']}, held-out accuracy {h['holdout_accuracy']:.3f}.\n")
        out.append("Wall seconds per question (shared 2-core CPU, contended): " +
                   ", ".join(f"{k} {v:.2f}" for k, v in m["wall_seconds_per_question"].items()) + ".\n")
    return "\n".join(out)


def main() -> None:
    ap = harness.parser(__doc__.split("\n")[0])
    ap.add_argument("--models", nargs="+", default=[harness.DEFAULT_MODEL])
    ap.add_argument("--limit", type=int, default=100, help="questions per cross-dataset set (0 = all)")
    ap.add_argument("--train-limit", type=int, default=0, help="built-in train questions (0 = all)")
    ap.add_argument("--test-limit", type=int, default=0, help="built-in test questions (0 = all)")
    ap.add_argument("--samples", type=int, default=5, help="K sampled answers for the sampling signals")
    ap.add_argument("--max-new-tokens", type=int, default=16)
    ap.add_argument("--se-train-limit", type=int, default=150,
                    help="train questions sampled for the semantic-entropy probe's labels (0 = all)")
    ap.add_argument("--layer-stride", type=int, default=3, help="probe candidate layers: every Nth layer")
    ap.add_argument("--timing-questions", type=int, default=16)
    ap.add_argument("--set-limit", action="append", default=[], metavar="NAME=N",
                    help="per-set question limit overriding --limit (e.g. triviaqa=300)")
    ap.add_argument("--reuse-probes", action="store_true",
                    help="load the probes an earlier run fitted on the same train split instead of refitting")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-cross", action="store_true", help="skip the ../shared data sets")
    ap.add_argument("--shared", default=str(harness.SHARED))
    ap.add_argument("--cache-dir", default=str(harness.RUNS_DIR / "detection_cache"))
    ap.add_argument("--out", default=str(harness.RESULTS_DIR / "detection.json"))
    ap.add_argument("--table-from", default=None, help="only print the markdown table of an existing results JSON")
    args = ap.parse_args()
    if args.table_from:
        print(markdown_table(harness.read_results(args.table_from)))
        return
    results = {"command": harness.command(__file__),
               "note": "wall times measured on a shared 2-core CPU machine under contention; compare ratios, not seconds",
               "models": {}}
    for spec in args.models:
        run_model(spec, args, results)
    harness.write_results(args.out, results)
    print_table(results)
    Path(args.out).with_suffix(".md").write_text(markdown_table(results) + "\n")
    print(f"\nwrote {args.out} and {Path(args.out).with_suffix('.md')}")


if __name__ == "__main__":
    main()
