"""Does teacher forcing reproduce generation? ``Backend.score(q, generate(q).text)`` against
``generate(q)`` on a real model, through a fitted guard.

For each question of the built-in test split: generate with the guard's generation config
(captures and all), then score the generated text (re-tokenised, as an answer made
elsewhere would be) and, separately, the generated token ids. Compared: every signal of the
guard's signal matrix, the raw detector score, P(correct) and the decision; plus the share
of answers whose text re-tokenises to the generated tokens, and wall time per question of
each path. Writes ``benchmarks/results/score_equivalence.json``.

    python benchmarks/score_equivalence.py --guard runs/demo/smollm2-135m-instruct/guard
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

TOLERANCE = 1e-4


def _compare(guard, gens, scored) -> dict:
    X_g, X_s = guard.signal_set_.transform(gens), guard.signal_set_.transform(scored)
    d_g, d_s = guard.decide(gens), guard.decide(scored)
    diff = np.abs(X_g - X_s)
    finite = np.isfinite(X_g) & np.isfinite(X_s)
    per_signal = {n: float(np.max(np.where(finite[:, j], diff[:, j], 0.0), initial=0.0))
                  for j, n in enumerate(guard.signal_names_)}
    same_nan = bool(np.array_equal(np.isfinite(X_g), np.isfinite(X_s)))
    return {
        "max_abs_signal_diff": max(per_signal.values()),
        "max_abs_signal_diff_per_signal": per_signal,
        "nan_pattern_equal": same_nan,
        "signals_within_tolerance": float(np.mean(np.all(~finite | (diff <= TOLERANCE), axis=1))),
        "max_abs_score_diff": float(np.max(np.abs(d_g.scores - d_s.scores), initial=0.0)),
        "max_abs_p_correct_diff": float(np.nanmax(np.abs(d_g.p_correct - d_s.p_correct), initial=0.0)),
        "decisions_equal": int(sum(a == b for a, b in zip(d_g.actions, d_s.actions))),
        "decisions_differ_ids": [q for q, a, b in zip(d_g.question_ids, d_g.actions, d_s.actions) if a != b],
    }


def main() -> None:
    p = harness.parser(__doc__)
    p.add_argument("--guard", default=str(harness.RUNS_DIR / "demo" / "smollm2-135m-instruct" / "guard"))
    p.add_argument("--model", default=None, help="default: the guard's model")
    p.add_argument("--limit", type=int, default=None, help="first N test questions")
    p.add_argument("--results", default=str(harness.RESULTS_DIR / "score_equivalence.json"))
    args = p.parse_args()

    from nescio.models.backend import as_backend
    from nescio.policy.guard import Guard

    guard = Guard.load(args.guard)
    backend = as_backend(args.model or guard.model_spec_)
    guard.check_model(backend.model_id)
    qs = harness.builtin_splits(("test",))["test"][: args.limit]
    config = guard.generation_config_
    backend.generate(qs[:4], config)  # warm-up (first-call allocations), not timed
    t = time.perf_counter()
    gens = backend.generate(qs, config, progress=True)
    gen_s = time.perf_counter() - t
    t = time.perf_counter()
    by_text = backend.score(qs, [g.text for g in gens], config, stop_reasons=[g.stop_reason for g in gens],
                            progress=True)
    score_s = time.perf_counter() - t
    by_ids = backend.score(qs, [g.text for g in gens], config, token_ids=[g.token_ids for g in gens],
                           stop_reasons=[g.stop_reason for g in gens], progress=True)
    retok = [s.token_ids == g.token_ids for s, g in zip(by_text, gens)]
    text_cmp = _compare(guard, gens, by_text)
    ids_cmp = _compare(guard, gens, by_ids)
    same = [i for i, ok in enumerate(retok) if ok]
    res = {
        "what": "Backend.score(q, generate(q).text) vs generate(q): signals, scores, decisions of one guard",
        "model": getattr(backend, "spec", backend.model_id), "model_id": backend.model_id,
        "guard": args.guard, "n": len(qs), "tolerance": TOLERANCE,
        "signals": list(guard.signal_names_),
        "text_retokenises_to_generated_tokens": int(sum(retok)),
        "scored_from_text": text_cmp,
        "scored_from_text_where_tokens_match": _compare(guard, [gens[i] for i in same], [by_text[i] for i in same]),
        "scored_from_token_ids": ids_cmp,
        "cost": {
            "generate_s": round(gen_s, 3), "score_s": round(score_s, 3),
            "generate_s_per_question": round(gen_s / len(qs), 4), "score_s_per_question": round(score_s / len(qs), 4),
            "score_vs_generate": round(score_s / gen_s, 3),
            "note": "score includes the guard's sampled answers and reflexive passes when its config asks for them "
                    f"(n_samples={config.n_samples}, p_true={config.p_true})",
        },
        "stop_reasons": {r: sum(g.stop_reason == r for g in gens) for r in ("eos", "stop_string", "max_tokens")},
        "machine": harness.machine(), "command": harness.command("benchmarks/score_equivalence.py"),
        "commit": harness.git_commit(),
    }
    harness.write_results(args.results, res)
    print(f"n={len(qs)}; text re-tokenises exactly: {sum(retok)}; from text: max signal diff "
          f"{text_cmp['max_abs_signal_diff']:.2e}, decisions equal {text_cmp['decisions_equal']}/{len(qs)}; from ids: "
          f"max signal diff {ids_cmp['max_abs_signal_diff']:.2e}, decisions equal {ids_cmp['decisions_equal']}/{len(qs)}; "
          f"score {score_s / len(qs):.3f} s/q vs generate {gen_s / len(qs):.3f} s/q")


if __name__ == "__main__":
    main()
