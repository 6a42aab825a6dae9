"""Writing analysis results to disk and to the terminal (the I/O side of ``romcam analyze``)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from romcam.measure.analysis import Analysis, frames_table, summary


def atomic_write_text(path: Path, text: str) -> None:
    """Write a file so that a crash leaves either the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_analysis(a: Analysis, out_dir: Path, extra: dict | None = None) -> tuple[Path, Path]:
    """frames.csv and summary.json in ``out_dir``; returns their paths."""
    frames_path = out_dir / "frames.csv"
    summary_path = out_dir / "summary.json"
    atomic_write_text(frames_path, frames_table(a).to_csv(index=False, float_format="%.3f"))
    content = summary(a)
    if extra:
        content.update(extra)
    atomic_write_text(summary_path, json.dumps(content, indent=2) + "\n")
    return frames_path, summary_path


def describe(a: Analysis, source_name: str) -> str:
    """A short human summary of an analysis."""
    s = summary(a)
    n = s["frames"]
    lines = [f"{Path(source_name).name}: {a.joint.title}" + (f" ({a.side_note})" if a.side_note else ""),
             f"{n} frames at {s['fps']:.1f} fps, {s['valid_frames']} usable ({s['valid_frames'] / max(n, 1):.0%})"]
    for side, result in a.sides.items():
        peaks = ", ".join(f"{r.peak_deg:.1f}" for r in result.reps)
        top = "n/a" if result.max_deg is None else f"{result.max_deg:.1f} deg"
        lines.append(f"  {side:>5}: {len(result.reps)} reps" + (f" (peaks {peaks} deg)" if peaks else "")
                     + f", largest angle {top}")
    lines += [f"  note: {w}" for w in a.warnings]
    return "\n".join(lines)
