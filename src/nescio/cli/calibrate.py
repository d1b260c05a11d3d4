"""`nescio calibrate`: recalibrate a saved guard on the user's own labelled questions."""

from __future__ import annotations

from typing import Optional

import typer

from nescio.cli.devices import DEVICE_OPTION, DTYPE_OPTION, apply_placement
from nescio.models.embedded import DEFAULT_MODEL


def _pct(x) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def _point(p) -> str:
    if p.answered == 0:
        return f"answers none of the {p.n} questions plainly (kept 0%)"
    return (f"answers {p.answered} of {p.n} plainly, {p.hallucinated} of them wrong (realised risk "
            f"{_pct(p.realised_risk)}), keeping {_pct(p.kept)} of the model's correct answers")


def print_summary(s, out: str, console) -> None:
    """The terminal summary of a :class:`~nescio.policy.recalibration.RecalibrationSummary`."""
    console.print(f"[bold]refitted[/]: {', '.join(s.refitted)} on {s.n_calibration} of your {s.n_questions} questions"
                  + (f" (combiner on the other {s.n_combiner})" if s.n_combiner else ""))
    console.print(f"[bold]kept unchanged[/]: {', '.join(s.kept)}"
                  + (f" (fitted probes, bit-identical: {', '.join(s.probes)})" if s.probes else ""))
    console.print(f"questions: {s.n_model_abstained} declined by the model, {s.n_precheck_blocked} blocked by the "
                  f"pre-check, {s.n_usable} used for the thresholds ({s.n_usable_correct} correct; a certificate at "
                  f"α = {s.alpha:g} needs ≥ {s.min_correct})")
    if s.certified:
        console.print(f"[green]certified at α = {s.alpha:g}, δ = {s.delta:g}[/]: on these questions it "
                      f"{_point(s.at_alpha)}")
    else:
        console.print(f"[yellow]nothing certified at α = {s.alpha:g}, δ = {s.delta:g}: the guard only hedges or "
                      "abstains at that level[/]")
    if s.tightest_alpha is None:
        console.print("[yellow]no level up to 0.99 can be certified on these questions[/]")
    else:
        console.print(f"tightest certifiable α = {s.tightest_alpha:g}: there it {_point(s.at_tightest)} "
                      f"(a diagnostic: choosing α after seeing it voids the guarantee)")
    if s.frontier:
        console.print("certified frontier on your questions (α: answered, of them wrong): " + "; ".join(
            f"{f.alpha:g}: {f.calibration_answered}, {f.calibration_hallucinated}" for f in s.frontier[:6]))
    console.print(f"before recalibration (α = {s.before.alpha:g}): it {_point(s.before)}")
    console.print(f"guard: [bold]{out}[/] (recalibration.json beside it)")


def register(app: typer.Typer) -> None:
    @app.command("calibrate")
    def calibrate_cmd(
        guard: str = typer.Option(..., help="The guard to recalibrate (a directory saved by nescio eval or Guard.save)."),
        bench: str = typer.Option(..., help="Your labelled questions: jsonl:PATH, triviaqa:PATH, ... (as nescio eval)."),
        out: str = typer.Option(..., help="Directory for the recalibrated guard (refused if it holds one)."),
        model: Optional[str] = typer.Option(None, help=f"The model the guard was fitted for (default: the one it records, "
                                                        f"else {DEFAULT_MODEL})."),
        alpha: Optional[float] = typer.Option(None, help="Target hallucination rate among answered (default: the guard's)."),
        delta: Optional[float] = typer.Option(None, help="Allowed probability the guarantee fails (default: the guard's)."),
        refit_detector: bool = typer.Option(False, "--refit-detector",
                                            help="Also refit the combiner, on half of the questions (the rest calibrate)."),
        calibrator: Optional[str] = typer.Option(None, help="Calibration method: isotonic, platt, isotonic-smooth or "
                                                            "venn-abers (default: the guard's)."),
        limit: Optional[int] = typer.Option(None, help="Use only the first N questions."),
        generations: Optional[str] = typer.Option(None, help="Generation store (default OUT/generations; reruns resume)."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace a guard already in --out."),
        device: str = DEVICE_OPTION,
        dtype: str = DTYPE_OPTION,
    ) -> None:
        """Refit the guard's calibrator and thresholds (and with --refit-detector its combiner) on your
        own labelled questions, keeping its probes; write the new guard to --out."""
        from rich.console import Console

        from nescio.policy.recalibration import calibrate

        apply_placement(device, dtype)
        s = calibrate(model, guard, bench, out, alpha=alpha, delta=delta, refit_detector=refit_detector,
                      overwrite=overwrite, generations_dir=generations, limit=limit, calibrator=calibrator)
        print_summary(s, out, Console())
