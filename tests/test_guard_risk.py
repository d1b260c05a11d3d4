"""End to end: the Guard itself (signals → detector → risk policy → decide) keeps its stated
hallucination rate on held-out generations over 100 random calibration/test splits."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from nescio.policy.guard import Guard
from nescio.types import Action, Generation, Outcome, Question

ALPHA, DELTA = 0.2, 0.1


def synthetic_pool(n: int, seed: int = 0) -> tuple[list[Generation], list[Outcome]]:
    """Generations with known correctness: a latent s ~ U(0, 1) sets P(correct) = s^0.4 and,
    with noise, the answer's token log-probabilities (so the logit signals carry it)."""
    rng = np.random.default_rng(seed)
    s = rng.uniform(size=n)
    correct = rng.uniform(size=n) < s**0.4
    gens, outcomes = [], []
    for i in range(n):
        lp = np.log(np.clip(s[i] + rng.normal(scale=0.15, size=3), 0.02, 1.0))
        q = Question(f"q{i}", f"Synthetic question {i}?", ("x",))
        gens.append(Generation(q, q.text, "x" if correct[i] else "y", (1, 2, 3), tuple(lp),
                               tuple(-lp / 2), ((1, 2),) * 3, ((lp[0], lp[0] - 1.0),) * 3))
        outcomes.append(Outcome.CORRECT if correct[i] else Outcome.HALLUCINATED)
    return gens, outcomes


def test_guard_realised_risk_exceeds_alpha_in_about_delta_of_100_splits():
    gens, outcomes = synthetic_pool(2400)
    train, rest = slice(0, 400), np.arange(400, 2400)
    rng = np.random.default_rng(1)
    violations, coverage = 0, []
    for _ in range(100):
        idx = rng.permutation(rest)
        cal, test = idx[:600], idx[600:]
        guard = Guard(alpha=ALPHA, delta=DELTA, signals=("mean_token_nll", "one_minus_first_token_margin"),
                      use_precheck=False, hedge_alpha=None, levels=())
        guard.fit(gens[train], outcomes[train], [gens[i] for i in cal], [outcomes[i] for i in cal])
        d = guard.decide([gens[i] for i in test])
        answered = np.array([a is Action.ANSWER for a in d.actions])
        bad = np.array([outcomes[i] is Outcome.HALLUCINATED for i in test])
        coverage.append(answered.mean())
        if answered.any():
            violations += bad[answered].mean() > ALPHA
    print(f"realised risk > α in {violations} of 100 splits; mean coverage {np.mean(coverage):.2f}")
    # Learn-then-Test: the chosen threshold's risk exceeds α with probability ≤ δ; a finite
    # test split (1,400 rows) adds a little sampling noise on top
    assert violations <= 100 * DELTA + 5, violations
    assert np.mean(coverage) > 0.2  # and it does answer: the guarantee is not met by abstaining on everything


def test_eval_frontier_and_recalibration_operating_point_agree_with_decide():
    """``nescio eval``'s frontier (frontier_points) and ``nescio calibrate``'s operating_point apply
    one threshold rule: on random synthetic fits, at every certified level, both give what
    ``Guard.decide(alpha=level)`` answers plainly (the model's own refusals and hedges not counted)."""
    from nescio.evaluate.run import frontier_points
    from nescio.policy.recalibration import operating_point
    from nescio.policy.scoring import tally

    checked = 0
    for seed in range(4):
        gens, outcomes = synthetic_pool(1300, seed=seed)
        rng = np.random.default_rng(100 + seed)
        # some answers the model declines itself (the guard must not count them), some the grader calls abstained
        for i in np.flatnonzero(rng.uniform(size=len(gens)) < 0.08):
            gens[i] = replace(gens[i], text="I don't know.")
            outcomes[i] = Outcome.ABSTAINED if rng.uniform() < 0.7 else outcomes[i]
        for i in np.flatnonzero(rng.uniform(size=len(gens)) < 0.03):
            outcomes[i] = Outcome.ABSTAINED
        guard = Guard(alpha=0.15, delta=0.1, signals=("mean_token_nll", "one_minus_first_token_margin"),
                      use_precheck=False, hedge_alpha=0.3)
        guard.fit(gens[:300], outcomes[:300], gens[300:900], outcomes[300:900])
        test, oc = gens[900:], np.array(outcomes[900:], dtype=object)
        d = guard.decide(test)
        points = frontier_points(guard.policy_, d.scores, d.precheck_fired | d.model_abstained, oc)
        assert [p.alpha for p in points] == sorted(a for a, t in guard.certified_levels().items() if np.isfinite(t))
        for p in points:
            op = operating_point(guard, test, oc, p.alpha)
            via_decide = tally(guard.decide(test, alpha=p.alpha).action_array(), oc)
            assert op.threshold == p.threshold == guard.certified_levels()[p.alpha]
            assert op.answered == via_decide.n_answered and op.hallucinated == via_decide.n_hallucinated
            assert p.answered == round(via_decide.answered, 6) == round(op.answered / len(test), 6)
            assert p.kept == round(via_decide.kept, 6) == round(op.kept, 6)
            assert p.realised_risk == (None if not op.answered else round(op.realised_risk, 6))
            checked += 1
    assert checked >= 8
