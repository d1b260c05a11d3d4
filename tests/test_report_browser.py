"""The HTML report as a person sees it: rendered by headless Chromium (Debian's ``chromium``).

Skipped when no Chromium binary is installed (``apt-get install chromium``)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from nescio.evaluate.report import write_report
from nescio.evaluate.result import EvalResult, FrontierPoint, TightestLevel, read_decisions

DATA = Path(__file__).parent / "data" / "eval_v1"
CHROMIUM = next((b for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no headless Chromium installed (apt-get install chromium)")


def _render(html: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}",
                           *args, html.as_uri()], capture_output=True, text=True, timeout=120)


def test_report_renders_with_its_headline_the_frontier_and_the_figures(tmp_path):
    res = EvalResult.read(DATA / "results.json")
    res = replace(res, records=read_decisions(DATA / "decisions.jsonl"))
    tally = {k: v for k, v in res.guarded.to_json().items() if k != "delta"}
    tl = TightestLevel(**(tally | {"answered": 0.3, "realised_risk": 0.18, "kept": 0.58, "alpha": 0.2}), tightest_alpha=0.2)
    frontier = (FrontierPoint(alpha=0.2, threshold=0.79, calibration_answered=40, calibration_hallucinated=4,
                              calibration_risk_upper_bound=0.19, answered=0.18, realised_risk=0.204, kept=0.581),)
    res = replace(res, at_tightest_level=tl, frontier=frontier)
    html = write_report([res], tmp_path / "report.html")
    dom = _render(html, tmp_path, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-500:]
    text = dom.stdout
    # what a reader looks for: the before/after table, the tightest level, the frontier, the plots
    assert "Before / after" in text and "What can be certified" in text
    assert "The tightest level this guard certifies is α = 0.2" in text
    assert "<table class=\"frontier\">" in text and "<td>0.2</td><td>40 (4 wrong; bound 19.0%)</td>" in text
    n_images = text.count("<img")
    assert n_images >= 4 and text.count("data:image/png;base64,") == n_images
    shot = _render(html, tmp_path, f"--screenshot={tmp_path / 'shot.png'}", "--window-size=1200,2000")
    assert shot.returncode == 0, shot.stderr[-500:]
    png = (tmp_path / "shot.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000  # a page with content, not a blank one
