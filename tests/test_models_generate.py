"""Generation mechanics on the tiny model: padding, capture, stops, sampling, hooks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nescio.models import generate
from nescio.models.generation import parse_confidence
from nescio.types import CaptureSpec, GenerationConfig, NescioError, Question

Q_SHORT = Question("short", "Hi?")
Q_LONG = Question("long", "Who wrote the very long and winding novel called War and Peace, and in which year?")
Q_MID = Question("mid", "What is the capital of France?", entity="France")


def _cfg(**kw):
    base = dict(max_new_tokens=6, top_k=5)
    base.update(kw)
    return GenerationConfig(**base)


def _reference(lm, g):
    """Unbatched full forward over prompt + fed answer tokens, with a direct down_proj hook."""
    enc = lm.tokenizer(g.prompt, add_special_tokens=lm.prompt_format != "chat", return_tensors="pt")
    n_fed = len(g.token_ids) - (1 if g.stop_reason == "max_tokens" else 0)
    ids = torch.cat([enc["input_ids"][0], torch.tensor(g.token_ids[:n_fed], dtype=torch.long)])[None]
    z, h = {}, {}
    handles = []
    for i, layer in enumerate(lm.model.model.layers):
        def hook(mod, args, out, i=i):
            z[i], h[i] = args[0][0].clone(), out[0].clone()
        handles.append(layer.mlp.down_proj.register_forward_hook(hook))
    try:
        with torch.no_grad():
            out = lm.model(input_ids=ids, output_hidden_states=True)
    finally:
        for handle in handles:
            handle.remove()
    return enc["input_ids"].shape[1], n_fed, [s[0] for s in out.hidden_states], z, h


def test_padding_does_not_change_results(tiny):
    cfg = _cfg(n_samples=2)
    alone = generate(tiny, [Q_SHORT], cfg, progress=False)[0]
    batched = generate(tiny, [Q_LONG, Q_SHORT, Q_MID], cfg, progress=False)[1]
    assert batched.question.id == "short"
    assert alone.token_ids == batched.token_ids
    np.testing.assert_allclose(alone.token_logprobs, batched.token_logprobs, atol=1e-4)
    np.testing.assert_allclose(alone.token_entropies, batched.token_entropies, atol=1e-4)
    assert alone.top_k_ids == batched.top_k_ids
    assert [s.token_ids for s in alone.samples] == [s.token_ids for s in batched.samples]


def test_token_statistics_are_consistent(tiny):
    g = generate(tiny, [Q_MID], _cfg(), progress=False)[0]
    n = len(g.token_ids)
    assert n == 6 and g.stop_reason == "max_tokens"
    assert len(g.token_logprobs) == len(g.token_entropies) == len(g.top_k_ids) == n
    for t in range(n):  # greedy: chosen token is the top-1 alternative, with the same log-prob
        assert g.top_k_ids[t][0] == g.token_ids[t]
        assert g.top_k_logprobs[t][0] == pytest.approx(g.token_logprobs[t], abs=1e-6)
        assert list(g.top_k_logprobs[t]) == sorted(g.top_k_logprobs[t], reverse=True)
        assert 0 <= g.token_entropies[t] <= np.log(len(tiny.tokenizer)) + 1e-4
    assert g.prompt_token_count == len(tiny.tokenizer(g.prompt, add_special_tokens=False)["input_ids"])


def test_resid_capture_equals_output_hidden_states(tiny):
    positions = ("last_prompt", "prompt_mean", "answer", "answer_mean", "entity_last")
    cfg = _cfg(activation_dtype="float32", capture=(CaptureSpec("resid", "all", positions),))
    gens = generate(tiny, [Q_LONG, Q_MID], cfg, progress=False)
    for g in gens:
        n_prompt, n_fed, hs, _, _ = _reference(tiny, g)
        n_layers = tiny.n_layers
        for layer in range(n_layers):
            ref = hs[layer + 1]
            if layer == n_layers - 1:  # output_hidden_states applies the final norm to the last layer
                got = torch.from_numpy(g.activations[f"resid/{layer}/answer"])
                np.testing.assert_allclose(tiny.model.model.norm(got).detach(), ref[n_prompt : n_prompt + n_fed], atol=1e-4)
                continue
            a = g.activations
            np.testing.assert_allclose(a[f"resid/{layer}/last_prompt"], ref[n_prompt - 1], atol=1e-4)
            np.testing.assert_allclose(a[f"resid/{layer}/prompt_mean"], ref[:n_prompt].mean(0), atol=1e-4)
            np.testing.assert_allclose(a[f"resid/{layer}/answer"], ref[n_prompt : n_prompt + n_fed], atol=1e-4)
            np.testing.assert_allclose(a[f"resid/{layer}/answer_mean"], ref[n_prompt : n_prompt + n_fed].mean(0), atol=1e-4)
    # entity_last: the last byte-token of "France" inside the prompt
    g = gens[1]
    n_prompt, _, hs, _, _ = _reference(tiny, g)
    end = g.prompt.rfind("France") + len("France")
    ent_idx = len(tiny.tokenizer(g.prompt[:end], add_special_tokens=False)["input_ids"]) - 1
    assert ent_idx < n_prompt - 1
    np.testing.assert_allclose(g.activations["resid/0/entity_last"], hs[1][ent_idx], atol=1e-4)
    # no entity -> falls back to the last prompt token
    np.testing.assert_array_equal(gens[0].activations["resid/0/entity_last"], gens[0].activations["resid/0/last_prompt"])


def test_mlp_act_and_cett_equal_direct_computation(tiny):
    cfg = GenerationConfig(
        max_new_tokens=5,
        activation_dtype="float32",
        capture=(
            CaptureSpec("mlp_act", (0, 2), ("last_prompt", "answer")),
            CaptureSpec("cett", (1,), ("answer", "answer_mean", "prompt_mean")),
        ),
    )
    gens = generate(tiny, [Q_SHORT, Q_LONG], cfg, progress=False)
    for g in gens:
        n_prompt, n_fed, _, z, h = _reference(tiny, g)
        for layer in (0, 2):
            np.testing.assert_allclose(g.activations[f"mlp_act/{layer}/last_prompt"], z[layer][n_prompt - 1], atol=1e-4)
            np.testing.assert_allclose(g.activations[f"mlp_act/{layer}/answer"], z[layer][n_prompt : n_prompt + n_fed], atol=1e-4)
        w = tiny.model.model.layers[1].mlp.down_proj.weight
        cett = (z[1].abs() * w.norm(dim=0) / h[1].norm(dim=-1, keepdim=True)).detach()
        np.testing.assert_allclose(g.activations["cett/1/answer"], cett[n_prompt : n_prompt + n_fed], rtol=1e-3, atol=1e-5)
        np.testing.assert_allclose(g.activations["cett/1/answer_mean"], cett[n_prompt : n_prompt + n_fed].mean(0), rtol=1e-3, atol=1e-5)
        np.testing.assert_allclose(g.activations["cett/1/prompt_mean"], cett[:n_prompt].mean(0), rtol=1e-3, atol=1e-5)
        assert set(g.activations) == {
            "mlp_act/0/last_prompt", "mlp_act/0/answer", "mlp_act/2/last_prompt", "mlp_act/2/answer",
            "cett/1/answer", "cett/1/answer_mean", "cett/1/prompt_mean",
        }


def test_activation_dtype_default_float16(tiny):
    g = generate(tiny, [Q_MID], _cfg(capture=(CaptureSpec("resid", (0,), ("answer",)),)), progress=False)[0]
    assert g.activations["resid/0/answer"].dtype == np.float16
    assert g.activations["resid/0/answer"].shape == (5, tiny.hidden_size)


def _all_hooks(model):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def test_hooks_removed_after_exception(tiny, monkeypatch):
    before = _all_hooks(tiny.model)
    calls = {"n": 0}
    original = tiny.model.forward

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("boom")
        return original(*args, **kwargs)

    monkeypatch.setattr(tiny.model, "forward", flaky)
    cfg = _cfg(capture=(CaptureSpec("resid", "all", ("answer",)), CaptureSpec("cett", "all", ("answer_mean",))))
    with pytest.raises(RuntimeError, match="boom"):
        generate(tiny, [Q_MID], cfg, progress=False)
    assert calls["n"] == 3
    assert _all_hooks(tiny.model) == before


def _bias_token(lm, token_id, from_step):
    """A test-owned hook on lm_head that makes ``token_id`` win from decode call ``from_step``."""
    state = {"calls": 0}

    def hook(mod, args, out):
        state["calls"] += 1
        if state["calls"] > from_step:
            out = out.clone()
            out[..., token_id] += 1e4
            return out

    return lm.model.lm_head.register_forward_hook(hook)


def test_stops_at_eos_and_drops_it(tiny):
    handle = _bias_token(tiny, tiny.tokenizer.eos_token_id, from_step=3)
    try:
        g = generate(tiny, [Q_MID], _cfg(max_new_tokens=10, capture=(CaptureSpec("resid", (1,), ("answer",)),)), progress=False)[0]
    finally:
        handle.remove()
    assert g.stop_reason == "eos"
    assert len(g.token_ids) == 3 and tiny.tokenizer.eos_token_id not in g.token_ids
    assert g.activations["resid/1/answer"].shape[0] == 3  # every answer token was fed back


def test_fewshot_stops_at_newline():
    from nescio.models.tiny import tiny_model

    lm = tiny_model(prompt_format="fewshot")
    newline = lm.tokenizer("\n", add_special_tokens=False)["input_ids"][0]
    handle = _bias_token(lm, newline, from_step=2)
    try:
        g = generate(lm, [Q_MID], _cfg(max_new_tokens=10), progress=False)[0]
    finally:
        handle.remove()
    assert g.prompt.endswith("Question: What is the capital of France?\nAnswer:")
    assert g.stop_reason == "stop_string"
    assert "\n" not in g.text and len(g.token_ids) == 2


def test_sampling_is_reproducible_and_seeded(tiny):
    cfg = _cfg(n_samples=3, temperature=1.0, top_p=0.95, seed=7)
    a = generate(tiny, [Q_MID, Q_LONG], cfg, progress=False)
    b = generate(tiny, [Q_MID, Q_LONG], cfg, progress=False)
    c = generate(tiny, [Q_MID, Q_LONG], GenerationConfig(**{**cfg.__dict__, "seed": 8}), progress=False)
    ids = lambda gens: [[s.token_ids for s in g.samples] for g in gens]  # noqa: E731
    assert ids(a) == ids(b)
    assert ids(a) != ids(c)
    assert len(a[0].samples) == 3 and len(set(ids(a)[0])) > 1
    for s in a[0].samples:
        assert len(s.token_logprobs) == len(s.token_ids) and all(lp <= 0 for lp in s.token_logprobs)


def test_p_true_and_verbal_confidence(tiny, monkeypatch):
    from nescio.models import generation

    g = generate(tiny, [Q_MID], _cfg(p_true=True, verbal_confidence=True), progress=False)[0]
    assert 0.0 <= g.p_true <= 1.0
    assert isinstance(g.verbal_confidence_text, str)
    assert g.verbal_confidence == parse_confidence(g.verbal_confidence_text)  # the number is the reply's (or None)
    # the tiny model's reply holds no usable number: make every decoded text start with one, and the
    # confidence is that number (None would pass the check above)
    real = generation.answer_text
    monkeypatch.setattr(generation, "answer_text", lambda tok, row: "85% " + real(tok, row))
    g = generate(tiny, [Q_MID], _cfg(verbal_confidence=True), progress=False)[0]
    assert g.verbal_confidence == 0.85 and g.verbal_confidence_text.startswith("85% ")
    off = generate(tiny, [Q_MID], _cfg(), progress=False)[0]
    assert (off.p_true, off.verbal_confidence, off.verbal_confidence_text) == (None, None, None)


def test_parse_confidence():
    assert parse_confidence(" 85") == 0.85
    assert parse_confidence("I'd say 150, no, 90%") == 0.9
    assert parse_confidence("very sure") is None


@pytest.mark.parametrize("arch", ["qwen2", "mistral", "gemma3"])
def test_capture_other_architectures(arch):
    from nescio.models.tiny import tiny_model

    lm = tiny_model(arch)
    cfg = _cfg(capture=(CaptureSpec("resid", (0, -1), ("last_prompt",)), CaptureSpec("cett", (1,), ("answer_mean",))))
    g = generate(lm, [Q_MID], cfg, progress=False)[0]
    assert g.activations["resid/2/last_prompt"].shape == (lm.hidden_size,)
    assert g.activations["cett/1/answer_mean"].shape == (lm.intermediate_size,)
    assert np.isfinite(g.activations["cett/1/answer_mean"]).all()


def test_missing_site_and_bad_layer_are_named(tiny, monkeypatch):
    with pytest.raises(NescioError, match="out of range"):
        generate(tiny, [Q_MID], _cfg(capture=(CaptureSpec("resid", (99,)),)), progress=False)
    mlp = tiny.model.model.layers[0].mlp
    monkeypatch.delattr(mlp, "down_proj")
    with pytest.raises(NescioError, match="mlp.down_proj"):
        generate(tiny, [Q_MID], _cfg(capture=(CaptureSpec("mlp_act", (0,)),)), progress=False)


def test_unknown_architecture_is_refused():
    from nescio.models.sites import capture_sites

    with pytest.raises(NescioError, match="accepted"):
        capture_sites("gpt_neox_fancy")
    assert "down_proj" in capture_sites("gemma3_text")["mlp_act"]


def test_shared_prompt_prefix_runs_once_and_changes_nothing(tiny, monkeypatch):
    cfg = _cfg(capture=(CaptureSpec("resid", (0, 2), ("last_prompt", "answer")),), activation_dtype="float32")
    batch = [Q_LONG, Q_SHORT, Q_MID]
    alone = [generate(tiny, [q], cfg, progress=False)[0] for q in batch]
    shapes = []
    original = tiny.model.forward

    def recording(*args, **kwargs):
        shapes.append(tuple(kwargs["input_ids"].shape))
        return original(*args, **kwargs)

    monkeypatch.setattr(tiny.model, "forward", recording)
    together = generate(tiny, batch, cfg, progress=False)
    assert shapes[0][0] == 1 and shapes[0][1] >= 8  # the shared system-prompt prefix, once
    assert shapes[1][0] == 3 and shapes[1][1] < max(g.prompt_token_count for g in together)
    for a, b in zip(alone, together):
        assert a.token_ids == b.token_ids
        np.testing.assert_allclose(a.token_logprobs, b.token_logprobs, atol=1e-4)
        for key in a.activations:
            np.testing.assert_allclose(a.activations[key], b.activations[key], atol=1e-4)


def test_nucleus_sampling_matches_full_sort():
    from nescio.models.sampling import _sample_sorted
    from nescio.models.sampling import nucleus_sample as _nucleus_sample

    gen = torch.Generator().manual_seed(0)
    peaked = torch.softmax(torch.randn(50, 3000, generator=gen) * 6, dim=-1)  # nucleus inside the top 256
    flat = torch.softmax(torch.randn(50, 3000, generator=gen) * 0.1, dim=-1)  # needs the full sort
    for probs in (peaked, flat, torch.cat([peaked, flat])):
        u = torch.rand(probs.shape[0], generator=gen)
        sp, si = probs.sort(dim=-1, descending=True)
        assert torch.equal(_nucleus_sample(probs, u, 0.9), _sample_sorted(sp, si, u, 0.9))
