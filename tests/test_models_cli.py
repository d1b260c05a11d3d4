"""`nescio models` lists the embedded models; capture options parse or fail clearly."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from nescio.cli import app
from nescio.cli.models import _parse_capture
from nescio.types import NescioError


def test_models_command_lists_embedded_models():
    result = CliRunner().invoke(app, ["models"])
    assert result.exit_code == 0
    assert "smollm2-135m-instruct" in result.output and "gemma3-270m" in result.output


def test_capture_option_parsing():
    spec = _parse_capture("mlp_act:3,7:answer,answer_mean")
    assert spec.site == "mlp_act" and spec.layers == (3, 7) and spec.positions == ("answer", "answer_mean")
    assert _parse_capture("resid:all").layers == "all"
    with pytest.raises(NescioError, match="accepted"):
        _parse_capture("resid")
    with pytest.raises(NescioError, match="accepted"):
        _parse_capture("neurons:all")
