"""EvalResult: the typed results.json (byte-compatible with files written before it was typed)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from nescio.evaluate.result import (
    DecisionRecord, EvalResult, GuardedTally, Tally, read_decisions, write_decisions,
)
from nescio.types import Action, NescioError, Outcome

DATA = Path(__file__).parent / "data" / "eval_v1"  # written by the pre-typed evaluate(); see make_fixture.py
FILES = ["results.json", "results_smollm2_builtin.json"]


@pytest.mark.parametrize("name", FILES)
def test_results_written_before_typing_read_and_write_back_byte_for_byte(name, tmp_path):
    r = EvalResult.read(DATA / name)
    assert r.write(tmp_path / "results.json").read_bytes() == (DATA / name).read_bytes()


def test_round_trip_is_equal_and_typed_inside():
    r = EvalResult.read(DATA / "results.json")
    again = EvalResult.from_json(json.loads(json.dumps(r.to_json())))
    assert again == r and again.compare == r.compare
    assert isinstance(r.guarded, GuardedTally) and isinstance(r.compare["tiny-qwen2"], EvalResult)
    assert r.guard.summary.threshold == float("inf") and r.to_json()["guard"]["threshold"] == "inf"
    assert [x.model for x in r.runs] == ["tiny-llama", "tiny-qwen2"]
    # a changed number is a different result
    assert dataclasses.replace(r, n=r.n + 1) != r


def test_decision_records_carry_enums_and_write_back_byte_for_byte(tmp_path):
    recs = read_decisions(DATA / "decisions.jsonl")
    assert recs and all(isinstance(x.outcome, Outcome) and isinstance(x.action, Action) for x in recs)
    assert {x.action for x in recs} <= set(Action)
    assert write_decisions(recs, tmp_path / "d.jsonl").read_bytes() == (DATA / "decisions.jsonl").read_bytes()
    assert DecisionRecord.from_json(recs[0].to_json()) == recs[0]
    assert recs[0].to_json()["outcome"] == recs[0].outcome.value  # strings only in JSON


def _one_line(exc_info) -> str:
    msg = str(exc_info.value)
    assert "\n" not in msg
    return msg


def _saved() -> dict:
    return json.loads((DATA / "results.json").read_text())


def test_misspelt_key_is_refused_naming_it_and_the_accepted_ones():
    d = _saved()
    d["guarded"]["realised_rsik"] = d["guarded"].pop("realised_risk")
    with pytest.raises(NescioError) as e:
        EvalResult.from_json(d)
    msg = _one_line(e)
    assert "EvalResult.guarded: unknown key 'realised_rsik'" in msg and "realised_risk" in msg
    d = _saved()
    d["guard"]["tresh"] = 1.0
    with pytest.raises(NescioError, match=r"EvalResult.guard: unknown key 'tresh'; accepted: n_train, .*threshold"):
        EvalResult.from_json(d)
    d = _saved()
    d["compare"]["tiny-qwen2"]["signals"]["sequence_nll"]["aurcc"] = 0.5
    with pytest.raises(NescioError, match=r"compare.tiny-qwen2.signals.sequence_nll: unknown key 'aurcc'"):
        EvalResult.from_json(d)


@pytest.mark.parametrize("edit, match", [
    (lambda d: d["raw"].pop("risk"), r"EvalResult.raw: missing key 'risk'"),
    (lambda d: d.pop("guard"), r"EvalResult: missing key 'guard'"),
    (lambda d: d["guard"].pop("certified"), r"EvalResult.guard: missing key 'certified'"),
    (lambda d: d["guarded"].__setitem__("kept", "high"), r"EvalResult.guarded.kept: expected a number, got 'high'"),
    (lambda d: d.__setitem__("n", "304"), r"EvalResult.n: expected int, got '304'"),
    (lambda d: d.__setitem__("schema", "nescio.results/2"), r"results schema 'nescio.results/2'; this nescio reads"),
    (lambda d: d.__setitem__("per_category", []), r"EvalResult.per_category: expected an object, got list"),
])
def test_damaged_results_are_one_line_errors(edit, match):
    d = _saved()
    edit(d)
    with pytest.raises(NescioError, match=match) as e:
        EvalResult.from_json(d)
    _one_line(e)


def test_misspelt_outcome_or_action_in_decisions_is_refused(tmp_path):
    lines = (DATA / "decisions.jsonl").read_text().splitlines()
    bad = json.loads(lines[1])
    bad["outcome"] = "halucinated"
    (tmp_path / "d.jsonl").write_text("\n".join([lines[0], json.dumps(bad)]) + "\n")
    with pytest.raises(NescioError, match=r"d.jsonl:2.outcome: unknown outcome 'halucinated'; accepted: correct, "
                                          r"hallucinated, abstained") as e:
        read_decisions(tmp_path / "d.jsonl")
    _one_line(e)
    bad["outcome"], bad["action"] = "correct", "answr"
    (tmp_path / "d.jsonl").write_text(json.dumps(bad) + "\n")
    with pytest.raises(NescioError, match=r"unknown action 'answr'; accepted: answer, hedge, abstain"):
        read_decisions(tmp_path / "d.jsonl")


def test_unreadable_results_file_names_the_file(tmp_path):
    p = tmp_path / "results.json"
    p.write_text('{"schema": "nescio.results/1", "n": ')
    with pytest.raises(NescioError, match=r"results.json: damaged, not valid JSON") as e:
        EvalResult.read(p)
    _one_line(e)
    with pytest.raises(NescioError, match="not found"):
        EvalResult.read(tmp_path / "nope.json")


def test_numbers_are_normalised_as_written_and_records_are_frozen():
    t = Tally(n=np.int64(3), answered=np.float64(1 / 3), correct=0.0, hallucinated=0.0, abstained=2 / 3, hedged=0.0,
              hedged_correct=0.0, hedged_hallucinated=0.0, kept=float("nan"), kept_incl_hedged=np.float64("nan"),
              realised_risk=np.float64(np.inf), hedged_risk=None)
    assert type(t.n) is int and t.answered == 0.333333 and t.abstained == 0.666667
    assert t.kept is None and t.kept_incl_hedged is None and t.realised_risk is None  # not measurable → null
    assert json.dumps(t.to_json()).count("null") == 4
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.n = 4
