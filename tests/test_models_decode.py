"""The step decoder: streaming steps, rows finishing independently, the RL sampling path, the capture protocol."""

from __future__ import annotations

import pytest
import torch

from nescio.models import (
    decode_step,
    decode_steps,
    encode_questions,
    generate,
    prefill,
    sample_completions,
)
from nescio.models.decode import _shared_prefix
from nescio.models.sampling import nucleus_sample, seed_for
from nescio.types import GenerationConfig, NescioError, Question

QS = [
    Question("a", "Hi?"),
    Question("b", "What is the capital of France?", entity="France"),
    Question("c", "Who wrote War and Peace, and in which year?"),
]


@pytest.fixture
def eos_bias(tiny):
    """EOS made likely (not certain), so rows stop at different steps."""
    eos = tiny.tokenizer.eos_token_id

    def hook(mod, args, out):
        return out + torch.nn.functional.one_hot(torch.tensor(eos), out.shape[-1]) * 2.0

    handle = tiny.model.lm_head.register_forward_hook(hook)
    yield eos
    handle.remove()


def test_steps_stream_every_token_and_rows_finish_independently(tiny, eos_bias):
    cfg = GenerationConfig(max_new_tokens=8, n_samples=3, temperature=0.8, top_p=0.9, seed=3, top_k=4)
    reference = generate(tiny, QS, cfg, progress=False)
    prompts = encode_questions(tiny, QS)
    seeds = [[seed_for(cfg.seed, q.id, j) for j in range(3)] for q in QS]
    state = prefill(tiny, prompts, max_new_tokens=8, n_samples=3, seeds=seeds, temperature=0.8, top_p=0.9, top_k=4)
    streamed: dict[int, list[int]] = {}
    finished_at: dict[int, int] = {}
    for step in decode_steps(tiny, state):
        assert len(step.rows) == len(step.token_ids) == len(step.logprobs)
        assert not set(step.rows) & set(finished_at)  # a finished row chooses no more tokens
        for r, t in zip(step.rows, step.token_ids):
            streamed.setdefault(r, []).append(t)
        for row in step.finished:
            finished_at[row.row] = step.step
    rows = state.results()
    assert len(rows) == 3 + 3 * 3 and sorted(finished_at) == list(range(12))
    assert len(set(finished_at.values())) >= 3  # rows finished at different steps
    for row in rows:
        stop = [row.stop_token_id] if row.stop_token_id is not None else []
        assert streamed[row.row] == list(row.token_ids) + stop
        assert (row.stop_reason == "eos") == (row.stop_token_id == eos_bias)
    # the same rows generate() gives: greedy rows first, then samples prompt-major
    for i, g in enumerate(reference):
        assert rows[i].token_ids == g.token_ids and rows[i].token_logprobs == g.token_logprobs
        assert rows[i].token_entropies == g.token_entropies and rows[i].top_k_ids == g.top_k_ids
        for j, s in enumerate(g.samples):
            r = rows[3 + 3 * i + j]
            assert (r.prompt, r.sample) == (i, j)
            assert r.token_ids == s.token_ids and r.token_logprobs == s.token_logprobs
    with pytest.raises(RuntimeError, match="finished"):
        decode_step(tiny, state)


def test_results_before_the_end_and_bad_rows_are_refused(tiny):
    prompts = encode_questions(tiny, QS[:1])
    state = prefill(tiny, prompts, max_new_tokens=3)
    with pytest.raises(RuntimeError, match="not finished"):
        state.results()
    with pytest.raises(NescioError, match="row per prompt"):
        prefill(tiny, prompts, max_new_tokens=3, greedy=False, n_samples=0)
    with pytest.raises(NescioError, match="seeds"):
        prefill(tiny, prompts, max_new_tokens=3, n_samples=2, seeds=[[1]])


def test_sample_completions_is_generates_sampling_path(tiny, eos_bias):
    cfg = GenerationConfig(max_new_tokens=8, n_samples=4, temperature=0.9, top_p=0.95, seed=5)
    gens = generate(tiny, QS, cfg, progress=False)
    texts = [g.prompt for g in gens]
    groups = sample_completions(tiny, texts, 4, keys=[q.id for q in QS], seed=5, temperature=0.9, top_p=0.95,
                                max_new_tokens=8, batch_size=2)
    for g, group in zip(gens, groups):
        assert group.prompt == g.prompt and len(group.prompt_ids) == g.prompt_token_count
        assert [c.token_ids for c in group.completions] == [s.token_ids for s in g.samples]
        for c, s in zip(group.completions, g.samples):  # other batch shapes: equal up to float rounding
            assert c.token_logprobs == pytest.approx(s.token_logprobs, abs=1e-5)
        assert [c.text for c in group.completions] == [s.text for s in g.samples]
    stops = [c for grp in groups for c in grp.completions if c.stop_reason == "eos"]
    assert stops and all(c.stop_token_id == eos_bias and c.stop_logprob <= 0 for c in stops)
    # seeded: another seed draws other completions; one prompt alone draws the same as in a batch
    other = sample_completions(tiny, texts, 4, keys=[q.id for q in QS], seed=6, temperature=0.9, top_p=0.95,
                               max_new_tokens=8)
    assert [c.token_ids for g in other for c in g.completions] != [c.token_ids for g in groups for c in g.completions]
    alone = sample_completions(tiny, texts[1:2], 4, keys=["b"], seed=5, temperature=0.9, top_p=0.95, max_new_tokens=8)
    assert [c.token_ids for c in alone[0].completions] == [c.token_ids for c in groups[1].completions]
    assert [c.seed for c in alone[0].completions] == [c.seed for c in groups[1].completions]
    assert not tiny.model.training


def test_top_p_one_draws_exactly_without_sorting(monkeypatch):
    gen = torch.Generator().manual_seed(0)
    probs = torch.softmax(torch.randn(4, 50, generator=gen) * 2, dim=-1)

    def refuse(*args, **kwargs):
        raise AssertionError("top_p = 1 must not sort or take top-k")

    monkeypatch.setattr(torch.Tensor, "sort", refuse)
    monkeypatch.setattr(torch.Tensor, "topk", refuse)
    n = 20000
    u = torch.rand(n, generator=gen)
    counts = torch.zeros(4, 50)
    for row in range(4):
        picks = nucleus_sample(probs[row].expand(n, -1), u, 1.0)
        counts[row] = torch.bincount(picks, minlength=50).float()
    freq = counts / n
    # inverse CDF of independent uniforms: frequencies within 5 standard errors of the probabilities
    se = (probs * (1 - probs) / n).sqrt()
    assert ((freq - probs).abs() <= 5 * se + 1e-4).all()


class RecordingCapture:
    """A minimal DecodeCapture: what the decoder tells a capture, and when."""

    positions = frozenset({"answer"})

    def __init__(self, model):
        self.calls: list[tuple] = []
        self.forwards = 0
        self.handle = model.register_forward_hook(lambda *a: setattr(self, "forwards", self.forwards + 1))

    def prefill(self, prompt_mask, entity_index):
        self.calls.append(("prefill", tuple(prompt_mask.shape), tuple(entity_index.shape), self.forwards))

    def step(self, n_greedy, greedy_prompts):
        self.calls.append(("step", n_greedy, greedy_prompts[:n_greedy].tolist(), self.forwards))

    def close(self):
        self.calls.append(("close", self.forwards))


def test_capture_protocol_is_three_calls(tiny):
    prompts = encode_questions(tiny, QS)
    cap = RecordingCapture(tiny.model)
    try:
        state = prefill(tiny, prompts, max_new_tokens=4, capture=cap)
        steps = list(decode_steps(tiny, state))
    finally:
        cap.handle.remove()
    kinds = [c[0] for c in cap.calls]
    assert kinds[0] == "prefill" and kinds[-1] == "close" and kinds.count("step") == len(steps) - 1 == 3
    assert cap.calls[0][1][0] == 3 and cap.calls[0][2] == (3,)
    # each call comes right before the forward it describes (shared prefix forward first, then the batch)
    forwards_before = [c[-1] for c in cap.calls]
    assert forwards_before == sorted(forwards_before) and len(set(forwards_before[1:-1])) == 3
    assert all(c[2] == [0, 1, 2] for c in cap.calls if c[0] == "step")


def _alone(lm, prompts, seeds, max_new_tokens):
    state = prefill(lm, prompts, max_new_tokens=max_new_tokens, n_samples=2, seeds=seeds, temperature=0.9, top_p=0.9)
    list(decode_steps(lm, state))
    return state.results()


def test_join_states_adds_prompts_to_a_running_batch(tiny, eos_bias):
    from nescio.models.batching import join_states

    prompts = encode_questions(tiny, QS + [Question("d", "Name a colour.")])
    seeds = [[seed_for(0, str(i), j) for j in range(2)] for i in range(4)]
    first = _alone(tiny, prompts[:2], seeds[:2], 8)
    second = _alone(tiny, prompts[2:], seeds[2:], 5)

    running = prefill(tiny, prompts[:2], max_new_tokens=8, n_samples=2, seeds=seeds[:2], temperature=0.9, top_p=0.9)
    for _ in range(3):
        decode_step(tiny, running)
    new = prefill(tiny, prompts[2:], max_new_tokens=5, n_samples=2, seeds=seeds[2:], temperature=0.9, top_p=0.9)
    join_states(tiny, running, new)
    assert len(running.buffers) == 12 and running.n_greedy <= 4
    list(decode_steps(tiny, running))
    rows = running.results()
    # rows 0..5: the running prompts' (greedy, then samples); rows 6..11: the joined prompts'
    for got, want in zip(rows, first + second):
        assert got.token_ids == want.token_ids and got.stop_reason == want.stop_reason
        assert got.token_logprobs == pytest.approx(want.token_logprobs, abs=1e-4)
    assert [r.prompt for r in rows[6:]] == [2, 3, 2, 2, 3, 3]
    assert all(len(r.token_ids) <= 5 for r in rows[6:])  # the joined rows keep their own max_new_tokens


def test_join_refuses_what_it_cannot_join(tiny):
    from nescio.models.batching import join_states
    from nescio.models.tiny import tiny_model

    prompts = encode_questions(tiny, QS[:1])
    a = prefill(tiny, prompts, max_new_tokens=3)
    with pytest.raises(NescioError, match="temperature"):
        join_states(tiny, a, prefill(tiny, prompts, max_new_tokens=3, top_k=3))
    gemma = tiny_model("gemma3")
    gp = encode_questions(gemma, QS[:1])
    with pytest.raises(NescioError, match="sliding-window"):
        join_states(gemma, prefill(gemma, gp, max_new_tokens=3), prefill(gemma, gp, max_new_tokens=3))



def _plain_logprobs(lm, prompt_ids, ids):
    """Log-probs of ``ids`` after ``prompt_ids`` from one plain unbatched forward (no cache, no padding)."""
    x = torch.tensor([list(prompt_ids) + list(ids)])
    with torch.no_grad():
        logp = torch.log_softmax(lm.model(input_ids=x).logits[0].float(), dim=-1)
    S = len(prompt_ids)
    return logp[S - 1:S - 1 + len(ids)].gather(1, torch.tensor(ids)[:, None])[:, 0].tolist()


LONG_QS = [
    Question("long", "Who wrote the very long and winding novel called War and Peace, and in which year?"),
    Question("short", "Hi?"),
    Question("mid", "What is the capital of France?"),
]


@pytest.mark.parametrize("arch", ["llama", "gemma3"])
def test_shared_prefix_logprobs_equal_an_unbatched_forward_past_the_sliding_window(arch):
    """Shared prefix + left padding + prompts longer than the sliding window (64 in the tiny Gemma 3):
    every generated token's log-prob equals that of one plain unbatched forward over prompt + answer.
    The tiny Llama (no sliding window) is the control."""
    from nescio.models.tiny import tiny_model

    lm = tiny_model(arch, seed=0)
    prompts = encode_questions(lm, LONG_QS)
    lengths = [len(p.ids) for p in prompts]
    assert max(lengths) > 64 and len(set(lengths)) == 3  # past the window, and padded
    cfg = GenerationConfig(max_new_tokens=12, n_samples=2, temperature=1.0, seed=1, top_k=3)
    gens = generate(lm, LONG_QS, cfg, progress=False)
    assert _shared_prefix([p.ids for p in prompts]) > 0  # the shortcut is on
    for g, p in zip(gens, prompts):
        for ids, lps in [(g.token_ids, g.token_logprobs)] + [(s.token_ids, s.token_logprobs) for s in g.samples]:
            assert ids
            assert list(lps) == pytest.approx(_plain_logprobs(lm, p.ids, ids), abs=1e-4)


@pytest.mark.parametrize("prefix_len,suffix_lens,max_new", [(20, (50, 8, 30), 10), (40, (3, 12, 1), 20), (20, (10, 3), 6)])
def test_shared_prefix_shorter_than_the_window_is_exact_too(prefix_len, suffix_lens, max_new):
    """A prefix inside the window whose rows leave it (in the prompt, or only while decoding), and one that never does."""
    from nescio.models.decode import decode
    from nescio.models.tiny import tiny_model
    from nescio.models.tokens import Prompt

    lm = tiny_model("gemma3", seed=1)
    gen = torch.Generator().manual_seed(0)
    draw = lambda n: tuple(torch.randint(40, 120, (n,), generator=gen).tolist())  # noqa: E731
    prefix = draw(prefix_len)
    prompts = [Prompt("", prefix + draw(n)) for n in suffix_lens]
    assert _shared_prefix([p.ids for p in prompts]) >= prefix_len
    rows, _ = decode(lm, prompts, max_new_tokens=max_new, stop_newline=False)
    for row, p in zip(rows, prompts):
        ids = list(row.token_ids) + ([row.stop_token_id] if row.stop_token_id is not None else [])
        lps = list(row.token_logprobs) + ([row.stop_logprob] if row.stop_logprob is not None else [])
        assert lps == pytest.approx(_plain_logprobs(lm, p.ids, ids), abs=1e-4)
