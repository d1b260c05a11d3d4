"""placeholder: generation step (the full benchmark follows)."""
from __future__ import annotations

import random
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def main():
    from nescio.data import load_questions
    from nescio.evaluate.run import generate_stored
    from nescio.models import load_model
    from nescio.policy.guard import Guard

    qs = load_questions(f"triviaqa:{SHARED / 'triviaqa' / 'triviaqa_1k.jsonl'}")
    keep = sorted(random.Random(0).sample(range(len(qs)), 300))
    qs = [qs[i] for i in keep]
    lm = load_model("smollm2-135m-instruct")
    cfg = Guard().generation_config(model=lm)
    generate_stored(lm, qs, cfg, ROOT / "runs" / "bench-calibrate" / "generations" / "smollm2-135m-instruct")


if __name__ == "__main__":
    main()
