"""A command whose optional extra is missing fails at once, in one line naming the extra."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

import nescio.extras as extras
from nescio.cli import app
from nescio.types import NescioError

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def _without(monkeypatch, *modules: str) -> None:
    """Make ``modules`` look uninstalled to :func:`nescio.extras.require` (find_spec says None)."""
    real = importlib.util.find_spec
    monkeypatch.setattr(extras.importlib.util, "find_spec",
                        lambda name, *a, **k: None if name in modules else real(name, *a, **k))


def test_the_extras_table_matches_pyproject():
    declared = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]
    for extra, modules in extras.EXTRAS.items():
        dists = {re.split(r"[<>=!~ \[;]", d, maxsplit=1)[0].lower().replace("-", "_") for d in declared[extra]}
        assert set(modules) == dists, extra
    assert "datasets" in extras.EXTRAS["train"]  # the trainers build a datasets.Dataset (and trl needs it)


def test_require_names_the_extra_and_the_missing_modules(monkeypatch):
    _without(monkeypatch, "datasets", "trl")
    with pytest.raises(NescioError) as err:
        extras.require("train", "`nescio train sft`")
    assert str(err.value) == ("`nescio train sft` needs the 'train' extra: pip install 'nescio[train]' "
                              "(missing: trl, datasets)")
    extras.require("serve", "`nescio serve`")  # installed here: nothing raised
    with pytest.raises(NescioError, match="unknown extra 'gpu'; accepted: train, serve, rag, upstream, hub"):
        extras.missing("gpu")


def _fails_at_once(monkeypatch, args, missing_module, message, *, never_called):
    """``args`` fails with ``message`` and none of ``never_called`` (module, name) runs."""
    import importlib

    def boom(*a, **k):
        raise AssertionError("the command did work before checking its extra")

    for module, name in never_called:
        monkeypatch.setattr(importlib.import_module(module), name, boom)
    _without(monkeypatch, missing_module)
    result = CliRunner().invoke(app, args)
    assert result.exit_code != 0
    assert isinstance(result.exception, NescioError), result.output
    assert str(result.exception) == message


def test_train_sft_without_the_train_extra_fails_before_generating(monkeypatch, tmp_path):
    _fails_at_once(monkeypatch, ["train", "sft", "--out", str(tmp_path / "run")], "datasets",
                   "`nescio train sft` needs the 'train' extra: pip install 'nescio[train]' (missing: datasets)",
                   never_called=[("nescio.train.sft", "sft_pipeline"), ("nescio.train.data", "build_sft_data")])
    assert not (tmp_path / "run").exists()


def test_train_grpo_serve_index_and_rag_name_their_extra(monkeypatch, tmp_path):
    _fails_at_once(monkeypatch, ["train", "grpo", "--out", str(tmp_path / "g")], "peft",
                   "`nescio train grpo` needs the 'train' extra: pip install 'nescio[train]' (missing: peft)",
                   never_called=[("nescio.train.grpo", "train_grpo")])
    _fails_at_once(monkeypatch, ["serve"], "uvicorn",
                   "`nescio serve` needs the 'serve' extra: pip install 'nescio[serve]' (missing: uvicorn)",
                   never_called=[("nescio.serve", "serve")])
    _fails_at_once(monkeypatch, ["index", str(tmp_path), "--out", str(tmp_path / "i")], "bm25s",
                   "`nescio index` needs the 'rag' extra: pip install 'nescio[rag]' (missing: bm25s)",
                   never_called=[("nescio.rag.index", "build_index")])
    _fails_at_once(monkeypatch, ["eval", "--rag", str(tmp_path / "i"), "--out", str(tmp_path / "e")], "bm25s",
                   "--rag needs the 'rag' extra: pip install 'nescio[rag]' (missing: bm25s)",
                   never_called=[("nescio.evaluate", "evaluate")])

