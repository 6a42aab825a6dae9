"""`romcam bench`: a thin command over :mod:`romcam.session.bench` (imported when it runs, so
`romcam --help` stays fast)."""

from __future__ import annotations

import json

import click

from romcam.cli.options import SIDE_CHOICES, model_options


@click.command()
@click.argument("video")
@click.option("--joint", "-j", required=True, help="Joint to measure (decides whether the face model runs).")
@click.option("--side", type=SIDE_CHOICES, default="auto", show_default=True)
@click.option("--mirrored", is_flag=True)
@model_options
@click.option("--workers", type=click.IntRange(1, 8), default=2, show_default=True)
@click.option("--repeat", type=click.IntRange(1, 10), default=1, show_default=True,
              help="Runs of each pipeline; the best is reported.")
@click.option("--no-baseline", is_flag=True, help="romcam alone (a long recording): its time, CPU and peak "
                                                  "memory for the landmarks, then for the analysis.")
@click.option("--live", is_flag=True, help="Instead: the live session loop on VIDEO replayed at real pace "
                                           "(frames analysed/dropped/drawn, capture-to-display latency).")
@click.option("--window", is_flag=True, help="With --live: draw the live window too (needs a screen).")
@click.option("--app", "app_loop", is_flag=True, help="Instead: `romcam app`'s loop, headless Chromium sending "
                                                      "VIDEO as its webcam at 30 fps, 640 px wide (frames analysed/"
                                                      "dropped, server cores, browser-measured latency).")
@click.option("--seconds", type=click.FloatRange(5, 600), default=30.0, show_default=True,
              help="With --app: how long the browser sends frames.")
def bench(video, joint, side, mirrored, model, model_dir, workers, repeat, no_baseline, live, window, app_loop,
          seconds):
    """Frames/s of romcam's pipeline and of a plain one-thread baseline on VIDEO, as JSON."""
    from romcam.session.bench import run_bench, run_live_bench
    from romcam.measure.joints import get_joint
    from romcam.capture.pipeline import ModelChoice

    j = get_joint(joint)
    if app_loop:
        from romcam.app.bench import run_app_bench

        sides = {"auto": "both" if j.view == "front" else "right", "left": "left", "right": "right", "both": "both"}
        click.echo(json.dumps(run_app_bench(video, j, side=sides[side], seconds=seconds, model=model,
                                            model_dir=model_dir), indent=2))
        return
    if live:
        sides = {"auto": "both", "left": "left", "right": "right", "both": "both"}
        click.echo(json.dumps(run_live_bench(video, j, model=model, model_dir=model_dir, window=window,
                                             side=sides[side]), indent=2))
        return
    models = ModelChoice.resolve(model, j.needs_face, model_dir)
    result = run_bench(video, j, models, side=side, mirrored=mirrored, workers=workers, repeat=repeat,
                       baseline=not no_baseline)
    click.echo(json.dumps(result, indent=2))
