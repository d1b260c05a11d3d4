"""Registry, logit, reflexive and sampling signals on hand-made generations."""

import math

import numpy as np
import pytest

from nescio.signals import capture_needs, compute_signals, list_signals, signal_info
from nescio.signals.sampling import cluster_answers, semantic_entropy_from_clusters
from nescio.signals.registry import FAMILIES
from nescio.signals.table import load_signal_table, save_signal_table
from nescio.types import CaptureSpec, Generation, GenerationConfig, NescioError, Question, Sample


def make_gen(qid, text, logprobs, *, entropies=None, top2=None, samples=(), p_true=None, verbal=None, answers=("x",)):
    n = len(logprobs)
    top = tuple((tuple(top2) if (top2 and t == 0) else (lp, lp - 3.0)) for t, lp in enumerate(logprobs))
    return Generation(
        question=Question(qid, f"question {qid}?", answers=answers),
        prompt=f"question {qid}?",
        text=text,
        token_ids=tuple(range(n)),
        token_logprobs=tuple(logprobs),
        token_entropies=tuple(entropies if entropies is not None else [0.1] * n),
        top_k_ids=tuple((0, 1) for _ in range(n)),
        top_k_logprobs=top,
        samples=tuple(Sample(s, (1, 2), (lp, lp)) for s, lp in samples),
        p_true=p_true,
        verbal_confidence=verbal,
    )


def test_every_registered_signal_documents_family_needs_and_cost():
    names = list_signals()
    assert {"sequence_nll", "semantic_entropy", "probe_last_prompt", "h_neurons", "entity_direction"} <= set(names)
    for n in names:
        info = signal_info(n)
        assert info.family in FAMILIES and info.description
    with pytest.raises(NescioError, match="unknown signal"):
        signal_info("nope")


def test_capture_needs_merges_and_builds_a_generation_config():
    needs = capture_needs(["sequence_nll"])
    assert needs == {"n_samples": 0, "capture": (), "p_true": False, "verbal_confidence": False}
    needs = capture_needs(["semantic_entropy", "one_minus_p_true", "probe_last_prompt", "entity_direction",
                           "probe_answer_mean", "h_neurons"], n_samples=5)
    assert needs["n_samples"] == 5 and needs["p_true"] and not needs["verbal_confidence"]
    caps = {c.site: c for c in needs["capture"]}
    assert set(caps) == {"resid", "cett"}
    assert set(caps["resid"].positions) == {"last_prompt", "entity_last", "answer_mean"}
    assert caps["resid"].layers == "all"
    assert set(caps["cett"].positions) == {"answer_mean", "prompt_mean"}
    GenerationConfig(max_new_tokens=8, **needs)  # accepted as-is


def test_capture_needs_uses_a_fitted_probes_layer():
    class Fitted:
        def capture_specs(self):
            return (CaptureSpec("resid", (7,), ("last_prompt",)),)

    needs = capture_needs(["probe_last_prompt"], probes={"probe_last_prompt": Fitted()})
    assert needs["capture"] == (CaptureSpec("resid", (7,), ("last_prompt",)),)


def test_msp_confident_wrong_scores_riskier_than_confident_right_only_by_probability():
    right = make_gen("a", "Paris", [-0.01, -0.02])
    wrong = make_gen("b", "Lyon", [-0.9, -1.5])
    t = compute_signals([right, wrong], ["sequence_nll", "mean_token_nll", "max_token_nll", "perplexity"])
    for name in t.values:
        assert t.values[name][1] > t.values[name][0], name
    assert t.values["sequence_nll"][0] == pytest.approx(0.03)
    assert t.values["perplexity"][1] == pytest.approx(math.exp(1.2))
    assert t.costs["sequence_nll"] == 0.0


def test_entropy_margin_and_empty_answer():
    g = make_gen("a", "x", [-0.1, -0.2], entropies=[0.5, 2.0], top2=(math.log(0.6), math.log(0.3)))
    empty = make_gen("e", "", [])
    t = compute_signals([g, empty], ["mean_token_entropy", "max_token_entropy", "one_minus_first_token_margin",
                                     "sequence_nll"])
    assert t.values["mean_token_entropy"][0] == pytest.approx(1.25)
    assert t.values["max_token_entropy"][0] == pytest.approx(2.0)
    assert t.values["one_minus_first_token_margin"][0] == pytest.approx(0.7)
    assert all(math.isnan(t.values[n][1]) for n in t.values)


def test_reflexive_signals_missing_is_nan_not_zero():
    gens = [make_gen("a", "x", [-0.1], p_true=0.9, verbal=0.8), make_gen("b", "y", [-0.1], p_true=None, verbal=None)]
    t = compute_signals(gens, ["one_minus_p_true", "one_minus_verbal_confidence"])
    assert t.values["one_minus_p_true"][0] == pytest.approx(0.1)
    assert t.values["one_minus_verbal_confidence"][0] == pytest.approx(0.2)
    assert math.isnan(t.values["one_minus_p_true"][1]) and math.isnan(t.values["one_minus_verbal_confidence"][1])
    assert t.costs["one_minus_p_true"] == 1.0


def test_sampling_signals_on_agreeing_and_scattered_samples():
    same = make_gen("a", "Paris", [-0.1], samples=[("Paris", -0.1), ("paris.", -0.3), ("The Paris", -0.2)])
    scattered = make_gen("b", "Lyon", [-0.1], samples=[("Lyon", -0.5), ("Marseille", -0.5), ("Toulouse", -0.5)])
    names = ["sample_disagreement", "n_distinct_answers", "semantic_entropy", "discrete_semantic_entropy"]
    t = compute_signals([same, scattered], names)
    assert t.values["sample_disagreement"].tolist() == pytest.approx([0.0, 2 / 3])
    assert t.values["n_distinct_answers"].tolist() == [1.0, 3.0]
    assert t.values["semantic_entropy"][0] == pytest.approx(0.0)
    assert t.values["discrete_semantic_entropy"][0] == pytest.approx(0.0)
    assert t.values["semantic_entropy"][1] == pytest.approx(math.log(3))
    assert t.costs["semantic_entropy"] == pytest.approx(6.0)  # 3 samples x 2 tokens


def test_semantic_entropy_weights_by_sample_probability():
    # two clusters; the likelier samples in cluster 0 lower the weighted entropy below the discrete one
    ids = [0, 0, 1]
    discrete = semantic_entropy_from_clusters(ids)
    weighted = semantic_entropy_from_clusters(ids, [-0.1, -0.1, -3.0])
    assert discrete == pytest.approx(-(2 / 3 * math.log(2 / 3) + 1 / 3 * math.log(1 / 3)))
    assert weighted < discrete


def test_embedding_clusters_join_paraphrases_but_not_different_answers():
    ids = cluster_answers(["Paris", "Paris, France", "Berlin"])
    assert ids[0] == ids[1] and ids[2] != ids[0]


def test_sampling_signal_without_samples_names_the_fix():
    with pytest.raises(NescioError, match="n_samples"):
        compute_signals([make_gen("a", "x", [-0.1])], ["semantic_entropy"])


def test_fitted_signal_needs_its_probe():
    with pytest.raises(NescioError, match="probes="):
        compute_signals([make_gen("a", "x", [-0.1])], ["probe_last_prompt"])


def test_signal_table_round_trip(tmp_path):
    gens = [make_gen("a", "x", [-0.1, -0.2]), make_gen("b", "", [])]
    t = compute_signals(gens, ["sequence_nll", "max_token_entropy"])
    save_signal_table(tmp_path / "t", t, spec={"signals": ["sequence_nll", "max_token_entropy"]})
    back = load_signal_table(tmp_path / "t")
    assert back.question_ids == ("a", "b") and back.costs == t.costs
    np.testing.assert_array_equal(back.matrix(["sequence_nll", "max_token_entropy"]),
                                  t.matrix(["sequence_nll", "max_token_entropy"]))
    with pytest.raises(NescioError):
        load_signal_table(tmp_path / "missing")


def test_sampling_caches_stay_bounded_after_many_distinct_answers(monkeypatch):
    import nescio.signals.sampling as sampling
    from nescio.lru import LRU

    def slot(t):  # a distinct one-hot per text: "answer i" → 2i, "other i" → 2i + 1
        word, i = t.split()
        return 2 * int(i) + (word == "other")

    class FakeEmbedder:
        calls = 0

        def encode(self, texts, **kw):
            FakeEmbedder.calls += 1
            out = np.zeros((len(texts), 384), dtype=np.float32)
            for i, t in enumerate(texts):
                out[i, slot(t)] = 1.0
            return out

    assert sampling._EMBEDDINGS.maxsize == sampling._CLUSTERS.maxsize == sampling.CACHE_SIZE
    monkeypatch.setattr(sampling, "minilm_model", lambda: FakeEmbedder())
    monkeypatch.setattr(sampling, "_EMBEDDINGS", LRU(8))
    monkeypatch.setattr(sampling, "_CLUSTERS", LRU(8))
    gens = [make_gen(f"q{i}", f"answer {i}", [-0.1], samples=[(f"answer {i}", -0.1), (f"other {i}", -0.2)])
            for i in range(100)]
    t = compute_signals(gens, ["semantic_entropy", "discrete_semantic_entropy", "n_distinct_answers"])
    assert t.values["n_distinct_answers"].tolist() == [2.0] * 100
    assert t.values["discrete_semantic_entropy"] == pytest.approx([math.log(2)] * 100)
    assert len(sampling._EMBEDDINGS) <= 8 and len(sampling._CLUSTERS) <= 8
    # one call with more texts than the cache holds still embeds each one right
    texts = [f"text {i}" for i in range(50)]
    emb = sampling.embed_answers(texts)
    assert emb.shape == (50, 384) and [int(np.argmax(e)) for e in emb] == [slot(t) for t in texts]
    calls = FakeEmbedder.calls
    sampling.embed_answers(sorted(texts)[-8:])  # the most recently embedded texts are still cached
    assert FakeEmbedder.calls == calls and len(sampling._EMBEDDINGS) == 8


def test_lru_forgets_the_least_recently_used():
    from nescio.lru import LRU

    c = LRU(2)
    c.put("a", 1)
    c.put("b", 2)
    assert c.get("a") == 1  # a is now the most recent
    c.put("c", 3)
    assert "b" not in c and c.get("a") == 1 and c.get("c") == 3 and len(c) == 2
    assert c.get("b", "gone") == "gone"
