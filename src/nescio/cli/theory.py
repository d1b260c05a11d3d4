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
        threads: int = typer.Option(2, "--threads", help="torch CPU threads."),
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
        for p in results["points"]:
            line = (f"{p['name']:>16}  params={p['num_parameters']:>7,}  capacity@2bpp={p['capacity_ratio_at_2bpp']:6.2f}x  "
                    f"q_hat={p['q_hat']:.3f}  middle(facts/non-facts)={p['middle_facts']:.2f}/{p['middle_nonfacts']:.2f}")
            if p["config"]["form"] == "generator":
                line += f"  recall={p['fact_recall']:.2f}  new-key confident&consistent={p['new_key_confident_and_consistent']:.2f}"
            typer.echo(line)
        for b in results["bloom"]:
            typer.echo(f"bloom {b['bits_per_key']:>4g} bits/key  k={b['num_hashes']}  fpr={b['fpr_measured']:.5f}  "
                       f"predicted={b['fpr_predicted']:.5f}  bound={b['fpr_bound']:.5f}  space/bound={b['space_ratio']:.2f}")
        typer.echo(f"wrote {Path(out) / 'results.json'} in {results['wall_seconds']:.0f}s")
