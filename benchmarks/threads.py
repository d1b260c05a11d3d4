"""Per-forward time of SmolLM2 (one 16-row decode-sized forward) with 1 vs 2 torch threads.

Each thread count runs in its own fresh process (torch fixes its pool at first use).
Shows how much thread oversubscription costs when other jobs share the cores.
Writes benchmarks/results/threads.json. Run:
    nice -n 5 .venv/bin/python benchmarks/threads.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

WORKER = """
import json, sys, time, torch
torch.set_num_threads(int(sys.argv[1]))
from nescio.models import load_model
lm = load_model()
x = torch.randint(0, 1000, (16, 1))
times = []
with torch.inference_mode():
    lm.model(input_ids=x)
    for _ in range(10):
        t = time.perf_counter(); lm.model(input_ids=x); times.append(time.perf_counter() - t)
print(json.dumps(sorted(times)))
"""


def main() -> None:
    result = {"load_avg_before": os.getloadavg(), "cpus": os.cpu_count(), "per_forward_s": {}}
    for threads in (1, 2, 1, 2):
        out = subprocess.run([sys.executable, "-c", WORKER, str(threads)], capture_output=True, text=True, check=True)
        times = json.loads(out.stdout.strip().splitlines()[-1])
        result["per_forward_s"].setdefault(str(threads), []).append(
            {"median": round(times[len(times) // 2], 4), "min": round(times[0], 4), "max": round(times[-1], 4)}
        )
    result["load_avg_after"] = os.getloadavg()
    result["note"] = "16 rows x 1 token forward of SmolLM2-135M; other jobs shared the 2 cores"
    path = Path(__file__).parent / "results" / "threads.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
