"""Intervening on FFN neurons during generation: scale chosen neurons' activations by s.

:class:`ScaleNeurons` is a context manager over the same site table as capture
(:func:`nescio.models.sites.site_module`, site ``mlp_act``: the input z of each layer's
``down_proj``). It registers one forward *pre*-hook per affected ``down_proj`` that
multiplies z[..., j] by ``scale`` for the chosen neurons j of that layer (other neurons
are multiplied by exactly 1), and always removes the hooks on exit, also when
generation raises (:class:`~nescio.models.hooks.HookSet`). Capture hooks on the same module see the scaled z.

H-Neurons (Gao et al. 2025) are the usual choice: ``HNeuronProbe.h_neurons_``, read from a saved probe by
:func:`nescio.signals.registry.h_neuron_scaling` (signals sit above models, so the loader lives there).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from nescio.models.hooks import HookSet
from nescio.models.sites import site_module
from nescio.types import NescioError, NeuronScaling


class ScaleNeurons(HookSet):
    """``with ScaleNeurons(lm, scaling):`` — scaled neurons inside, the untouched model after.

    ``scaling``: a :class:`~nescio.types.NeuronScaling` or ``None`` (then nothing happens).
    """

    def __init__(self, lm: Any, scaling: NeuronScaling | None):
        self.lm = lm
        self.scaling = scaling
        self._handles: list[Any] = []

    def _register(self) -> None:
        if self.scaling is None:
            return
        import torch

        by_layer: dict[int, set[int]] = defaultdict(set)
        for layer, neuron in self.scaling.neurons:
            by_layer[layer].add(neuron)
        for layer, neurons in sorted(by_layer.items()):
            module = site_module(self.lm.model, self.lm.architecture, "mlp_act", layer)
            width = int(module.weight.shape[1])
            if max(neurons) >= width:
                raise NescioError(
                    f"neuron {max(neurons)} of layer {layer} is out of range; this model's FFN has neurons 0..{width - 1}"
                )
            factor = torch.ones(width, dtype=module.weight.dtype, device=module.weight.device)
            factor[sorted(neurons)] = self.scaling.scale
            self._handles.append(module.register_forward_pre_hook(_make_hook(factor)))


def _make_hook(factor: Any):
    def hook(module: Any, args: tuple) -> tuple:
        z = args[0]
        return (z * factor.to(z.dtype),) + tuple(args[1:])

    return hook
