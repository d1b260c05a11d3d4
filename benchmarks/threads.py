"""nescio's default thread count vs 1 and 2 torch threads, with another process busy on a core.

Each setting runs in a fresh process (torch fixes its pool at first use) and loads SmolLM2
through ``load_model``:

- ``default``: no OMP_NUM_THREADS, no --threads: nescio picks (what a user gets);
- ``1`` / ``2``: ``OMP_NUM_THREADS=1`` / ``2`` (nescio respects it).

Per setting: the median time of a 16-row, one-token decode forward (up to 8 timed, at
most ~30 s of them), and questions/s of ``nescio.generate`` on 8 built-in questions (one
batch, up to 8 new tokens). The script
starts its own contender (one busy Python process for the whole run) on top of whatever
else shares the machine, and records the load average before each worker and the
thread count nescio chose. Settings alternate ``--rounds`` times.

Writes benchmarks/results/threads.json. Run:
    nice -n 5 .venv/bin/python benchmarks/threads.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import harness

WORKER = """
import json, os, sys, time
t0 = time.perf_counter()
import torch
from nescio.data import builtin_questions
from nescio.models import generate, load_model
from nescio.types import GenerationConfig
lm = load_model()
choice = lm.extra["threads"]
x = torch.randint(0, 1000, (16, 1))
times = []
with torch.inference_mode():
    lm.model(input_ids=x)
    t_start = time.perf_counter()
    while len(times) < 8 and time.perf_counter() - t_start < 30:
        t = time.perf_counter(); lm.model(input_ids=x); times.append(time.perf_counter() - t)
qs = builtin_questions("test")[::38][:8]
t = time.perf_counter()
generate(lm, qs, GenerationConfig(max_new_tokens=8, batch_size=8), progress=False)
gen_s = time.perf_counter() - t
print(json.dumps({"threads": torch.get_num_threads(), "source": choice.source, "load_avg_seen": choice.load_avg,
                  "forward_s": sorted(times), "generate_s": gen_s, "questions": len(qs)}))
"""

CONTENDER = "import time\nwhile True:\n    sum(i * i for i in range(10000))\n"


def run_worker(setting: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    if setting != "default":
        env["OMP_NUM_THREADS"] = setting
    load_before = os.getloadavg()
    try:
        out = subprocess.run([sys.executable, "-c", WORKER], capture_output=True, text=True, env=env, timeout=1200)
    except subprocess.TimeoutExpired:
        return {"setting": setting, "load_avg_1min_before": round(load_before[0], 2), "timed_out_s": 1200}
    if out.returncode != 0:
        raise SystemExit(f"worker {setting} failed:\n{out.stderr[-2000:]}")
    r = json.loads(out.stdout.strip().splitlines()[-1])
    times = r["forward_s"]
    return {
        "setting": setting,
        "threads_used": r["threads"],
        "chosen_by": r["source"],
        "load_avg_1min_before": round(load_before[0], 2),
        "forward_median_s": round(times[len(times) // 2], 4),
        "forward_min_s": round(times[0], 4),
        "forwards_timed": len(times),
        "generate_questions_per_s": round(r["questions"] / r["generate_s"], 3),
    }


def main() -> None:
    ap = harness.parser(__doc__)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--warmup-s", type=float, default=20.0, help="let the contender raise the load average first")
    ap.add_argument("--out", default=str(harness.RESULTS_DIR / "threads.json"))
    args = ap.parse_args()

    result: dict = {"cpus": os.cpu_count(), "load_avg_before_contender": [round(x, 2) for x in os.getloadavg()]}
    contender = subprocess.Popen([sys.executable, "-c", CONTENDER])
    try:
        time.sleep(args.warmup_s)
        runs = []
        for round_ in range(args.rounds):
            for setting in ("default", "1", "2"):
                runs.append(run_worker(setting))
                print(json.dumps(runs[-1]), flush=True)
                partial = round_ < args.rounds - 1 or setting != "2"
                write(args.out, result, runs, partial)  # a run cut short still leaves its measurements
    finally:
        contender.kill()
        contender.wait()


def write(out: str, result: dict, runs: list[dict], partial: bool) -> None:
    result = dict(result, runs=runs, partial=partial)
    summary = {}
    for setting in ("default", "1", "2"):
        rs = [r for r in runs if r["setting"] == setting and "timed_out_s" not in r]
        fw = sorted(r["forward_median_s"] for r in rs)
        qps = sorted(r["generate_questions_per_s"] for r in rs)
        summary[setting] = {
            "threads_used": sorted({r["threads_used"] for r in rs}),
            "forward_median_s_per_round": fw,
            "generate_questions_per_s_per_round": qps,
        }
    result["summary"] = summary
    result["load_avg_now"] = [round(x, 2) for x in os.getloadavg()]
    result["contention"] = (
        "one busy Python process started by this script for the whole run, plus the other sessions sharing "
        "this 2-core machine (see the load averages, which include the contender and the worker itself)"
    )
    result["note"] = (
        "forward: 16 rows x 1 token of SmolLM2-135M; generate: 8 built-in test questions, one batch, "
        "up to 8 new tokens, no capture"
    )
    harness.write_results(out, result, indent=2)


if __name__ == "__main__":
    main()
