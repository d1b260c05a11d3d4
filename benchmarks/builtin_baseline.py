"""SmolLM2's raw outcomes (correct / hallucinated / abstained) per category on the built-in benchmark.

Greedy answers from ``nescio.models.generate`` (default GenerationConfig), graded by
``nescio.grading.grade``. Answers are cached by (model, question text) in
``runs/builtin_baseline/<model>.jsonl`` so a rerun after editing the fact tables only
generates the new questions.

    nice -n 10 .venv/bin/python benchmarks/builtin_baseline.py --split test
    nice -n 10 .venv/bin/python benchmarks/builtin_baseline.py --split train --split calibration  # tuning

Writes ``benchmarks/results/builtin_baseline.json`` (the test split) or
``benchmarks/results/builtin_baseline_<splits>.json`` for other splits.
"""

from __future__ import annotations

import collections
import json
import time
from pathlib import Path

import harness


def main() -> None:
    parser = harness.parser(__doc__.splitlines()[0])
    parser.add_argument("--model", default=harness.DEFAULT_MODEL)
    parser.add_argument("--split", action="append", choices=harness.SPLITS)
    parser.add_argument("--cache", type=Path, default=harness.RUNS_DIR / "builtin_baseline")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    splits = args.split or ["test"]

    import torch

    from nescio.data import builtin_questions
    from nescio.grading import grade
    from nescio.types import GenerationConfig

    torch.set_num_threads(args.threads)
    questions = [q for s in splits for q in builtin_questions(s)]
    config = GenerationConfig()
    args.cache.mkdir(parents=True, exist_ok=True)
    cache_file = args.cache / f"{args.model.replace('/', '_')}.jsonl"
    cached: dict[str, str] = {}
    if cache_file.is_file():
        for line in cache_file.read_text().splitlines():
            row = json.loads(line)
            if row.get("max_new_tokens") == config.max_new_tokens:
                cached[row["question"]] = row["answer"]
    todo = [q for q in questions if q.text not in cached]
    start = time.time()
    if todo:
        from nescio.models import generate, load_model

        lm = load_model(args.model)
        with open(cache_file, "a") as f:
            for i in range(0, len(todo), 64):  # chunks, so an interrupted run keeps what it made
                for g in generate(lm, todo[i : i + 64], config, progress=True):
                    cached[g.question.text] = g.text
                    f.write(json.dumps({"question": g.question.text, "answer": g.text,
                                        "max_new_tokens": config.max_new_tokens}) + "\n")
                f.flush()
    seconds = time.time() - start

    counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for q in questions:
        outcome = grade(q, cached[q.text]).outcome.value
        counts[q.category][outcome] += 1
        group = "facts (all)" if q.answerable else "unanswerable (all)"
        counts[group][outcome] += 1
        counts["all"][outcome] += 1
    table = {}
    for category, c in counts.items():
        n = sum(c.values())
        table[category] = {"n": n, **{o: c[o] for o in ("correct", "hallucinated", "abstained")},
                           **{f"{o}_rate": round(c[o] / n, 3) for o in ("correct", "hallucinated", "abstained")}}
    result = {
        "benchmark": "builtin",
        "splits": splits,
        "model": args.model,
        "generation": {"max_new_tokens": config.max_new_tokens, "decoding": "greedy"},
        "grader": "nescio.grading.grade",
        "n_questions": len(questions),
        "newly_generated": len(todo),
        "generation_seconds": round(seconds, 1),
        "note": "timings on a shared 2-core CPU under contention from other jobs",
        "per_category": dict(sorted(table.items())),
        "command": "nice -n 10 .venv/bin/python benchmarks/builtin_baseline.py " + " ".join(f"--split {s}" for s in splits),
    }
    name = "builtin_baseline.json" if splits == ["test"] else f"builtin_baseline_{'_'.join(splits)}.json"
    out = harness.write_results(harness.RESULTS_DIR / name, result, indent=2)
    print(f"{'category':24s} {'n':>4s} {'correct':>8s} {'halluc.':>8s} {'abstain':>8s}")
    for category, row in result["per_category"].items():
        print(f"{category:24s} {row['n']:4d} {row['correct_rate']:8.2f} {row['hallucinated_rate']:8.2f} "
              f"{row['abstained_rate']:8.2f}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
