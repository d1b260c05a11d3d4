"""`nescio train grpo`: bad input is a one-line error before anything heavy is loaded."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from nescio.types import NescioError


def _app() -> typer.Typer:
    from nescio.cli import app

    return app


@pytest.mark.parametrize("args,match", [
    (["--reward", "nope"], "unknown reward 'nope'; accepted: binary, shaped, confidence_target"),
    (["--reward", "confidence_target(1.5)"], "t must be in \\(0, 1\\)"),
    (["--reward", "shaped", "--reward-param", "lam=-1"], "lam .* must be >= 0"),
    (["--reward", "shaped", "--reward-param", "lam"], "expected k=v"),
    (["--k", "1"], "at least 2 completions per question"),
    (["--prompt", "chatty"], "unknown prompt 'chatty'"),
    (["--limit", "0"], "--limit must be at least 1"),
])
def test_bad_input_is_a_one_line_error(tmp_path, args, match):
    result = CliRunner().invoke(_app(), ["train", "grpo", "--out", str(tmp_path / "run"), *args])
    assert isinstance(result.exception, NescioError), result.output
    assert "\n" not in str(result.exception)
    with pytest.raises(NescioError, match=match):
        raise result.exception
    assert not (tmp_path / "run").exists()


def test_help_lists_the_rewards():
    result = CliRunner().invoke(_app(), ["train", "grpo", "--help"])
    assert result.exit_code == 0
    assert "confidence_target" in result.output and "--reward-param" in result.output
