"""`--rag` end to end on the tiny model: eval fits the guard on retrieval signals; ask abstains
without running the model when nothing passes the filter."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nescio.pipeline import rag_answer
from nescio.rag.answer import NO_EVIDENCE_REASON, RagSettings
from nescio.rag.filter import RelevanceFilter
from nescio.rag.index import Index
from nescio.types import Outcome
from test_rag import CORPUS, HashEmbedder

CHEAP = ("sequence_nll", "mean_token_nll", "rag_top_relevance", "rag_passages_kept", "rag_support_lexical")


@pytest.fixture
def rag_env(tmp_path, monkeypatch):
    """An index over the crafted corpus (hash embedder) and a hand-set filter, as the defaults."""
    import nescio.rag.answer as answer
    import nescio.rag.filter as filt

    Index.build(CORPUS, embedder=HashEmbedder(), progress=False).save(tmp_path / "idx")
    f = RelevanceFilter(degree=1)
    f.coef_, f.intercept_, f.threshold_ = np.array([2.0, 2.0, 1.0, 4.0, -1.0, -0.5, -1.0, 2.0, 1.0]), -8.0, 0.5
    f.mean_, f.scale_ = np.zeros(len(f.coef_)), np.ones(len(f.coef_))
    monkeypatch.setattr(answer, "_load_index", lambda path: Index.load(path, embedder=HashEmbedder()))
    monkeypatch.setattr(filt, "default_filter", lambda: f)
    return tmp_path / "idx", f


def test_eval_with_rag_answers_from_passages_and_fits_the_guard_on_retrieval_signals(tiny, tmp_path, rag_env,
                                                                                      monkeypatch):
    import nescio.evaluate.run as run_mod
    from nescio.evaluate import evaluate
    from nescio.models.io import load_generations

    rng = np.random.default_rng(0)
    monkeypatch.setattr(run_mod, "grade_outcomes", lambda gens: [
        Outcome.CORRECT if rng.uniform() < 0.5 else Outcome.HALLUCINATED for g in gens])
    bench = tmp_path / "bench.jsonl"
    topics = ["capital of France", "capital of Germany", "currency of Japan", "author of Hamlet", "boiling water"]
    with bench.open("w") as fh:
        for i in range(80):
            fh.write(json.dumps({"id": f"q{i}", "question": f"What is the {topics[i % 5]}? (variant {i})",
                                 "answers": ["x"], "category": "fact/x"}) + "\n")
    idx, _ = rag_env
    res = evaluate(tiny, f"jsonl:{bench}", tmp_path / "run", alpha=0.3, delta=0.2, signals=CHEAP, max_new_tokens=4,
                   progress=False, precheck=False, rag=RagSettings(str(idx)))
    assert set(res.signals) == set(CHEAP) and set(res.guard.signals) == set(CHEAP)
    stores = list((tmp_path / "run" / "generations").glob("rag-*/tiny-llama/*"))
    assert stores, "RAG generations are stored apart from closed-book ones"
    gens, _ = load_generations(stores[0])
    assert all(g.question.retrieval is not None for g in gens)
    assert any("Passages:" in g.prompt for g in gens)
    with pytest.raises(Exception, match="closed_book"):
        evaluate(tiny, f"jsonl:{bench}", tmp_path / "run2", rag=RagSettings(str(idx), no_evidence="abstain"))


def test_ask_with_rag_abstains_without_generating_when_nothing_passes(tiny, rag_env, monkeypatch):
    import nescio.models as models
    from nescio.policy.guard import Guard
    from nescio.types import Question

    idx, f = rag_env
    settings = RagSettings(str(idx), no_evidence="abstain")
    # a guard fitted on a few tiny-model RAG generations with synthetic outcomes
    qs = settings.attach([Question(f"f{i}", f"What is the capital of France? ({i})", ("Paris",)) for i in range(24)])
    guard = Guard(alpha=0.4, delta=0.3, signals=CHEAP, use_precheck=False, hedge_alpha=None, max_new_tokens=3)
    gens = models.generate(tiny, qs, guard.generation_config(), progress=False)
    outcomes = [Outcome.CORRECT, Outcome.HALLUCINATED] * 12
    guard.fit(gens[:12], outcomes[:12], gens[12:], outcomes[12:], model_id=tiny.model_id)
    decisions = rag_answer(tiny, guard, settings, ["What is the capital of France?"])
    assert decisions[0].reason != NO_EVIDENCE_REASON and "rag_passages_kept" in decisions[0].signals
    f.threshold_ = 1.01  # nothing passes now
    monkeypatch.setattr(models, "generate", lambda *a, **k: pytest.fail("the model ran"))
    d = rag_answer(tiny, guard, settings, ["What is the capital of France?"])[0]
    assert d.abstained and d.reason == NO_EVIDENCE_REASON and d.answer is None
