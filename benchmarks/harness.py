"""What the benchmark scripts share: paths, the machine, the command line, results files, question sets.

A script in ``benchmarks/`` imports it as a sibling (``import harness``), which works when the
script is run (``python benchmarks/X.py`` puts ``benchmarks/`` first on ``sys.path``); a test
that loads a script by its path puts ``benchmarks/`` on ``sys.path`` first.

Results files keep the keys the docs and ``compare_results.py`` read: ``machine`` (``cpus``,
``platform`` and what the script adds), ``command`` / ``commands``, ``git_commit``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "benchmarks" / "results"
RUNS_DIR = ROOT / "runs"
DEFAULT_MODEL = "smollm2-135m-instruct"
SPLITS = ("train", "calibration", "test")


def shared_data_dir() -> Path:
    """The ../shared/data folder of public sets: $NESCIO_SHARED_DATA, else next to the checkout
    (a git worktree one level further down finds it two levels up)."""
    if os.environ.get("NESCIO_SHARED_DATA"):
        return Path(os.environ["NESCIO_SHARED_DATA"])
    candidates = (ROOT.parent / "shared" / "data", ROOT.parent.parent / "shared" / "data")
    return next((p for p in candidates if p.is_dir()), candidates[0])


SHARED = shared_data_dir()


def machine(**extra) -> dict:
    """The results file's ``machine`` entry: CPU count and platform, then the script's own keys."""
    return {"cpus": os.cpu_count(), "platform": platform.platform(), **extra}


def git_commit(short: bool = False) -> str | None:
    """The checkout's HEAD commit, or None where git does not answer."""
    try:
        return subprocess.run(["git", "-C", str(ROOT), "rev-parse", *(["--short"] if short else []), "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def command(script: str, prefix: str = "python", argv: list[str] | None = None) -> str:
    """How this run was started, as the results file records it: ``PREFIX benchmarks/SCRIPT ARGS``."""
    args = sys.argv[1:] if argv is None else argv
    return " ".join([prefix, f"benchmarks/{Path(script).name}", *args])


def parser(doc: str | None, **kwargs) -> argparse.ArgumentParser:
    """An argument parser that shows the script's docstring as written."""
    return argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)


def read_results(path: str | Path) -> dict:
    """An existing results file (parts of a run merge into it), or {} where there is none."""
    path = Path(path)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def write_results(path: str | Path, results: dict, *, indent: int = 1, ensure_ascii: bool = True) -> Path:
    """Write a results file (its folder made if needed): JSON, numpy scalars as floats, a final newline."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=indent, default=float, ensure_ascii=ensure_ascii) + "\n",
                    encoding="utf-8")
    return path


def builtin_splits(splits=SPLITS) -> dict[str, list]:
    """The built-in benchmark's questions by split."""
    from nescio.data import builtin_questions

    return {s: builtin_questions(s) for s in splits}


def shared_questions(name: str, rel: str, *, shared: str | Path | None = None, warn=None) -> list | None:
    """One public set under ../shared/data (``load_questions("NAME:PATH")``), or None where its file
    is absent (said through ``warn`` where one is given)."""
    from nescio.data import load_questions

    path = Path(shared or SHARED) / rel
    if not path.is_file():
        if warn is not None:
            warn(f"skip {name}: {path} not found")
        return None
    return load_questions(f"{name}:{path}")
