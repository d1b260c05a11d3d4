"""`nescio data list` and `nescio data show`."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from nescio.cli import app
from nescio.types import NescioError

runner = CliRunner()


def test_data_list_shows_categories_and_split_counts():
    result = runner.invoke(app, ["data", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name in ("fact/geography", "fabricated", "future", "random_fact", "false_premise", "calibration"):
        assert name in result.output
    assert "triviaqa" in result.output and "jsonl" in result.output
    from nescio.data import hard_questions

    assert "hard/arithmetic" in result.output and "hard/word_problem" in result.output
    assert f"hard: {len(hard_questions())} questions" in result.output


def test_data_show_builtin_category():
    result = runner.invoke(app, ["data", "show", "builtin:test", "--category", "future", "--n", "3"],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "will" in result.output and "(none)" in result.output
    assert result.output.count("builtin-future-") == 3


def test_data_show_jsonl_file(tmp_path):
    p = tmp_path / "q.jsonl"
    p.write_text(json.dumps({"question": "What is 2+2?", "answers": ["4"], "id": "x1"}) + "\n")
    result = runner.invoke(app, ["data", "show", f"jsonl:{p}"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "x1" in result.output and "What is 2+2?" in result.output


def test_data_show_unknown_category_is_a_named_error():
    result = runner.invoke(app, ["data", "show", "builtin", "--category", "nope"])
    assert isinstance(result.exception, NescioError)
    assert "accepted" in str(result.exception)
