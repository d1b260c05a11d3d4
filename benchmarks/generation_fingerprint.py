"""Every output of SmolLM2 on 30 built-in questions, exactly, for before/after comparisons of the decoder.

Greedy answer (token ids, log-probs and entropies as float.hex, top-k ids, stop reason),
2 sampled answers, and the sha256 of each captured activation (resid at layers 5 and 20:
last_prompt, answer_mean; mlp_act at layer 10: answer). Run on two commits and compare:

    python benchmarks/generation_fingerprint.py /tmp/before.json   # on the old commit
    python benchmarks/generation_fingerprint.py /tmp/after.json    # on the new one
    cmp /tmp/before.json /tmp/after.json

(The decode-loop split was checked this way: identical files.)
"""

import hashlib
import json
import sys

import numpy as np

from nescio.data import builtin_questions
from nescio.models import generate, load_model
from nescio.types import CaptureSpec, GenerationConfig


def main(path: str) -> None:
    qs = builtin_questions("test")[::10][:30]
    lm = load_model()
    cfg = GenerationConfig(max_new_tokens=24, batch_size=16, n_samples=2, top_p=0.95, capture=(
        CaptureSpec("resid", (5, 20), ("last_prompt", "answer_mean")), CaptureSpec("mlp_act", (10,), ("answer",))))
    out = []
    for g in generate(lm, qs, cfg, progress=False):
        out.append({
            "id": g.question.id, "text": g.text, "ids": list(g.token_ids),
            "lp": [float(x).hex() for x in g.token_logprobs], "ent": [float(x).hex() for x in g.token_entropies],
            "topk": [list(t) for t in g.top_k_ids], "stop": g.stop_reason,
            "samples": [[s.text, list(s.token_ids), [float(x).hex() for x in s.token_logprobs]] for s in g.samples],
            "acts": {k: hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest() for k, v in sorted(g.activations.items())},
        })
    with open(path, "w") as f:
        json.dump(out, f, indent=0)
    print(f"{len(out)} generations -> {path}")


if __name__ == "__main__":
    main(sys.argv[1])
