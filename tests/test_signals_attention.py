"""Attention-diagonal capture and the attention signals, on the tiny in-memory models."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from nescio.models import generate, load_generations, save_generations
from nescio.models.generation import encode_questions
from nescio.signals import capture_needs, compute_signals
from nescio.signals.registry import merge_captures
from nescio.types import CaptureSpec, Generation, GenerationConfig, NescioError, Question

QUESTIONS = [
    Question("long", "Who wrote the very long and winding novel called War and Peace, and in which year?"),
    Question("short", "Hi?"),
    Question("mid", "What is the capital of France?", entity="France"),
]
ALL_POSITIONS = ("last_prompt", "prompt_mean", "entity_last", "answer", "answer_mean")


def _cfg(*specs, **kw):
    return GenerationConfig(**{"max_new_tokens": 6, "top_k": 5, "capture": tuple(specs), **kw})


def _eager_log_diagonals(lm, prompt_ids, answer_ids):
    """Reference: a separate unbatched forward of an eager copy with output_attentions=True;
    log of the diagonal of each layer's full attention matrix, ``[n_layers, T, H]``."""
    eager = copy.deepcopy(lm.model)
    eager.config._attn_implementation = "eager"
    ids = torch.tensor([list(prompt_ids) + list(answer_ids)])
    with torch.no_grad():
        att = eager(input_ids=ids, output_attentions=True).attentions
    assert att[0] is not None and att[0].shape[-1] == ids.shape[1]
    return [torch.log(torch.diagonal(a[0], dim1=-2, dim2=-1)).T.numpy() for a in att]


@pytest.fixture(scope="module", params=["llama", "gemma3"])
def tiny_arch(request):
    from nescio.models.tiny import tiny_model

    return tiny_model(request.param, seed=0)


@pytest.mark.parametrize("positions", [ALL_POSITIONS, ("answer",)])  # ("answer",) keeps the shared-prefix prefill
def test_captured_diagonal_equals_the_eager_attention_diagonal(tiny_arch, positions):
    lm = tiny_arch
    gens = generate(lm, QUESTIONS, _cfg(CaptureSpec("attn_logdiag", "all", positions)), progress=False)
    prompts = encode_questions(lm, QUESTIONS)
    for g, p in zip(gens, prompts):
        ans = g.activations["attn_logdiag/0/answer"]
        n_fed = ans.shape[0]
        assert n_fed == len(g.token_ids) - (g.stop_reason == "max_tokens") and n_fed > 0
        ref = _eager_log_diagonals(lm, p.ids, g.token_ids[:n_fed])
        S = len(p.ids)
        for L in range(lm.n_layers):
            got = g.activations[f"attn_logdiag/{L}/answer"]
            assert got.dtype == np.float32 and got.shape == (n_fed, lm.model.config.num_attention_heads)
            np.testing.assert_allclose(got, ref[L][S:S + n_fed], atol=2e-5, rtol=1e-4)
            if "prompt_mean" in positions:
                np.testing.assert_allclose(g.activations[f"attn_logdiag/{L}/prompt_mean"], ref[L][:S].mean(0),
                                           atol=2e-5, rtol=1e-4)
                np.testing.assert_allclose(g.activations[f"attn_logdiag/{L}/last_prompt"], ref[L][S - 1],
                                           atol=2e-5, rtol=1e-4)
                np.testing.assert_allclose(g.activations[f"attn_logdiag/{L}/answer_mean"], ref[L][S:S + n_fed].mean(0),
                                           atol=2e-5, rtol=1e-4)
        # a real check: the diagonal is not the trivial one (first token attends only to itself)
        assert np.all(ref[1][S:S + n_fed] < -1e-3)


def test_capture_changes_nothing_else_and_leaves_nothing_behind(tiny):
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

    sdpa = ALL_ATTENTION_FUNCTIONS["sdpa"]
    plain = generate(tiny, QUESTIONS, _cfg(), progress=False)
    assert all(g.activations == {} for g in plain)
    needs = capture_needs(["attention_score", "attention_score_answer"])
    assert needs["capture"] == (CaptureSpec("attn_logdiag", "middle", ("answer", "prompt_mean")),)
    captured = generate(tiny, QUESTIONS, _cfg(*needs["capture"]), progress=False)
    for a, b in zip(plain, captured):
        assert a.token_ids == b.token_ids
        np.testing.assert_allclose(a.token_logprobs, b.token_logprobs, atol=1e-5)
        assert set(b.activations) == {"attn_logdiag/1/answer", "attn_logdiag/1/prompt_mean"}  # middle of 3 layers
    # the dispatcher is gone: the attention table is what it was, and nothing is tapped
    from nescio.models import attention

    assert ALL_ATTENTION_FUNCTIONS["sdpa"] is sdpa and "sdpa" not in ALL_ATTENTION_FUNCTIONS._local_mapping
    assert attention._TAPS == {} and attention._INSTALLED == {}
    assert all(g.activations == {} for g in generate(tiny, QUESTIONS[:1], _cfg(), progress=False))


def test_eager_models_are_read_from_the_weights_they_return(tiny):
    spec = CaptureSpec("attn_logdiag", (0, 2), ("prompt_mean", "answer"))
    sdpa = generate(tiny, QUESTIONS, _cfg(spec), progress=False)
    eager = copy.copy(tiny)
    eager.model = copy.deepcopy(tiny.model)
    eager.model.config._attn_implementation = "eager"
    got = generate(eager, QUESTIONS, _cfg(spec), progress=False)
    for a, b in zip(sdpa, got):
        assert a.token_ids == b.token_ids and set(a.activations) == set(b.activations)
        for k in a.activations:
            np.testing.assert_allclose(a.activations[k], b.activations[k], atol=2e-5, rtol=1e-4)


def test_signals_are_finite_and_survive_a_save_load_round_trip(tiny, tmp_path):
    names = ["attention_score", "attention_score_answer"]
    gens = generate(tiny, QUESTIONS, _cfg(**capture_needs(names)), progress=False)
    table = compute_signals(gens, names)
    for n in names:
        assert np.all(np.isfinite(table.values[n])) and table.costs[n] == 0.0
    # the formulas, from the captured arrays
    for i, g in enumerate(gens):
        pm, ans = g.activations["attn_logdiag/1/prompt_mean"], g.activations["attn_logdiag/1/answer"].astype(float)
        full = -(pm.astype(float) * g.prompt_token_count + ans.sum(0)).mean()
        assert table.values["attention_score"][i] == pytest.approx(full)
        assert table.values["attention_score_answer"][i] == pytest.approx(-ans.mean())
    save_generations(tmp_path / "g", gens, tiny.run_info(_cfg(**capture_needs(names))))
    back, info = load_generations(tmp_path / "g")
    assert info.config.capture == capture_needs(names)["capture"]
    for a, b in zip(gens, back):
        assert set(a.activations) == set(b.activations)
        for k in a.activations:
            assert b.activations[k].dtype == np.float32
            np.testing.assert_array_equal(a.activations[k], b.activations[k])
    again = compute_signals(back, names)
    for n in names:
        np.testing.assert_array_equal(again.values[n], table.values[n])


def test_missing_capture_is_an_error_and_a_missing_row_is_nan():
    q = Question("q", "What?")
    bare = Generation(q, "What?", "x", (1,), (-0.1,), (0.1,), ((1, 2),), ((-0.1, -2.0),))
    with pytest.raises(NescioError, match="attn_logdiag"):
        compute_signals([bare], ["attention_score_answer"])
    acts = {"attn_logdiag/3/answer": np.zeros((0, 4), np.float32), "attn_logdiag/3/prompt_mean": np.full(4, -1.0)}
    empty = Generation(q, "What?", "", (), (), (), (), (), activations=acts, prompt_token_count=5)
    t = compute_signals([empty, bare], ["attention_score", "attention_score_answer"])
    assert t.values["attention_score"][0] == pytest.approx(5.0)  # prompt only: −mean_h(5 · −1)
    assert np.isnan(t.values["attention_score_answer"][0]) and np.isnan(t.values["attention_score"][1])


def test_middle_layers_merge_and_resolve():
    mid = CaptureSpec("attn_logdiag", "middle", ("answer",))
    assert merge_captures([mid, CaptureSpec("attn_logdiag", "middle", ("answer",))]) == (mid,)
    assert merge_captures([mid, CaptureSpec("attn_logdiag", "all", ("answer",))])[0].layers == "all"
    both = merge_captures([mid, CaptureSpec("attn_logdiag", (0,), ("answer",))])
    assert sorted(str(c.layers) for c in both) == ["(0,)", "middle"]
    from nescio.models.capture import plan_captures

    assert plan_captures((mid,), 30) == {("attn_logdiag", 15): {"answer"}}
    with pytest.raises(NescioError, match="'all' or 'middle'"):
        CaptureSpec("attn_logdiag", "first", ("answer",))
    from nescio.cli.models import _parse_capture

    assert _parse_capture("attn_logdiag:middle:answer") == mid


def test_a_guard_can_use_an_attention_signal(tiny, tmp_path):
    """The guard asks generation for the attention capture, fits, decides, and reloads with the same config."""
    from nescio.policy.guard import Guard
    from nescio.types import Outcome

    qs = [Question(f"q{i}", f"Question {i}: what is item {i * 7 % 11} of list {i % 5}?", ("x",)) for i in range(40)]
    guard = Guard(alpha=0.4, delta=0.2, signals=("sequence_nll", "attention_score_answer"), use_precheck=False)
    config = guard.generation_config(model=tiny)
    assert config.capture == (CaptureSpec("attn_logdiag", "middle", ("answer",)),)
    gens = generate(tiny, qs, config, progress=False)
    score = compute_signals(gens, ["attention_score_answer"]).values["attention_score_answer"]
    outcomes = [Outcome.HALLUCINATED if s > np.median(score) else Outcome.CORRECT for s in score]
    guard.fit(gens[:20], outcomes[:20], gens[20:], outcomes[20:], model_id=tiny.model_id, model_spec=tiny.spec)
    d = guard.decide(gens)
    assert d.signal_names == ("sequence_nll", "attention_score_answer") and np.isfinite(d.signals).all()
    guard.save(tmp_path / "g")
    again = Guard.load(tmp_path / "g", model_id=tiny.model_id)
    assert again.generation_config_ == guard.generation_config_ and again.decide(gens) == d


def _lm_polygraph_attention_score(attention_weights: np.ndarray, layer: int) -> float:
    """LM-Polygraph's AttentionScore.__call__ for one sequence, gen_only=False (transcribed as the reference):
    ``attention_weights`` [layers, heads, T, T] of one forward over prompt + generated tokens."""
    layer_attention = attention_weights[layer]
    ue = 0.0
    for head in range(layer_attention.shape[0]):
        ue += np.sum(np.log(np.diag(layer_attention[head]) + 1e-12))
    return -ue / layer_attention.shape[0]


def test_attention_score_is_lm_polygraphs_on_the_tokens_the_model_read(tiny):
    gens = generate(tiny, QUESTIONS, _cfg(**capture_needs(["attention_score"])), progress=False)
    values = compute_signals(gens, ["attention_score"]).values["attention_score"]
    for g, p, v in zip(gens, encode_questions(tiny, QUESTIONS), values):
        n_fed = g.activations["attn_logdiag/1/answer"].shape[0]
        eager = copy.deepcopy(tiny.model)
        eager.config._attn_implementation = "eager"
        with torch.no_grad():
            att = eager(input_ids=torch.tensor([list(p.ids) + list(g.token_ids[:n_fed])]), output_attentions=True)
        weights = torch.cat(att.attentions).float().numpy()  # [layers, heads, T, T], as LM-Polygraph stacks them
        assert v == pytest.approx(_lm_polygraph_attention_score(weights, tiny.n_layers // 2), rel=1e-5)
