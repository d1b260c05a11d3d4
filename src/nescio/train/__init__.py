"""Training the model itself to say "I don't know": data from its own outcomes, SFT, shared output layout.

- :mod:`nescio.train.output`: the output directory every trainer writes (adapter, merged
  model, ``train.json``), overwrite protection and checkpoint discovery for resume;
- :mod:`nescio.train.lora`: LoRA config, adapter hash, merging, the tuned model's identity;
- :mod:`nescio.train.data`: the R-Tuning-style dataset built from graded greedy + sampled answers;
- :mod:`nescio.train.sft`: ``nescio train sft`` (trl SFTTrainer, loss on the answer tokens).

Heavy libraries (torch, transformers, peft, trl) are imported inside the functions.
"""

from __future__ import annotations

from nescio.lazy import lazy_getattr


_LAZY = {
    "TrainOutput": "nescio.train.output",
    "TrainSummary": "nescio.train.output",
    "find_train_summary": "nescio.train.output",
    "lora_config": "nescio.train.lora",
    "merge_adapter": "nescio.train.lora",
    "tuned_model_id": "nescio.train.lora",
}

__all__ = list(_LAZY)


__getattr__ = lazy_getattr(__name__, _LAZY)
