"""How far a guard's detector scores move when its model runs in another dtype (the guard's dtype check).

A guard (default signals, no pre-check) is fitted in float32 on each tiny test model (llama and
gemma3, seeds 0-2; 40 train + 40 calibration questions, synthetic grades fixed by question id);
its probe sample (the first 32 calibration questions) is regenerated in bfloat16 and float16,
and the detector's raw scores compared. Prints per model: dtype, mean |Δ|, max |Δ|, greedy
answers unchanged (of 32). ``nescio.policy.placement.DTYPE_TOLERANCE`` is chosen from it. Run:
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/dtype_agreement.py
"""

from __future__ import annotations

import hashlib
import warnings

import numpy as np

from nescio.models.backend import HFBackend
from nescio.models.tiny import tiny_model
from nescio.policy.guard import Guard
from nescio.types import Outcome, Question


def grade(gens):
    return [Outcome.CORRECT if int(hashlib.sha256(g.question.id.encode()).hexdigest()[:8], 16) % 10 < 6
            else Outcome.HALLUCINATED for g in gens]


def main() -> None:
    warnings.simplefilter("ignore")
    qs = [Question(id=f"q{i}", text=f"What is thing {i} in set {i % 7}?", answers=("x",)) for i in range(80)]
    for arch in ("llama", "gemma3"):
        for seed in (0, 1, 2):
            fp = HFBackend(tiny_model(arch, seed=seed))
            g = Guard(alpha=0.3, delta=0.2, max_new_tokens=6, use_precheck=False)
            gens = fp.generate(qs, g.generation_config(model=fp))
            g.fit(gens[:40], grade(gens[:40]), gens[40:], grade(gens[40:]), model_id=fp.model_id, dtype=fp.dtype,
                  device=fp.device)
            row = [arch, seed]
            for dt in ("bfloat16", "float16"):
                b = HFBackend(tiny_model(arch, seed=seed, dtype=dt))
                again = b.generate(list(g.placement_.questions), g.generation_config_)
                diff = np.abs(g.detector_.raw_score(g.signal_set_.transform(again)) - np.array(g.placement_.raw_scores))
                same = sum(a.token_ids == c.token_ids for a, c in zip(again, gens[40:]))
                row += [dt, round(float(diff.mean()), 4), round(float(diff.max()), 3), same]
            print(*row)


if __name__ == "__main__":
    main()
