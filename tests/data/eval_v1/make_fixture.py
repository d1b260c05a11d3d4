"""How results.json / decisions.jsonl here were made: evaluate() as it was before EvalResult (commit d22652d),
on the tiny in-memory models with synthetic grades, run as ``python make_fixture.py OUT_DIR`` and copied from
OUT_DIR/run/ (results.json, tiny-llama/decisions.jsonl). results_smollm2_builtin.json is the results.json of a
real run made before EvalResult: benchmarks/guard.py --part builtin on SmolLM2-135M (runs/bench-guard/builtin/).
tests/test_eval_result.py checks that today's EvalResult reads them and writes them back byte for byte."""
import json, sys
from pathlib import Path
import numpy as np
from nescio.evaluate import evaluate
from nescio.evaluate import run as run_mod
from nescio.models import tiny_model
from nescio.types import Outcome

rng = np.random.default_rng(0)
run_mod.grade_outcomes = lambda gens: [Outcome.CORRECT if (g.question.answerable and rng.uniform() < 0.6)
                                       else (Outcome.ABSTAINED if rng.uniform() < 0.05 else Outcome.HALLUCINATED) for g in gens]
tmp = Path(sys.argv[1])
bench = tmp / "bench.jsonl"
cats = ["fact/geography", "fact/science", "fabricated", "future"]
with bench.open("w") as f:
    for i in range(90):
        c = cats[i % 4]
        f.write(json.dumps({"id": f"q{i}", "question": f"What is thing {i} in set {i % 7}?",
                            "answers": ["x"] if c.startswith("fact") else [], "category": c}) + "\n")
CHEAP = ["sequence_nll", "mean_token_nll", "max_token_entropy", "one_minus_first_token_margin"]
evaluate(tiny_model(seed=0), f"jsonl:{bench}", tmp / "run", alpha=0.3, delta=0.2, signals=CHEAP, max_new_tokens=6,
         progress=False, compare=tiny_model("qwen2"))
