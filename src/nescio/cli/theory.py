"""`nescio theory` (owned by the theory area): the membership-testing lab."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("theory")
    def theory_cmd(
        out: Path = typer.Option(Path("runs/theory"), "--out", help="Folder for results.json, plots and per-model checkpoints."),
        quick: bool = typer.Option(False, "--quick", help="Two tiny models per form (about 1-2 minutes on 2 CPU cores)."),
        large: bool = typer.Option(False, "--gpu-sweep", "--large", help="Bigger facts and models, meant for a GPU."),
        device: str = typer.Option(None, "--device", help="torch device (default: cuda when available, else cpu)."),
        threads: int = typer.Option(1, "--threads", help="torch CPU threads (1 is fastest on a busy 2-core machine)."),
        progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    ) -> None:
        """Why hallucination is the optimal use of limited memory: bounds, a Bloom filter, trained memorisers.

        Writes OUT/results.json and OUT/{histograms,qhat_vs_capacity,frontier}.png; a rerun resumes
        from OUT/points/.
        """
        from nescio.theory.run import run_theory
        from nescio.types import NescioError

        if quick and large:
            raise NescioError("--quick and --gpu-sweep/--large exclude each other; pick one")
        preset = "quick" if quick else "large" if large else "default"
        results = run_theory(out, preset, device=device, progress=progress, num_threads=threads)
        from nescio.theory.run import summary_markdown

        typer.echo(summary_markdown(results))
        typer.echo(f"wrote {Path(out) / 'results.json'} in {results['wall_seconds']:.0f}s "
                   f"(training time of all points: {results['train_seconds_total']:.0f}s)")
