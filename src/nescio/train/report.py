"""The training summary in ``nescio eval``'s results and report, for models that a nescio trainer made."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Mapping

from nescio.plots import png_img


def training_for(spec: str) -> dict | None:
    """A compact training summary when ``spec`` is a trainer's merged directory (``OUT/merged``)."""
    from nescio.train.output import find_train_summary

    p = Path(str(spec)).expanduser()
    if not p.is_dir():
        return None
    s = find_train_summary(p)
    if s is None:
        return None
    losses = [c for c in s.curve if "loss" in c]
    return {
        "kind": s.kind, "base_model": s.base_model, "base_model_id": s.base_model_id, "model_id": s.model_id,
        "adapter_sha256": s.adapter_sha256, "data": dict(s.data), "hyperparameters": dict(s.hyperparameters),
        "timing": dict(s.timing), "resumed_from_step": s.resumed_from_step, "device": s.device,
        "loss_curve": [{"step": c["step"], "loss": c["loss"]} for c in losses],
    }


def training_html(t: Mapping | None) -> str:
    """HTML for the report from :func:`training_for`'s summary (``EvalResult.training``): data counts,
    settings, time and the loss curve (a note when None: not a tuned model)."""
    if not t:
        return "<p class=note>not a model trained by nescio (no train.json beside it)</p>"
    rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>" for k, v in (
        ("method", t["kind"]), ("base model", t["base_model"]), ("examples", t["data"].get("n_examples")),
        ("targets", ", ".join(f"{k} {v}" for k, v in (t["data"].get("counts") or {}).items())),
        ("epochs / lr / batch", f"{t['hyperparameters'].get('epochs')} / {t['hyperparameters'].get('learning_rate')} / "
                                f"{t['hyperparameters'].get('batch_size')}"),
        ("LoRA r / alpha", f"{t['hyperparameters'].get('lora_r')} / {t['hyperparameters'].get('lora_alpha')}"),
        ("training time", f"{t['timing'].get('train_s')} s ({t['timing'].get('examples_per_s')} examples/s, {t['device']})"),
        ("adapter sha256", t["adapter_sha256"][:16] + "…"),
    ))
    out = f"<table>{rows}</table>"
    if t["loss_curve"]:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(4.5, 2.6))
        ax.plot([c["step"] for c in t["loss_curve"]], [c["loss"] for c in t["loss_curve"]], "o-", markersize=3)
        ax.set_xlabel("step")
        ax.set_ylabel("loss (answer tokens)")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        out += png_img(fig)
    return out
