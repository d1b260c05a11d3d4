"""Refit detection.py's probes with this code on the train generations an earlier run cached, and
compare them with the probes that run fitted and saved (same parameters, bit-identical arrays, same state).

    python benchmarks/compare_probes.py CACHE_DIR OUT.json    # CACHE_DIR: detection.py --cache-dir of the earlier run

Used for issue 9: the earlier run was the pre-change detection.py (its own probe construction)
with ``--no-cross --cache-dir /tmp/detcache``; this script builds the probes from the registry.
"""
import sys, json
from pathlib import Path
import numpy as np
sys.path.insert(0, "benchmarks")
import detection as det
from nescio.data import builtin_questions
from nescio.models import load_model
from nescio.signals import capture_needs, list_signals, SIGNALS, load_probe
from nescio.signals.sampling import semantic_entropies
from nescio.types import GenerationConfig

cache = Path(sys.argv[1]) / "smollm2-135m-instruct"
lm = load_model("smollm2-135m-instruct")
probe_names = [n for n in list_signals("probe") if SIGNALS[n].fitted and n != det.UNANSWERABLE_PROBE]
capture = capture_needs(probe_names)["capture"]
cfg_train = GenerationConfig(max_new_tokens=16, capture=capture, seed=0)
cfg_s = GenerationConfig(max_new_tokens=16, n_samples=5, seed=0)
train_q = det._subset(builtin_questions("train"), 0)
train, _ = det.cached_generate(lm, train_q, cfg_train, cache / "train", label="train")
se_q = det._subset(train_q, 150)
sampled, _ = det.cached_generate(lm, se_q, cfg_s, cache / "train_samples", label="samples")
se_by_id = dict(zip((g.question.id for g in sampled), semantic_entropies(sampled)))
se_train = np.array([se_by_id.get(g.question.id, np.nan) for g in train])
y_train, out_train = det.labels_of(train)
layers = list(range(lm.n_layers))[::3]
probes, unans = det.fit_probes(train, out_train, se_train, layers)
report = {}
for name, p in {**probes, "unanswerable_last_prompt": unans}.items():
    old = load_probe(cache / "probes" / name)
    a_new, s_new = p._get_state(); a_old, s_old = old._get_state()
    same_arrays = all(np.array_equal(np.asarray(a_new[k]), np.asarray(a_old[k])) for k in a_old) and set(a_new) == set(a_old)
    same_state = json.dumps(s_new, sort_keys=True, default=str) == json.dumps(s_old, sort_keys=True, default=str)
    report[name] = {"class": type(p).__name__, "same_params": p.get_params() == old.get_params(),
                    "bit_identical_arrays": same_arrays, "same_state": same_state}
    print(name, report[name])
command = (f"python benchmarks/compare_probes.py {sys.argv[1]} {sys.argv[2]} (cache written by the pre-change "
           f"benchmarks/detection.py --no-cross --cache-dir {sys.argv[1]})")
Path(sys.argv[2]).write_text(json.dumps({"command": command, "probes": report}, indent=1))
