"""Why a rerun of benchmarks/detection.py differs from the committed detection.json, where it does.

    python benchmarks/detection_diagnose.py samples OUT.json              # run on any commit's tree
    python benchmarks/detection_diagnose.py report CACHE_DIR OLD_SAMPLES.json COMPARISON.json OUT.json

``samples``: greedy answers and K=5 samples (token ids) of the first cached chunk of the
built-in test set (32 questions), with the benchmark's test configuration; run it on the
commit that wrote detection.json to see whether that code samples what today's code sampled.
``report``: compares those with the rerun's cache (CACHE_DIR = detection.py --cache-dir), and
measures how much PRR moves with the order of tied values for the signals whose PRR differed
(PRR sorts by risk with numpy's unstable argsort, as LM-Polygraph does, so rows with equal risk
are taken in an order that depends on the numpy build), next to AUROC (ties counted half).
The comparison file is the output of benchmarks/compare_results.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

PROBES = ["probe_last_prompt", "probe_answer_first", "probe_answer_mean", "semantic_entropy_probe", "h_neurons",
          "entity_direction"]  # the probes detection.json's run captured for


def samples(out: str) -> None:
    import detection as det
    from nescio.data import builtin_questions
    from nescio.models import generate, load_model
    from nescio.signals import capture_needs
    from nescio.types import GenerationConfig

    lm = load_model("smollm2-135m-instruct")
    cfg = GenerationConfig(max_new_tokens=16, n_samples=5, capture=capture_needs(PROBES)["capture"], p_true=True,
                           verbal_confidence=True, seed=0)
    gens = generate(lm, det._subset(builtin_questions("test"), 0)[:32], cfg, progress=False)
    rows = [{"id": g.question.id, "token_ids": list(g.token_ids), "samples": [list(s.token_ids) for s in g.samples]}
            for g in gens]
    Path(out).write_text(json.dumps({"rows": rows}))


def _chunks(cache: Path, name: str) -> list[Path]:
    """The chunk directories of one cached set, in order."""
    base = cache / "smollm2-135m-instruct" / name
    (key,) = [p for p in base.iterdir() if p.is_dir()]
    return sorted(key.iterdir())


def report(cache: str, old_samples: str, comparison: str, out: str) -> None:
    import detection as det
    from nescio.evaluate.metrics import auroc, prr
    from nescio.models import load_generations
    from nescio.signals import SIGNALS, compute_signals

    chunks = _chunks(Path(cache), "builtin_test")
    first = load_generations(chunks[0])[0]
    old = json.loads(Path(old_samples).read_text())["rows"]
    assert [r["id"] for r in old] == [g.question.id for g in first]
    same_greedy = sum(r["token_ids"] == list(g.token_ids) for r, g in zip(old, first))
    same_samples = sum(a == list(s.token_ids) for r, g in zip(old, first) for a, s in zip(r["samples"], g.samples))
    gens = [g for d in chunks for g in load_generations(d)[0]]
    y, _ = det.labels_of(gens)
    cmp_ = json.loads(Path(comparison).read_text())
    prefix = "models.smollm2-135m-instruct.sets.builtin_test.signals."
    prr_changed = sorted({d["figure"][len(prefix):].split(".")[0] for d in cmp_["different"]
                          if d["figure"].startswith(prefix) and d["figure"].endswith(".prr")})
    prr_changed = [n for n in prr_changed if not SIGNALS[n].fitted]  # fitted ones moved with their refit
    table = compute_signals(gens, prr_changed + ["sequence_nll"])
    rng = np.random.default_rng(0)
    ties = {}
    for name in prr_changed + ["sequence_nll"]:
        v = np.asarray(table.values[name], float)
        keep = ~np.isnan(y) & ~np.isnan(v)
        v, q = v[keep], 1 - y[keep]
        orders = [prr(v[p], q[p]) for p in (rng.permutation(v.size) for _ in range(300))]
        ties[name] = {"n": int(v.size), "distinct_values": int(np.unique(v).size), "auroc": auroc(v, 1 - q),
                      "prr_in_question_order": prr(v, q),
                      "prr_over_300_row_orders": {"min": min(orders), "mean": float(np.mean(orders)), "max": max(orders)}}
    Path(out).write_text(json.dumps({
        "command": "python benchmarks/detection_diagnose.py " + " ".join(sys.argv[1:]),
        "first_chunk_old_code_vs_rerun": {"questions": len(old), "greedy_token_ids_identical": same_greedy,
                                          "samples": sum(len(r["samples"]) for r in old),
                                          "sample_token_ids_identical": same_samples},
        "prr_tie_order": ties,
    }, indent=1) + "\n")
    print(json.dumps(json.loads(Path(out).read_text()), indent=1)[:2500])


if __name__ == "__main__":
    {"samples": samples, "report": report}[sys.argv[1]](*sys.argv[2:])
