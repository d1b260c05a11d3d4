"""`nescio score`: the guard's decisions on answers generated anywhere (teacher forcing)."""

from __future__ import annotations

from typing import Optional

import typer

from nescio.cli.devices import DEVICE_OPTION, DTYPE_OPTION, apply_placement


def _pct(x) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def register(app: typer.Typer) -> None:
    @app.command("score")
    def score_cmd(
        guard: str = typer.Option(..., help="A saved guard (a directory from nescio eval, calibrate or Guard.save)."),
        input: str = typer.Option(..., "--in", help='JSONL of {"question", "answer"} lines (optional: id, answers, '
                                                   'answerable, category, finish_reason, token_ids).'),
        out: str = typer.Option(..., help="Directory for decisions.jsonl (and results.json, report.html with gold "
                                          "answers); a rerun resumes."),
        model: Optional[str] = typer.Option(None, help="The guard's model (default: the one the guard records)."),
        alpha: Optional[float] = typer.Option(None, help="Risk level: one the guard certified (default: its own α)."),
        device: str = DEVICE_OPTION,
        dtype: str = DTYPE_OPTION,
    ) -> None:
        """Decide on answers made elsewhere (another server's log, a batch job, a spreadsheet export):
        each answer is teacher-forced through the guard's model, so the guard reads the same internals
        as if the model had written it."""
        from rich.console import Console

        from nescio.evaluate.score import score_file

        apply_placement(device, dtype)

        console = Console()
        s = score_file(model, guard, input, out, alpha=alpha)
        console.print(f"scored {s['n']} answers in {s['scoring_s']:.1f} s"
                      + (f" ({s['truncated']} cut at the length limit: flagged, not certified)" if s["truncated"] else ""))
        if s["graded"]:
            state = "certified" if s["certified"] else "nothing certified"
            console.print(f"raw: {_pct(s['raw_correct'])} correct; guarded at α = {s['alpha']:g} ({state}): answers "
                          f"{_pct(s['answered'])}, realised risk {_pct(s['realised_risk'])}, keeps {_pct(s['kept'])} "
                          "of the correct answers")
            console.print(f"report: {s['report']}  results: {s['results']}")
        console.print(f"decisions: {s['decisions']}")
