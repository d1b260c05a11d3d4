"""Agreement of ``nescio.grading.grade`` with the hand-labelled set tests/data/grader_labels.jsonl.

Each row is a real answer of an embedded model (SmolLM2-135M-Instruct or Gemma 3 270M)
to a question from the built-in benchmark or a public set, labelled by reading it (see
tests/data/GRADER_LABELS.md). Per class = recall of the grader on rows whose hand label
is that class.

    .venv/bin/python benchmarks/grader_agreement.py

Writes benchmarks/results/grader_agreement.json.
"""

from __future__ import annotations

import collections
import json

import harness
from harness import ROOT

LABELS = ROOT / "tests" / "data" / "grader_labels.jsonl"


def main() -> None:
    from nescio.grading import grade
    from nescio.types import Question

    rows = [json.loads(line) for line in LABELS.read_text().splitlines() if line.strip()]
    confusion: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    by_source: dict[str, list[bool]] = collections.defaultdict(list)
    by_batch: dict[str, list[bool]] = collections.defaultdict(list)
    heldout_class: dict[str, list[bool]] = collections.defaultdict(list)
    misses = []
    for row in rows:
        q = Question(row["id"], row["question"], tuple(row["answers"]), row["answerable"], row["category"],
                     row["source"],
                     row.get("entity"))
        g = grade(q, row["answer"])
        confusion[row["label"]][g.outcome.value] += 1
        ok = g.outcome.value == row["label"]
        by_source[row["source"]].append(ok)
        batch = "heldout" if row.get("heldout") else "development"
        by_batch[batch].append(ok)
        if row.get("heldout"):
            heldout_class[row["label"]].append(ok)
        if not ok:
            misses.append({"id": row["id"], "question": row["question"], "answer": row["answer"],
                           "label": row["label"], "grader": g.outcome.value, "evidence": g.evidence})
    n = len(rows)
    agree = sum(confusion[c][c] for c in confusion)
    result = {
        "labels": str(LABELS.relative_to(ROOT)),
        "n": n,
        "overall_agreement": round(agree / n, 4),
        "per_class": {c: {"n": sum(confusion[c].values()),
                          "agreement": round(confusion[c][c] / sum(confusion[c].values()), 4)}
                      for c in sorted(confusion)},
        "per_source": {s: {"n": len(v), "agreement": round(sum(v) / len(v), 4)} for s, v in sorted(by_source.items())},
        "per_batch": {b: {"n": len(v), "agreement": round(sum(v) / len(v), 4)} for b, v in sorted(by_batch.items())},
        "heldout_per_class": {c: {"n": len(v), "agreement": round(sum(v) / len(v), 4)}
                              for c, v in sorted(heldout_class.items())},
        "batches_note": "development rows were labelled first and the grader's rules were revised after "
                        "comparing with them (in-sample); heldout rows were labelled after the rules were frozen",
        "per_model": dict(collections.Counter(r["model"] for r in rows)),
        "confusion_label_to_grader": {c: dict(confusion[c]) for c in sorted(confusion)},
        "disagreements": misses,
        "command": ".venv/bin/python benchmarks/grader_agreement.py",
    }
    out = harness.write_results(harness.RESULTS_DIR / "grader_agreement.json", result, indent=2)
    print(f"overall agreement {result['overall_agreement']:.3f} on {n} labelled answers")
    for c, v in result["per_class"].items():
        print(f"  {c:13s} n={v['n']:4d} agreement={v['agreement']:.3f}")
    for b, v in result["per_batch"].items():
        print(f"  batch {b:11s} n={v['n']:4d} agreement={v['agreement']:.3f}")
    for c, v in result["heldout_per_class"].items():
        print(f"  heldout {c:13s} n={v['n']:4d} agreement={v['agreement']:.3f}")
    for s, v in result["per_source"].items():
        print(f"  source {s:10s} n={v['n']:4d} agreement={v['agreement']:.3f}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
