"""Activation capture by hooks, in the same forward passes that generate the answer.

:class:`ActivationCapture` is a context manager: it registers one forward hook per
decoder layer that needs ``resid``, one per ``down_proj`` that needs ``mlp_act`` or
``cett`` and one attention tap per layer that needs ``attn_logdiag``
(:func:`nescio.models.attention.tap_attention`), and always removes them on exit, also when
generation raises (:class:`~nescio.models.hooks.HookSet`). Hooks slice
only the positions a request needs before doing any work (the attention tap scores only
the query rows those positions read: the last prompt token unless a prompt-pooled
position asks for all, and the greedy rows of a decode step):

- prefill phase: ``last_prompt``, ``prompt_mean`` (padding excluded) and
  ``entity_last`` are pooled at once, ``[batch, dim]``;
- decode phase: the greedy rows' current token is appended per step (for ``answer``
  and ``answer_mean``).

The decoder drives it through the :class:`nescio.models.decode.DecodeCapture` protocol:
``prefill(prompt_mask, entity_index)`` before the prefill forward, ``step(n_greedy,
greedy_prompts)`` before each decode forward, ``close()`` when decoding ends; then
``results(...)`` hands out the arrays per question.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from nescio.models.hooks import HookSet
from nescio.models.sites import ATTENTION_SITES, site_module
from nescio.types import CaptureSpec, activation_key

if TYPE_CHECKING:
    import torch

    from nescio.models.load import LoadedModel

PREFILL_POSITIONS = ("last_prompt", "prompt_mean", "entity_last")
ANSWER_POSITIONS = ("answer", "answer_mean")


def plan_captures(specs: tuple[CaptureSpec, ...], n_layers: int) -> dict[tuple[str, int], set[str]]:
    """(site, layer) -> positions, merged over all specs; validates layer indices
    ("middle" is layer ``n_layers // 2``)."""
    from nescio.types import NescioError

    from nescio.types import SITES

    plan: dict[tuple[str, int], set[str]] = defaultdict(set)
    for spec in specs:
        if spec.site not in SITES:  # a spec built past CaptureSpec's own check
            raise NescioError(f"unknown capture site {spec.site!r}; accepted: {', '.join(SITES)}")
        layers = (range(n_layers) if spec.layers == "all" else (n_layers // 2,) if spec.layers == "middle"
                  else spec.layers)
        for layer in layers:
            layer = layer + n_layers if layer < 0 else layer
            if not 0 <= layer < n_layers:
                raise NescioError(f"capture layer {layer} out of range; this model has layers 0..{n_layers - 1}")
            plan[(spec.site, layer)].update(spec.positions)
    return dict(plan)


class ActivationCapture(HookSet):
    """Hooks that record the planned sites; use as ``with ActivationCapture(...) as cap:``."""

    def __init__(self, lm: LoadedModel, specs: tuple[CaptureSpec, ...], activation_dtype: str = "float32"):
        self.lm = lm
        # answer-token rows (one per step, or [B, T, dim] when teacher forcing) leave the device in
        # this dtype: float16 halves what an all-layer answer capture holds on the host
        self._answer_dtype = activation_dtype
        self.plan = plan_captures(tuple(specs), lm.n_layers)
        self.positions: frozenset[str] = frozenset().union(*self.plan.values())
        self._handles: list[Any] = []
        self._phase = "off"
        self._prompt_mask = None  # [B, S] float, 1 for prompt tokens
        self._entity_index = None  # [B] long, index into the padded prompt
        self._n_greedy = 0  # greedy rows are the first n_greedy rows of the decode batch
        self._pooled: dict[str, Any] = {}  # key -> [B, dim] values read at prefill
        self._steps: dict[str, list] = defaultdict(list)  # "site/layer" -> [n_greedy, dim] per step
        self._step_questions: list = []  # [n_greedy] prompt index per step
        self._last_index = None  # teacher forcing: [B] index of each row's last prompt token
        self._answer_index = None  # teacher forcing: [B, T] index of each row's answer tokens (padded)
        self._teacher: dict[str, Any] = {}  # "site/layer" -> [B, T, dim] answer-token values (teacher forcing)

    # ------------------------------------------------------------ hooks
    def _register(self) -> None:
        from nescio.models.attention import tap_attention

        by_module: dict[int, tuple[Any, list]] = {}
        for (site, layer), positions in self.plan.items():
            module = site_module(self.lm.model, self.lm.architecture, site, layer)
            if site in ATTENTION_SITES:
                self._handles.append(tap_attention(module, self._attention_tap(site, layer, positions)))
                continue
            by_module.setdefault(id(module), (module, []))[1].append((site, layer, positions))
        for module, requests in by_module.values():
            self._handles.append(module.register_forward_hook(self._make_hook(module, requests)))

    def remove(self) -> None:
        super().remove()
        self._phase = "off"

    def _make_hook(self, module: Any, requests: list):
        needs_cett = any(site == "cett" for site, _, _ in requests)
        col_norm = module.weight.detach().float().norm(dim=0) if needs_cett else None  # ||W_down[:, j]||_2

        def hook(mod: Any, args: tuple, output: Any) -> None:
            if self._phase == "off":
                return
            out = output[0] if isinstance(output, tuple) else output
            for site, layer, positions in requests:
                if site == "resid":
                    value = lambda sel, out=out: sel(out)  # noqa: E731
                elif site == "mlp_act":
                    value = lambda sel, z=args[0]: sel(z)  # noqa: E731
                else:  # cett: |z_j,t| * ||W_down[:, j]|| / ||h_t||, per token, then pooled
                    def value(sel, z=args[0], h=out):
                        hz = sel(h).float().norm(dim=-1, keepdim=True).clamp_min(1e-12)
                        return sel(z).float().abs() * col_norm / hz
                self._record(site, layer, positions, value)

        return hook

    def _attention_tap(self, site: str, layer: int, positions: set[str]):
        """The callback of one layer's attention tap: ``read(rows, last)`` gives ``[rows, q, H]`` log a_tt."""
        every_prompt_token = bool(positions.intersection(("prompt_mean", "entity_last")))

        def tap(read) -> None:
            if self._phase == "teacher":
                x = read(None, False)  # [B, S, H]: every position of prompt + answer
                self._record(site, layer, positions, lambda sel: sel(x))
            elif self._phase == "prefill":
                x = read(None, not every_prompt_token)  # [B, S, H], or [B, 1, H]: the last prompt token
                self._record(site, layer, positions, lambda sel: sel(x))
            elif self._phase == "decode" and self._n_greedy and positions.intersection(ANSWER_POSITIONS):
                x = read(self._n_greedy, True)  # [n_greedy, 1, H]
                self._record(site, layer, positions, lambda sel: sel(x))

        return tap

    def _record(self, site: str, layer: int, positions: set[str], value) -> None:
        import torch

        # float16 only where the caller stores float16 and the site is not an attention log-weight
        answer_dtype = torch.float16 if self._answer_dtype == "float16" and site not in ATTENTION_SITES else torch.float32
        if self._phase in ("prefill", "teacher"):
            teacher = self._phase == "teacher"
            rows = torch.arange(self._prompt_mask.shape[0], device=self._prompt_mask.device)
            last = (lambda x: x[rows, self._last_index, :]) if teacher else (lambda x: x[:, -1, :])
            for pos in positions.intersection(PREFILL_POSITIONS):
                if pos == "last_prompt":
                    v = value(last)
                elif pos == "entity_last":
                    v = value(lambda x: x[rows, self._entity_index, :])
                else:  # prompt_mean
                    mask = self._prompt_mask
                    v = (value(lambda x: x) * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
                self._pooled[activation_key(site, layer, pos)] = v.detach().float().cpu()
            if "answer" in positions or "answer_mean" in positions:
                # answer_mean falls back to the last prompt token when the answer is empty
                self._pooled[f"{site}/{layer}/_fallback"] = value(last).detach().float().cpu()
                if teacher:
                    self._teacher[f"{site}/{layer}"] = value(
                        lambda x: x[rows[:, None], self._answer_index, :]).detach().to(answer_dtype).cpu()
        elif self._phase == "decode" and self._n_greedy and ("answer" in positions or "answer_mean" in positions):
            n = self._n_greedy
            self._steps[f"{site}/{layer}"].append(value(lambda x: x[:n, -1, :]).detach().to(answer_dtype).cpu())

    # ------------------------------------------------------------ decoder interface (DecodeCapture)
    def prefill(self, prompt_mask: torch.Tensor, entity_index: torch.Tensor) -> None:
        """The next forward is the prefill: ``prompt_mask`` [B, S], ``entity_index`` [B] into the padded batch."""
        self._phase = "prefill"
        self._prompt_mask = prompt_mask.float()
        self._entity_index = entity_index

    def teacher(self, prompt_mask: torch.Tensor, entity_index: torch.Tensor, last_index: torch.Tensor,
                answer_index: torch.Tensor) -> None:
        """The next forward is teacher forcing over prompt + answer (one row per question):
        ``prompt_mask`` [B, S] (1 = prompt token), ``entity_index`` / ``last_index`` [B] (the
        entity's and the last prompt token's index), ``answer_index`` [B, T] (the answer tokens'
        indices, padded with any valid index). The answer rows read there are the ones a decode
        step would have read when that token was fed back."""
        self._phase = "teacher"
        self._prompt_mask = prompt_mask.float()
        self._entity_index = entity_index
        self._last_index = last_index
        self._answer_index = answer_index

    def step(self, n_greedy: int, greedy_prompts: torch.Tensor) -> None:
        """The next forward is a decode step; its first ``n_greedy`` rows are greedy rows of ``greedy_prompts``."""
        self._phase = "decode"
        self._n_greedy = n_greedy
        if n_greedy:
            self._step_questions.append(greedy_prompts[:n_greedy].cpu())

    def close(self) -> None:
        """Decoding ended; the hooks stay registered until ``remove`` / ``__exit__`` but record nothing."""
        self._phase = "off"

    def results(self, answer_rows: list[int], dtype: str) -> list[dict[str, Any]]:
        """Per question: activation key -> numpy array; ``answer_rows[i]`` answer tokens kept.
        ``dtype`` applies to every site but ``attn_logdiag`` (float32: a few numbers per token)."""
        import torch

        n_q = len(answer_rows)
        out: list[dict[str, Any]] = [{} for _ in range(n_q)]
        as_dtype = {"float16": torch.float16, "float32": torch.float32}[dtype]

        def site_dtype(site: str):
            return torch.float32 if site in ATTENTION_SITES else as_dtype

        for key, v in self._pooled.items():
            if not key.endswith("/_fallback"):
                for i in range(n_q):
                    out[i][key] = v[i].to(site_dtype(key.split("/", 1)[0])).numpy()
        qidx = torch.cat(self._step_questions) if self._step_questions else torch.zeros(0, dtype=torch.long)
        for (site, layer), positions in self.plan.items():
            if not positions.intersection(ANSWER_POSITIONS):
                continue
            torch_dtype = site_dtype(site)
            chunks = self._steps.get(f"{site}/{layer}", [])
            values = torch.cat(chunks) if chunks else None
            forced = self._teacher.get(f"{site}/{layer}")
            fallback = self._pooled[f"{site}/{layer}/_fallback"]
            for i in range(n_q):
                if forced is not None:
                    rows = forced[i][: answer_rows[i]]
                else:
                    rows = values[qidx == i][: answer_rows[i]] if values is not None else fallback[:0]
                if "answer" in positions:
                    out[i][activation_key(site, layer, "answer")] = rows.to(torch_dtype).numpy()
                if "answer_mean" in positions:
                    mean = rows.float().mean(0) if len(rows) else fallback[i]  # summed in float32
                    out[i][activation_key(site, layer, "answer_mean")] = mean.to(torch_dtype).numpy()
        return out
