"""H-Neuron intervention sweep: writes benchmarks/results/intervention.json and intervention.png.

    OMP_NUM_THREADS=1 nice -n 5 python benchmarks/intervention.py

1. Fit the H-Neuron probe (CETT of every FFN neuron, L1 logistic regression; nescio.signals.
   neurons.HNeuronProbe) on the raw model's answers to a hash-sampled subset of built-in
   train; its H-Neurons are the neurons with a positive answer-token weight.
2. Generate greedy answers to a hash-sampled subset of built-in test with those neurons'
   activations (the input of down_proj) scaled by s (nescio.models.intervene, through
   GenerationConfig.neuron_scaling), for s in {0, 0.5, 1, 1.5, 2, 3}; as a control, the same
   number of random FFN neurons (same layers per layer) at s = 0.
3. Per s: accuracy, abstention and hallucination rate, for answerable and unanswerable
   questions. Every generation is cached (runs/intervention/), so a rerun is cheap.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

import harness
from harness import ROOT

RESULTS = harness.RESULTS_DIR / "intervention.json"
PLOT = harness.RESULTS_DIR / "intervention.png"
RUN = harness.RUNS_DIR / "intervention"
SCALES = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)


def _limit(qs, n):
    from nescio.data.subsets import limit_questions as limit

    return limit(list(qs), n)


def _outcomes(gens):
    from nescio.grading import grade

    return [grade(g.question, g.text).outcome.value for g in gens]


def rates(gens) -> dict:
    oc = np.array(_outcomes(gens), dtype=object)
    ans = np.array([g.question.answerable for g in gens])

    def part(m):
        o = oc[m]
        n = int(m.sum())
        c, h, a = int((o == "correct").sum()), int((o == "hallucinated").sum()), int((o == "abstained").sum())
        return {"n": n, "correct": c / n if n else None, "hallucinated": h / n if n else None,
                "abstained": a / n if n else None, "hallucination_rate_among_answered": h / (c + h) if c + h else None}

    return {"all": part(np.ones(len(oc), bool)), "answerable": part(ans), "unanswerable": part(~ans)}


def fit_h_neurons(lm, questions, store):
    from nescio.evaluate.run import generate_stored
    from nescio.signals.features import save_probe
    from nescio.signals.registry import load_probe
    from nescio.signals.neurons import HNeuronProbe
    from nescio.types import CaptureSpec, GenerationConfig

    probe_dir = RUN / "h_neurons"
    if (probe_dir / "probe.json").is_file():
        return load_probe(probe_dir)
    config = GenerationConfig(capture=(CaptureSpec("cett", "all", ("answer_mean", "prompt_mean")),))
    gens = generate_stored(lm, questions, config, store)
    oc = _outcomes(gens)
    keep = [i for i, o in enumerate(oc) if o != "abstained"]
    y = np.array([oc[i] == "hallucinated" for i in keep], dtype=float)
    probe = HNeuronProbe().fit([gens[i] for i in keep], y)
    save_probe(probe, probe_dir)
    return probe


def plot(res, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = [float(k) for k in res["sweep"]]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, part, title in ((axes[0], "answerable", "answerable questions"), (axes[1], "unanswerable", "unanswerable questions")):
        for key, style in (("correct", "o-"), ("hallucinated", "s-"), ("abstained", "^-")):
            ys = [res["sweep"][k][part][key] for k in res["sweep"]]
            if any(y is not None for y in ys):
                ax.plot(s, ys, style, label=key)
        for k, v in res.get("control_random_neurons", {}).items():
            ax.plot([float(k)], [v[part]["hallucinated"]], "kx", markersize=9)
        ax.set_xlabel("scale s of the H-Neurons' activations")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(f"{title} (n = {res['sweep'][next(iter(res['sweep']))][part]['n']})")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("share of questions")
    axes[0].legend(loc="best")
    fig.suptitle(f"{res['model']}: {res['h_neurons']['count']} H-Neurons "
                 f"({100 * res['h_neurons']['share']:.3f}% of FFN neurons); x = random neurons, hallucinated")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = harness.parser(__doc__.split("\n")[0])
    ap.add_argument("--model", default=harness.DEFAULT_MODEL)
    ap.add_argument("--fit-limit", type=int, default=150, help="built-in train questions for the H-Neuron probe")
    ap.add_argument("--test-limit", type=int, default=60, help="built-in test questions per scale")
    ap.add_argument("--scales", type=float, nargs="+", default=list(SCALES))
    ap.add_argument("--control-scales", type=float, nargs="*", default=[0.0])
    args = ap.parse_args()

    from nescio.data import load_questions
    from nescio.evaluate.run import generate_stored
    from nescio.models import load_model
    from nescio.types import GenerationConfig, NeuronScaling

    t0 = time.perf_counter()
    lm = load_model(args.model)
    fit_q = _limit(load_questions("builtin:train"), args.fit_limit)
    test_q = _limit(load_questions("builtin:test"), args.test_limit)
    probe = fit_h_neurons(lm, fit_q, RUN / "generations-fit")
    neurons = tuple(probe.h_neurons_)
    if not neurons:
        raise SystemExit("the H-Neuron probe selected no neurons")
    fit_s = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    by_layer: dict[int, int] = {}
    for layer, _ in neurons:
        by_layer[layer] = by_layer.get(layer, 0) + 1
    chosen = set(neurons)
    random_neurons = []
    for layer, k in sorted(by_layer.items()):
        pool = [j for j in range(lm.intermediate_size) if (layer, j) not in chosen]
        random_neurons += [(layer, int(j)) for j in rng.choice(pool, size=k, replace=False)]
    res = {
        "model": args.model, "model_id": lm.model_id,
        "h_neurons": {"count": len(neurons), "share": probe.h_neuron_share_, "layers": by_layer,
                      "fit_questions": f"built-in train, hash-sampled subset of {len(fit_q)}",
                      "probe_C": probe.C_, "probe_holdout_accuracy": probe.holdout_accuracy_,
                      "probe_dir": str((RUN / "h_neurons").relative_to(ROOT))},
        "test_questions": f"built-in test, hash-sampled subset of {len(test_q)}",
        "sweep": {}, "control_random_neurons": {},
    }
    store = RUN / "generations-sweep"
    for s in args.scales:
        cfg = GenerationConfig(neuron_scaling=None if s == 1.0 else NeuronScaling(neurons, s))
        res["sweep"][str(s)] = rates(generate_stored(lm, test_q, cfg, store))
        print(f"s={s}: {res['sweep'][str(s)]['all']}", file=sys.stderr, flush=True)
    for s in args.control_scales:
        cfg = GenerationConfig(neuron_scaling=NeuronScaling(tuple(random_neurons), s))
        res["control_random_neurons"][str(s)] = rates(generate_stored(lm, test_q, cfg, store))
    res["timing"] = {"fit_s": round(fit_s, 1), "total_s": round(time.perf_counter() - t0, 1)}
    res["machine"] = harness.machine(note="2 CPU cores shared with other sessions; wall times inflated")
    res["command"] = harness.command(__file__, "OMP_NUM_THREADS=1 nice -n 5 python")
    harness.write_results(RESULTS, res)
    plot(res, PLOT)
    print(json.dumps({k: v["all"] for k, v in res["sweep"].items()}, indent=1))


if __name__ == "__main__":
    main()
