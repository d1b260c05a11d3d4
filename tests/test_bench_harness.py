"""benchmarks/harness.py: what the benchmark scripts share (paths, machine, command, results files)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture()
def harness(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))  # as running a script does
    import harness as mod

    return mod


def test_machine_keeps_the_keys_results_files_have_and_the_scripts_order(harness):
    m = harness.machine(torch_threads=1, note="shared")
    assert list(m) == ["cpus", "platform", "torch_threads", "note"]
    assert isinstance(m["cpus"], int) and m["platform"] and m["note"] == "shared"


def test_command_names_the_script_and_its_arguments(harness, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["benchmarks/guard.py", "--part", "cost"])
    assert harness.command(__file__.replace("test_bench_harness", "guard")) == "python benchmarks/guard.py --part cost"
    assert harness.command("rag.py", "OMP_NUM_THREADS=1 python", argv=[]) == "OMP_NUM_THREADS=1 python benchmarks/rag.py"


def test_results_round_trip_with_numpy_scalars_and_a_final_newline(harness, tmp_path):
    path = tmp_path / "sub" / "r.json"
    assert harness.read_results(path) == {}
    harness.write_results(path, {"auroc": np.float64(0.75), "name": "Zürich"}, indent=2, ensure_ascii=False)
    text = path.read_text(encoding="utf-8")
    assert text.endswith("}\n") and "Zürich" in text and '\n  "auroc": 0.75' in text
    assert harness.read_results(path) == {"auroc": 0.75, "name": "Zürich"}
    harness.write_results(path, {"name": "Zürich"})
    assert "Z\\u00fcrich" in path.read_text() and json.loads(path.read_text()) == {"name": "Zürich"}


def test_shared_data_dir_follows_the_environment(harness, monkeypatch, tmp_path):
    monkeypatch.setenv("NESCIO_SHARED_DATA", str(tmp_path))
    assert harness.shared_data_dir() == tmp_path
    monkeypatch.delenv("NESCIO_SHARED_DATA")
    assert harness.shared_data_dir().parts[-2:] == ("shared", "data")


def test_shared_questions_loads_a_set_or_says_it_is_absent(harness, tmp_path):
    said = []
    assert harness.shared_questions("triviaqa", "nope.jsonl", shared=tmp_path, warn=said.append) is None
    assert said == [f"skip triviaqa: {tmp_path / 'nope.jsonl'} not found"]
    (tmp_path / "t.jsonl").write_text(json.dumps({"id": "q1", "question": "What is x?", "answers": ["y"]}) + "\n")
    (q,) = harness.shared_questions("jsonl", "t.jsonl", shared=tmp_path)
    assert q.text == "What is x?" and q.answerable


def test_builtin_splits_are_the_three_builtin_splits(harness):
    from nescio.data import builtin_questions

    splits = harness.builtin_splits()
    assert list(splits) == ["train", "calibration", "test"]
    assert [q.id for q in splits["test"]] == [q.id for q in builtin_questions("test")]
