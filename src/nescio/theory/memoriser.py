"""The memoriser experiment: small transformers, trained from scratch, memorising random facts.

Facts are ``n`` random key → value pairs with no pattern: a key is a string of
``key_length`` random letters (an invented name), a value is a ``value_digits``-digit
number (an invented ID), so the facts hold ``n × log2(#values)`` bits and nothing shorter
describes them. Every key has exactly one true value; a *claim* is a (key, value) pair, so
the universe has ``u = n × #values`` claims and a share ``p = 1/#values`` of them are facts.

Two forms of the same architecture (a pre-LN causal transformer over the tokens
``key letters, '=', value digits``):

* **scorer**: a membership tester. Trained with binary cross-entropy on facts (label 1)
  against non-facts (label 0) drawn fresh each step as the fact's key with a wrong value.
  For each key a fixed share of wrong values is *reserved* and never used in training;
  the held-out non-facts are drawn from those.
* **generator**: next-token log-loss on the value digits given the key (what a language
  model does with facts). Its score for a claim is ``p(value | key)``; on *new* keys (not
  among the facts) any value it gives is made up.

Everything is seeded: the same ``MemoriserConfig`` gives the same numbers on the same
machine and torch version.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from nescio.types import NescioError

__all__ = [
    "MemoriserConfig",
    "FactSet",
    "make_facts",
    "build_model",
    "count_parameters",
    "train_and_measure",
]

LETTERS = "abcdefghijklmnopqrstuvwxyz"
DIGIT_BASE = 0  # token ids 0..9 are digits
LETTER_BASE = 10  # 10..35 letters
SEP = 36  # '='
VOCAB_SIZE = 37


@dataclass(frozen=True)
class MemoriserConfig:
    """One sweep point: the facts, the model size and the training schedule.

    ``d_model``/``n_layers``/``n_heads``/``mlp_ratio``: the transformer. ``steps`` Adam
    steps of ``batch_size`` facts (plus as many non-facts for the scorer) at ``lr`` with a
    cosine decay. ``fact_weight``: the scorer's BCE weight on facts relative to non-facts (a
    Lagrange multiplier for the facts' loss target ε_K: larger means facts must be scored
    more confidently). ``reserved_share``: share of each key's wrong values kept out of training
    for the held-out non-facts. ``num_samples``: samples per new key to test consistency.
    """

    form: str = "scorer"  # "scorer" | "generator"
    num_facts: int = 512
    value_digits: int = 3
    key_length: int = 5
    d_model: int = 16
    n_layers: int = 2
    n_heads: int = 2
    mlp_ratio: int = 4
    steps: int = 1500
    batch_size: int = 256
    lr: float = 3e-3
    fact_weight: float = 1.0
    reserved_share: float = 0.1
    eval_nonfacts_per_key: int = 8
    num_new_keys: int = 512
    num_samples: int = 5
    seed: int = 0
    device: str = "cpu"

    @property
    def num_values(self) -> int:
        return 10**self.value_digits

    @property
    def facts_bits(self) -> float:
        """The facts' information content: ``n × log2(#values)`` bits."""
        return self.num_facts * math.log2(self.num_values)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class FactSet:
    """Keys (``n × key_length`` letter ids), true values, and per-key value permutations.

    ``value_perm[i, 0]`` is key i's true value; ``value_perm[i, 1:1+reserved]`` its held-out
    wrong values; the rest are the wrong values used as training non-facts.
    ``new_keys``: keys that are not facts (for the generator's made-up answers).
    """

    keys: np.ndarray
    values: np.ndarray
    value_perm: np.ndarray
    num_reserved: int
    new_keys: np.ndarray = field(repr=False)


def make_facts(config: MemoriserConfig) -> FactSet:
    """Draw the random facts, the reserved wrong values and the new keys (seeded)."""
    n, length, v = config.num_facts, config.key_length, config.num_values
    if 26**length < 4 * (n + config.num_new_keys):
        raise NescioError(f"key_length={length} gives too few distinct keys for {n} facts; use a longer key")
    if v < 10:
        raise NescioError(f"value_digits={config.value_digits} is too small; use at least 1")
    rng = np.random.default_rng([config.seed, 7])
    seen: set[bytes] = set()
    keys = []
    while len(keys) < n + config.num_new_keys:
        k = rng.integers(0, 26, size=length)
        if k.tobytes() not in seen:
            seen.add(k.tobytes())
            keys.append(k)
    keys_arr = np.stack(keys)
    perm = np.stack([rng.permutation(v) for _ in range(n)])
    num_reserved = int(round(config.reserved_share * (v - 1)))
    if config.reserved_share > 0 and not 1 <= num_reserved < v - 1:
        raise NescioError(f"reserved_share={config.reserved_share} leaves no held-out or no training wrong values")
    return FactSet(keys=keys_arr[:n], values=perm[:, 0].copy(), value_perm=perm, num_reserved=num_reserved,
                   new_keys=keys_arr[n:])


def _digits(values: np.ndarray, num_digits: int) -> np.ndarray:
    return np.stack([(values // 10 ** (num_digits - 1 - j)) % 10 for j in range(num_digits)], axis=-1)


def _sequences(keys: np.ndarray, values: np.ndarray, num_digits: int) -> np.ndarray:
    sep = np.full((len(keys), 1), SEP)
    return np.concatenate([keys + LETTER_BASE, sep, _digits(values, num_digits) + DIGIT_BASE], axis=1)


def build_model(config: MemoriserConfig):
    """A pre-LN causal transformer; output head 1 logit (scorer) or 10 digit logits (generator)."""
    import torch
    from torch import nn

    if config.form not in ("scorer", "generator"):
        raise NescioError(f"form={config.form!r} is not known; use 'scorer' or 'generator'")
    if config.d_model % config.n_heads:
        raise NescioError(f"d_model={config.d_model} is not divisible by n_heads={config.n_heads}")
    seq_len = config.key_length + 1 + config.value_digits

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            d = config.d_model
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.attn = nn.MultiheadAttention(d, config.n_heads, batch_first=True)
            self.mlp = nn.Sequential(nn.Linear(d, config.mlp_ratio * d), nn.GELU(), nn.Linear(config.mlp_ratio * d, d))

        def forward(self, x, mask):
            h = self.ln1(x)
            x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
            return x + self.mlp(self.ln2(x))

    class Memoriser(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tok = nn.Embedding(VOCAB_SIZE, config.d_model)
            self.pos = nn.Parameter(torch.zeros(seq_len, config.d_model))
            self.blocks = nn.ModuleList(Block() for _ in range(config.n_layers))
            self.ln = nn.LayerNorm(config.d_model)
            self.head = nn.Linear(config.d_model, 1 if config.form == "scorer" else 10)  # generator: digits only
            nn.init.normal_(self.pos, std=0.02)
            self.register_buffer("mask", torch.triu(torch.ones(seq_len, seq_len, dtype=torch.bool), 1), persistent=False)

        def forward(self, tokens):  # tokens: (batch, seq) -> (batch, seq, out)
            t = tokens.shape[1]
            x = self.tok(tokens) + self.pos[:t]
            for block in self.blocks:
                x = block(x, self.mask[:t, :t])
            return self.head(self.ln(x))

    return Memoriser()


def count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())


def _wrong_values(facts: FactSet, key_idx: np.ndarray, rng: np.random.Generator, *, reserved: bool) -> np.ndarray:
    v = facts.value_perm.shape[1]
    if facts.num_reserved == 0:  # no held-out values: evaluate on the same space training samples from
        lo, hi = 1, v
    else:
        lo, hi = (1, 1 + facts.num_reserved) if reserved else (1 + facts.num_reserved, v)
    cols = rng.integers(lo, hi, size=len(key_idx))
    return facts.value_perm[key_idx, cols]


def _train(model, config: MemoriserConfig, facts: FactSet, progress=None) -> list[float]:
    import torch
    import torch.nn.functional as F

    device = torch.device(config.device)
    rng = np.random.default_rng([config.seed, 11])
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(s, config.steps) / config.steps)))
    n, nd = config.num_facts, config.value_digits
    batch = min(config.batch_size, n)
    fact_tokens = torch.as_tensor(_sequences(facts.keys, facts.values, nd), device=device)
    losses = []
    model.train()
    for step in range(config.steps):
        idx = rng.choice(n, size=batch, replace=False)
        if config.form == "scorer":
            neg_tokens = torch.as_tensor(_sequences(facts.keys[idx], _wrong_values(facts, idx, rng, reserved=False), nd),
                                         device=device)
            tokens = torch.cat([fact_tokens[idx], neg_tokens])
            labels = torch.cat([torch.ones(batch, device=device), torch.zeros(batch, device=device)])
            logits = model(tokens)[:, -1, 0]
            weights = torch.cat([torch.full((batch,), config.fact_weight, device=device), torch.ones(batch, device=device)])
            loss = F.binary_cross_entropy_with_logits(logits, labels, weight=weights) / (1 + config.fact_weight) * 2
        else:
            tokens = fact_tokens[idx]
            logits = model(tokens[:, :-1])[:, -nd:, :]  # positions '=' .. second-to-last digit predict the digits
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens[:, -nd:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % 50 == 0 or step == config.steps - 1:
            losses.append(float(loss.detach()))
        if progress is not None:
            progress()
    model.eval()
    return losses


def _score_claims(model, config: MemoriserConfig, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Scorer: sigmoid of the logit. Generator: p(value | key), the product of digit probabilities."""
    import torch

    nd = config.value_digits
    out = []
    with torch.no_grad():
        for s in range(0, len(keys), 4096):
            tokens = torch.as_tensor(_sequences(keys[s:s + 4096], values[s:s + 4096], nd), device=config.device)
            if config.form == "scorer":
                out.append(torch.sigmoid(model(tokens)[:, -1, 0]).double().cpu().numpy())
            else:
                logp = torch.log_softmax(model(tokens[:, :-1])[:, -nd:, :].double(), dim=-1)
                picked = logp.gather(-1, tokens[:, -nd:, None]).squeeze(-1).sum(-1)
                out.append(picked.exp().cpu().numpy())
    return np.concatenate(out)


def _decode(model, config: MemoriserConfig, keys: np.ndarray, *, sample: bool, generator=None) -> tuple[np.ndarray, np.ndarray]:
    """Digit-by-digit decoding (greedy or sampled at temperature 1); returns (values, their probability)."""
    import torch

    nd = config.value_digits
    tokens = torch.as_tensor(np.concatenate([keys + LETTER_BASE, np.full((len(keys), 1), SEP)], axis=1),
                             device=config.device)
    logp_total = torch.zeros(len(keys), dtype=torch.float64, device=config.device)
    with torch.no_grad():
        for _ in range(nd):
            logp = torch.log_softmax(model(tokens)[:, -1, :].double(), dim=-1)
            if sample:
                nxt = torch.multinomial(logp.exp(), 1, generator=generator).squeeze(-1)
            else:
                nxt = logp.argmax(-1)
            logp_total += logp.gather(-1, nxt[:, None]).squeeze(-1)
            tokens = torch.cat([tokens, nxt[:, None]], dim=1)
    digits = tokens[:, -nd:].cpu().numpy()
    values = (digits * 10 ** np.arange(nd - 1, -1, -1)).sum(-1)
    return values, logp_total.exp().cpu().numpy()


def train_and_measure(config: MemoriserConfig, progress=None) -> dict:
    """Train one model of ``config`` and return its measured scores (see :mod:`nescio.theory.run`).

    Returns a dict with ``num_parameters``, ``loss_curve``, ``fact_scores`` (μ_K sample) and
    ``nonfact_scores`` (μ_N sample, held-out wrong values for the facts' keys); for the
    generator also ``new_key_confidence`` (probability of the greedy made-up value for keys
    that are not facts), ``new_key_consistent`` (all ``num_samples`` samples agree) and
    ``fact_recall`` (greedy value == true value).
    """
    import torch

    torch.manual_seed(config.seed)
    facts = make_facts(config)
    model = build_model(config).to(config.device)
    losses = _train(model, config, facts, progress)
    rng = np.random.default_rng([config.seed, 13])
    key_idx = np.repeat(np.arange(config.num_facts), config.eval_nonfacts_per_key)
    wrong = _wrong_values(facts, key_idx, rng, reserved=True)
    result = {
        "num_parameters": count_parameters(model),
        "loss_curve": losses,
        "fact_scores": _score_claims(model, config, facts.keys, facts.values),
        "nonfact_scores": _score_claims(model, config, facts.keys[key_idx], wrong),
    }
    if config.form == "generator":
        greedy, _ = _decode(model, config, facts.keys, sample=False)
        result["fact_recall"] = float(np.mean(greedy == facts.values))
        new_values, new_conf = _decode(model, config, facts.new_keys, sample=False)
        gen = torch.Generator(device=config.device).manual_seed(config.seed + 17)
        samples = np.stack([_decode(model, config, facts.new_keys, sample=True, generator=gen)[0]
                            for _ in range(config.num_samples)])
        result["new_key_confidence"] = new_conf
        result["new_key_consistent"] = (samples == new_values[None, :]).all(axis=0)
    return result
