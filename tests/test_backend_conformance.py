"""The conformance test every registered Backend passes (``nescio.models.backend.BACKENDS``).

Each backend is built over the tiny in-memory models (two architectures, both prompt
formats); a new engine adds a factory to ``FACTORIES`` and must pass the same checks:
teacher-forced ``score`` agrees with ``generate`` (log-probs, entropies, top-k, captured
activations, samples), prompts render as generation sees them, batch order does not change
a question's result, log-probs are finite, and an unknown capture site is refused.
"""

from __future__ import annotations

import numpy as np
import pytest

from nescio.models.backend import BACKENDS, Backend, HFBackend, as_backend
from nescio.types import CaptureSpec, GenerationConfig, NescioError, Question

QUESTIONS = [
    Question(id="q0", text="What is the capital of France?"),
    Question(id="q1", text="Who is Paris Hilton?", entity="Paris Hilton"),
    Question(id="q2", text="2+2?"),
    Question(id="q3", text="A much longer question about the history of the world, and of everything in it?"),
    Question(id="q4", text="Name a colour."),
]
ALL_POSITIONS = ("last_prompt", "prompt_mean", "entity_last", "answer", "answer_mean")
CONFIG = GenerationConfig(
    max_new_tokens=10, n_samples=2, top_k=5, activation_dtype="float32", p_true=True,
    capture=(CaptureSpec("resid", "all", ALL_POSITIONS), CaptureSpec("mlp_act", (1,), ("answer_mean", "last_prompt")),
             CaptureSpec("cett", (0,), ("answer_mean",)), CaptureSpec("attn_logdiag", (2,), ("answer", "last_prompt"))),
)
SHARED_PREFIX_CONFIG = GenerationConfig(  # no prompt-pooled capture: prompts share their prefix's KV cache
    max_new_tokens=10, top_k=5, activation_dtype="float32",
    capture=(CaptureSpec("resid", (0, 2), ("answer", "answer_mean", "last_prompt")),
             CaptureSpec("attn_logdiag", (1,), ("answer_mean",))),
)
TOL = 1e-4


def _hf(arch: str, fmt: str):
    from nescio.models.tiny import tiny_model

    return HFBackend(tiny_model(arch, seed=1, prompt_format=fmt))


_SERVERS: list = []


def _upstream(arch: str, fmt: str):
    """A real OpenAI-compatible server (``nescio serve`` without a guard, uvicorn on loopback) over the
    tiny model generates; the same weights here score (white-box)."""
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    from serve_support import ThreadServer

    from nescio.models.upstream import UpstreamBackend
    from nescio.models.tiny import tiny_model
    from nescio.serve import ServeConfig, create_app

    served = tiny_model(arch, seed=1, prompt_format=fmt)
    server = ThreadServer(create_app(served, None, ServeConfig(served_model_name="tiny")))
    _SERVERS.append(server)
    return UpstreamBackend(server.base, local=_hf(arch, fmt), concurrency=1)


@pytest.fixture(scope="module", autouse=True)
def _stop_servers():
    yield
    while _SERVERS:
        _SERVERS.pop().stop()


FACTORIES = {"hf": _hf, "upstream": _upstream}
CASES = [(name, arch, fmt) for name in BACKENDS for arch in ("llama", "gemma3") for fmt in ("chat", "fewshot")]


def test_every_registered_backend_has_a_conformance_factory():
    assert set(FACTORIES) == set(BACKENDS)


@pytest.fixture(scope="module", params=CASES, ids=lambda c: "-".join(c))
def run(request):
    name, arch, fmt = request.param
    backend = FACTORIES[name](arch, fmt)
    gens = backend.generate(QUESTIONS, CONFIG)
    return backend, gens


def _close(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape
    return float(np.max(np.abs(a - b), initial=0.0))


def test_backend_is_a_backend(run):
    backend, _ = run
    assert isinstance(backend, Backend) and as_backend(backend) is backend
    assert backend.model_id and backend.device and backend.dtype == "float32"


def test_score_reproduces_generation(run):
    """Teacher forcing over the generated tokens gives what generation recorded, position by position."""
    backend, gens = run
    scored = backend.score(QUESTIONS, [g.text for g in gens], CONFIG, token_ids=[g.token_ids for g in gens],
                           stop_reasons=[g.stop_reason for g in gens])
    assert any(g.stop_reason == "max_tokens" for g in gens) or any(g.stop_reason != "max_tokens" for g in gens)
    for g, s in zip(gens, scored):
        assert s.question == g.question and s.prompt == g.prompt and s.token_ids == g.token_ids
        assert s.prompt_token_count == g.prompt_token_count and s.stop_reason == g.stop_reason
        assert len(g.token_ids) > 0
        assert _close(g.token_logprobs, s.token_logprobs) < TOL
        assert _close(g.token_entropies, s.token_entropies) < TOL
        assert s.top_k_ids == g.top_k_ids
        assert _close(g.top_k_logprobs, s.top_k_logprobs) < TOL
        assert set(s.activations) == set(g.activations) and len(g.activations) > 10
        for key in g.activations:
            assert _close(g.activations[key], s.activations[key]) < TOL, key
        assert [x.token_ids for x in s.samples] == [x.token_ids for x in g.samples] and len(s.samples) == 2
        assert abs(s.p_true - g.p_true) < TOL


def test_score_reproduces_generation_with_a_shared_prompt_prefix(run):
    from nescio.models.decode import _shared_prefix

    backend, _ = run
    gens = backend.generate(QUESTIONS, SHARED_PREFIX_CONFIG)
    assert _shared_prefix([tuple(backend.lm.tokenizer(g.prompt, add_special_tokens=backend.prompt_format != "chat")
                                 ["input_ids"]) for g in gens]) > 0
    scored = backend.score(QUESTIONS, [g.text for g in gens], SHARED_PREFIX_CONFIG,
                           token_ids=[g.token_ids for g in gens], stop_reasons=[g.stop_reason for g in gens])
    for g, s in zip(gens, scored):
        assert _close(g.token_logprobs, s.token_logprobs) < TOL and _close(g.token_entropies, s.token_entropies) < TOL
        assert set(s.activations) == set(g.activations) == {"resid/0/answer", "resid/0/answer_mean", "resid/0/last_prompt",
                                                            "resid/2/answer", "resid/2/answer_mean", "resid/2/last_prompt",
                                                            "attn_logdiag/1/answer_mean"}
        for key in g.activations:
            assert _close(g.activations[key], s.activations[key]) < TOL, key


def test_answer_capture_stops_where_generation_stopped_feeding(run):
    """A truncated answer's last token was never fed back: its capture has one row fewer."""
    backend, gens = run
    for g in gens:
        rows = g.activations["resid/0/answer"].shape[0]
        assert rows == len(g.token_ids) - (g.stop_reason == "max_tokens"
                                           or (g.stop_reason == "stop_string" and "\n" in backend.decode(g.token_ids[-1:])))


def test_score_of_the_text_retokenises_as_the_model_wrote_it_where_it_can(run):
    """From text alone: where the text re-tokenises to the generated tokens, every field agrees."""
    backend, gens = run
    texts = ["Paris", "Jane Austen", "4"]
    qs = QUESTIONS[:3]
    first = backend.score(qs, texts, CONFIG)
    again = backend.score(qs, texts, CONFIG, token_ids=[s.token_ids for s in first])
    for a, b in zip(first, again):
        assert a.token_ids and _close(a.token_logprobs, b.token_logprobs) == 0.0
        assert backend.decode(a.token_ids).strip() == a.text


def test_prompts_render_as_generation_sees_them(run):
    backend, gens = run
    assert [backend.render(q) for q in QUESTIONS] == [g.prompt for g in gens]
    assert all(backend.count_tokens(g.prompt) == g.prompt_token_count for g in gens)


def test_batch_order_does_not_change_a_result(run):
    backend, gens = run
    perm = [3, 0, 4, 2, 1]
    again = backend.generate([QUESTIONS[i] for i in perm], CONFIG)
    for k, i in enumerate(perm):
        assert again[k].question.id == QUESTIONS[i].id and again[k].token_ids == gens[i].token_ids
        assert _close(again[k].token_logprobs, gens[i].token_logprobs) < TOL
    scored = backend.score([QUESTIONS[i] for i in perm], [gens[i].text for i in perm], CONFIG,
                           token_ids=[gens[i].token_ids for i in perm], stop_reasons=[gens[i].stop_reason for i in perm])
    for k, i in enumerate(perm):
        assert scored[k].question.id == QUESTIONS[i].id
        assert _close(scored[k].token_logprobs, gens[i].token_logprobs) < TOL


def test_log_probs_are_finite_and_not_positive(run):
    backend, gens = run
    scored = backend.score(QUESTIONS, ["", "x", "a b c", "I don't know.", "ok"], CONFIG)
    for g in [*gens, *scored]:
        lps = np.array([*g.token_logprobs, *(v for row in g.top_k_logprobs for v in row)], dtype=float)
        assert np.all(np.isfinite(lps)) and np.all(lps <= 1e-6)
        assert all(np.all(np.isfinite(v)) for v in g.activations.values())
    empty = scored[0]
    assert empty.token_ids == () and empty.activations["resid/0/answer"].shape[0] == 0
    np.testing.assert_allclose(empty.activations["resid/0/answer_mean"], empty.activations["resid/0/last_prompt"])


def test_unknown_capture_site_and_bad_inputs_are_refused(run):
    backend, _ = run
    with pytest.raises(NescioError, match="unknown capture site"):
        CaptureSpec("nonsense", (0,), ("answer",))
    smuggled = CaptureSpec("resid", (0,), ("answer",))
    object.__setattr__(smuggled, "site", "nonsense")  # past the spec's own check: the backend refuses it too
    bad = GenerationConfig(max_new_tokens=2, capture=(smuggled,))
    for call in (lambda: backend.generate(QUESTIONS[:1], bad), lambda: backend.score(QUESTIONS[:1], ["x"], bad)):
        with pytest.raises(NescioError, match="nonsense|site"):
            call()
    with pytest.raises(NescioError, match="answers for"):
        backend.score(QUESTIONS[:2], ["x"], CONFIG)
    with pytest.raises(NescioError, match="stop reason"):
        backend.score(QUESTIONS[:1], ["x"], CONFIG, stop_reasons=["finished"])
    with pytest.raises(NescioError, match="capture layer"):
        backend.score(QUESTIONS[:1], ["x"], GenerationConfig(capture=(CaptureSpec("resid", (99,), ("answer",)),)))
