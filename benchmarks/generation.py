"""Generation throughput and load times on the embedded SmolLM2 (or --model).

Measures, on 64 simple questions in batches of 16 with up to 24 new tokens:

- tokens/s of ``nescio.generate`` with capture on (resid at every layer over the answer
  tokens + mlp_act of 3 layers over the answer tokens), and with capture off;
- tokens/s of plain ``model.generate`` (greedy, KV cache, same batches, same stop tokens);
- cold load (GGUF dequantise + cache write, in a fresh temporary cache) and cached load
  (in-process, imports excluded; and a fresh Python process, imports included).

Writes benchmarks/results/generation.json. Run:
    nice -n 10 .venv/bin/python benchmarks/generation.py
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import harness

COUNTRIES = [
    "France", "Germany", "Italy", "Spain", "Portugal", "Japan", "China", "India", "Brazil", "Canada",
    "Australia", "Egypt", "Kenya", "Mexico", "Argentina", "Russia",
]
TEMPLATES = [
    "What is the capital of {}?",
    "What is the official language of {}?",
    "Which continent is {} in?",
    "What is the currency of {}?",
]


def questions(n: int):
    from nescio.types import Question

    texts = [t.format(c) for t in TEMPLATES for c in COUNTRIES]
    return [Question(f"bench-{i}", texts[i % len(texts)], entity=None) for i in range(n)]


def time_nescio(lm, batches, config):
    from nescio.models import generate

    t0 = time.perf_counter()
    n_tokens = 0
    for batch in batches:
        for g in generate(lm, batch, config, progress=False):
            n_tokens += len(g.token_ids) + (g.stop_reason != "max_tokens")  # count the stop token too
    return n_tokens, time.perf_counter() - t0


def time_hf(lm, batches, max_new_tokens):
    import torch

    from nescio.models.decode import token_masks

    stop_mask, newline_mask = token_masks(lm)
    if lm.prompt_format == "fewshot":  # nescio stops few-shot answers at a newline: so does this
        stop_mask = stop_mask | newline_mask
    stop_ids = stop_mask.nonzero()[:, 0].tolist()
    stop_set = set(stop_ids)
    pad = lm.tokenizer.pad_token_id
    t0 = time.perf_counter()
    n_tokens = 0
    with torch.inference_mode():
        for batch in batches:
            enc = lm.tokenizer(
                [lm.format_prompt(q.text) for q in batch],
                return_tensors="pt",
                padding=True,
                padding_side="left",
                add_special_tokens=lm.prompt_format != "chat",
            )
            out = lm.model.generate(
                **enc, max_new_tokens=max_new_tokens, do_sample=False, eos_token_id=stop_ids, pad_token_id=pad
            )
            new = out[:, enc["input_ids"].shape[1] :]
            for row in new.tolist():
                n = 0
                for t in row:
                    n += 1
                    if t in stop_set:
                        break
                n_tokens += n
    return n_tokens, time.perf_counter() - t0


def main() -> None:
    ap = harness.parser(__doc__)
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--questions", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-new-tokens", type=int, default=24)
    ap.add_argument("--threads", type=int, default=1, help="torch threads; 1 is far faster when other jobs share the cores")
    ap.add_argument("--repeats", type=int, default=1, help="alternate the timed runs this many times; best run kept")
    ap.add_argument("--skip-cold", action="store_true", help="skip the cold (dequantise) load measurement")
    ap.add_argument("--out", default=str(harness.RESULTS_DIR / "generation.json"))
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from nescio.models import load_model
    from nescio.types import CaptureSpec, GenerationConfig

    result: dict = {"model": args.model, "threads": args.threads, "machine": platform.machine(), "cpus": os.cpu_count()}
    result["load_avg_before"] = os.getloadavg()

    if not args.skip_cold:
        with tempfile.TemporaryDirectory() as tmp:
            env_before = os.environ.get("NESCIO_CACHE_DIR")
            os.environ["NESCIO_CACHE_DIR"] = tmp
            t0 = time.perf_counter()
            load_model(args.model)
            result["cold_load_s"] = round(time.perf_counter() - t0, 2)
            if env_before is None:
                del os.environ["NESCIO_CACHE_DIR"]
            else:
                os.environ["NESCIO_CACHE_DIR"] = env_before
    load_model(args.model)  # make sure the real cache is warm
    t0 = time.perf_counter()
    lm = load_model(args.model)
    result["cached_load_s"] = round(time.perf_counter() - t0, 2)
    code = f"from nescio.models import load_model; load_model({args.model!r})"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    result["cached_load_fresh_process_s"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch, transformers; from transformers import AutoModelForCausalLM"], check=True)
    result["import_torch_transformers_s"] = round(time.perf_counter() - t0, 2)

    qs = questions(args.questions)
    lengths = {q.id: len(lm.tokenizer(lm.format_prompt(q.text), add_special_tokens=False)["input_ids"]) for q in qs}
    qs.sort(key=lambda q: lengths[q.id])
    batches = [qs[i : i + args.batch_size] for i in range(0, len(qs), args.batch_size)]
    L = lm.n_layers
    mlp_layers = (L // 6, L // 2, (5 * L) // 6)
    capture = (CaptureSpec("resid", "all", ("answer",)), CaptureSpec("mlp_act", mlp_layers, ("answer",)))
    cfg_capture = GenerationConfig(max_new_tokens=args.max_new_tokens, batch_size=args.batch_size, capture=capture)
    cfg_plain = GenerationConfig(max_new_tokens=args.max_new_tokens, batch_size=args.batch_size)
    time_nescio(lm, batches[:1], cfg_plain)  # warm-up (token masks, allocator)

    runs = {"hf_generate": [], "nescio_capture": [], "nescio_no_capture": []}
    for _ in range(args.repeats):
        runs["hf_generate"].append(time_hf(lm, batches, args.max_new_tokens))
        runs["nescio_capture"].append(time_nescio(lm, batches, cfg_capture))
        runs["nescio_no_capture"].append(time_nescio(lm, batches, cfg_plain))
    for name, rs in runs.items():
        tokens, seconds = min(rs, key=lambda r: r[1] / max(r[0], 1))
        result[name] = {"tokens": tokens, "seconds": round(seconds, 2), "tokens_per_s": round(tokens / seconds, 2)}
    result["ratio_capture_vs_hf"] = round(result["nescio_capture"]["tokens_per_s"] / result["hf_generate"]["tokens_per_s"], 3)
    result["ratio_no_capture_vs_hf"] = round(
        result["nescio_no_capture"]["tokens_per_s"] / result["hf_generate"]["tokens_per_s"], 3
    )
    result["settings"] = {
        "questions": args.questions,
        "batch_size": args.batch_size,
        "max_new_tokens": args.max_new_tokens,
        "capture": "resid all layers @ answer + mlp_act layers " + ",".join(map(str, mlp_layers)) + " @ answer",
        "repeats": args.repeats,
    }
    result["load_avg_after"] = os.getloadavg()
    result["note"] = "2 shared CPU cores; other jobs ran at the same time, so absolute timings are inflated"
    harness.write_results(args.out, result, indent=2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
