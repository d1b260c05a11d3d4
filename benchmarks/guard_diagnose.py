"""Does the shared-prompt-prefix shortcut explain why the guard benchmark's shift part moved on rerun?

    python benchmarks/guard_diagnose.py triviaqa OUT.json [--runs runs/bench-guard]

Regenerates the shifted set's evaluation questions (as ``benchmarks/guard.py --part shift``
picks them: ``--train-bench builtin``, ``--shift-limit 700``) with the prompt prefix that all
prompts share run *inside* each prompt's own prefill (``SHARED_PREFIX_MIN_TOKENS`` raised past
any prompt length), as generation did before the shortcut (commit face663); then grades them
and applies the rerun's fitted guard (``RUNS/NAME/smollm2-135m-instruct/guard``). It writes the
raw outcomes and detector figures next to those of the rerun's generations (which use the
shortcut), and which questions' greedy answers differ between the two.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    import guard as bench
    from nescio.evaluate import metrics
    from nescio.evaluate.run import generate_stored, question_sets
    from nescio.models import decode, load_model
    from nescio.models.io import config_to_dict
    from nescio.policy.answering import grade_outcomes
    from nescio.policy.guard import Guard
    from nescio.policy.scoring import raw_tally
    from nescio.types import Outcome

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("name", choices=sorted(bench.SHIFT_SETS))
    ap.add_argument("out", type=Path)
    ap.add_argument("--runs", type=Path, default=bench.RUNS)
    ap.add_argument("--shift-limit", type=int, default=700)
    args = ap.parse_args()
    fmt, path = bench.SHIFT_SETS[args.name]
    _, _, test = question_sets(f"{fmt}:{path}", "builtin", eval_limit=args.shift_limit)
    lm = load_model("smollm2-135m-instruct")
    guard = Guard.load(args.runs / args.name / "smollm2-135m-instruct" / "guard", model_id=lm.model_id)
    config = Guard(**guard.get_params()).generation_config(model=lm)  # what the shift part generated with
    key = hashlib.sha256(json.dumps(config_to_dict(config), sort_keys=True, default=str).encode()).hexdigest()[:10]
    store = args.runs / "generations" / "smollm2-135m-instruct"
    if not (store / key).is_dir():
        raise SystemExit(f"no stored generations under {store / key}: run benchmarks/guard.py --part shift first")
    with_shortcut = generate_stored(lm, test, config, store, progress=False)
    decode.SHARED_PREFIX_MIN_TOKENS = 10**9  # no prompt shares a prefix that long: every prompt prefilled whole
    without = generate_stored(lm, test, config, args.runs / "generations-no-shared-prefix", progress=True)

    def figures(gens) -> dict:
        outcomes = np.empty(len(gens), dtype=object)
        outcomes[:] = grade_outcomes(gens)
        d = guard.decide(gens)
        m = outcomes != Outcome.ABSTAINED
        bad = outcomes[m] == Outcome.HALLUCINATED
        return {"raw": raw_tally(outcomes).to_json(), "detector_auroc": metrics.auroc(-d.scores[m], bad),
                "detector_prr": metrics.prr(-d.scores[m], ~bad), "outcomes": [o.value for o in outcomes]}

    a, b = figures(with_shortcut), figures(without)
    differ = [{"id": x.question.id, "question": x.question.text, "shared_prefix": x.text, "whole_prompt": y.text,
               "outcome_shared_prefix": oa, "outcome_whole_prompt": ob}
              for x, y, oa, ob in zip(with_shortcut, without, a.pop("outcomes"), b.pop("outcomes")) if x.token_ids != y.token_ids]
    args.out.write_text(json.dumps({
        "command": "python benchmarks/guard_diagnose.py " + " ".join(sys.argv[1:]),
        "set": args.name, "n": len(test), "shared_prefix_shortcut": a, "whole_prompt_prefill": b,
        "greedy_answers_differing": len(differ), "differing": differ,
    }, indent=1, default=float) + "\n")
    print(json.dumps({"shared": a, "whole": b, "differing": len(differ)}, default=float))


if __name__ == "__main__":
    main()
