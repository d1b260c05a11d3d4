"""`nescio theory --quick`: the trained memorisers behave as the bound says (seeded, CPU, ~1-2 min)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from nescio.cli import app


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("theory")
    result = CliRunner().invoke(app, ["theory", "--quick", "--no-progress", "--threads", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, json.loads((out / "results.json").read_text()), result.output


def _by_size(results, form):
    return sorted((p for p in results["points"] if p["config"]["form"] == form), key=lambda p: p["num_parameters"])


def test_quick_run_writes_results_and_plots(quick_run):
    out, results, output = quick_run
    assert results["spec"]["preset"] == "quick"
    for name in ("histograms.png", "qhat_vs_capacity.png", "frontier.png"):
        assert (out / name).stat().st_size > 5000
    assert len(list((out / "points").glob("*.json"))) == len(results["points"]) == 4
    assert "q̂" in output and "Bloom bits/key" in output
    assert (out / "summary.md").read_text().count("| scorer_") == 2


def test_small_scorer_hallucinates_confidently_with_an_empty_middle(quick_run):
    _, results, _ = quick_run
    small, large = _by_size(results, "scorer")[0], _by_size(results, "scorer")[-1]
    assert small["capacity_ratio_at_2bpp"] < 1 < large["capacity_ratio_at_2bpp"]
    # too small for the facts: many non-facts get the facts' own confidence ...
    assert small["q_hat"] > 0.2
    # ... and almost nothing sits in the unsure middle
    assert small["middle_facts"] < 0.1 and small["middle_nonfacts"] < 0.1
    # the largest model separates facts from non-facts
    assert large["q_hat"] < 0.08  # (0.036 on the reference machine)
    assert large["q_hat"] * 10 < small["q_hat"]


def test_generator_memorises_with_capacity_and_makes_up_values_for_new_keys(quick_run):
    _, results, _ = quick_run
    small, large = _by_size(results, "generator")[0], _by_size(results, "generator")[-1]
    assert large["fact_recall"] > 0.9 > small["fact_recall"]
    # keys that are not facts still get a value, often the same one when asked again
    assert large["new_key_consistent"] > 0.1


def test_rerun_resumes_from_checkpoints(quick_run, monkeypatch):
    out, results, _ = quick_run
    import nescio.theory.memoriser as memoriser

    def boom(*args, **kwargs):
        raise AssertionError("a finished sweep point was retrained")

    monkeypatch.setattr(memoriser, "train_and_measure", boom)
    from nescio.theory.run import run_theory

    again = run_theory(out, "quick", progress=False, plots=False, num_threads=1)
    assert [p["q_hat"] for p in again["points"]] == [p["q_hat"] for p in results["points"]]


def test_bad_flags_are_user_errors(tmp_path):
    from nescio.theory.run import run_theory
    from nescio.types import NescioError

    with pytest.raises(NescioError):
        run_theory(tmp_path, "enormous", progress=False)
