"""`romcam bench`: romcam's pipeline against a straightforward baseline, in one run.

Baseline: every frame at source resolution, VIDEO mode, pose then face in one thread
(``landmarks_from_source`` over one :class:`LandmarkDetector`). romcam: the chunked
two-worker pipeline of ``romcam.capture.pipeline``. Both results go through the same analysis,
and the largest angle difference between them is reported with the speeds.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

from romcam.capture.pipeline import HEAD_POSE_EVERY, ModelChoice, extract_landmarks, landmarks_from_source
from romcam.capture.sources import open_source
from romcam.measure.analysis import analyze_landmarks
from romcam.measure.joints import Joint


def _baseline(spec, models: ModelChoice, mirrored: bool):
    with open_source(spec, mirrored=mirrored) as source, models.detector(parallel=False, pose_every=1) as det:
        return [lm for _, lm in landmarks_from_source(source, det)]


def _timed(fn):
    """(result, wall seconds, CPU seconds of the whole process: every thread, every core)."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def _best(times: list[float]) -> int:
    return times.index(min(times))


def _load() -> float | None:
    """The machine's 1-minute load average (other programs competing for the cores), where known."""
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


def reset_peak_memory() -> None:
    """Start the process' peak-memory count afresh, where the OS allows it (Linux: VmHWM), so each
    pipeline's peak is its own; elsewhere the peak only grows and includes what came before."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_memory_mb() -> float | None:
    """The process' peak resident memory (MiB) since :func:`reset_peak_memory`, or since it started."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024.0, 1)
    except OSError:
        pass
    try:
        import resource
    except ImportError:       # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024.0 * 1024.0 if sys.platform == "darwin" else 1024.0), 1)


def compare(joint: Joint, base, ours, side: str) -> dict:
    a = analyze_landmarks(joint, base, side)
    b = analyze_landmarks(joint, ours, side)
    diffs, peak_diffs = [], []
    for name, ch in a.channels.items():
        other = b.channels[name]
        both = ch.valid & other.valid
        if both.any():
            diffs.append(float(np.max(np.abs(ch.filtered[both] - other.filtered[both]))))
    for side_name, res in a.sides.items():
        for ra, rb in zip(res.reps, b.sides[side_name].reps):
            peak_diffs.append(abs(ra.peak_deg - rb.peak_deg))
    return {
        "max_angle_diff_deg": round(max(diffs, default=0.0), 3),
        "max_rep_peak_diff_deg": round(max(peak_diffs, default=0.0), 3),
        "rep_count_baseline": {s: len(r.reps) for s, r in a.sides.items()},
        "rep_count_romcam": {s: len(r.reps) for s, r in b.sides.items()},
        "valid_frames_baseline": a.valid_frames,
        "valid_frames_romcam": b.valid_frames,
    }


def run_bench(spec, joint: Joint, models: ModelChoice, *, side: str = "auto", mirrored: bool = False,
              workers: int = 2, repeat: int = 1, baseline: bool = True) -> dict:
    """Time the baseline and romcam (best of ``repeat`` runs each, alternating) on one video;
    ``baseline=False``: romcam alone (long recordings), landmarks then analysis."""
    base_times, our_times, base_cpu, our_cpu, base_peaks, our_peaks = [], [], [], [], [], []
    base = ours = info = None
    for _ in range(repeat):
        if baseline:
            base = None                  # the previous run's landmarks do not count in this peak
            reset_peak_memory()
            base, dt, cpu = _timed(lambda: _baseline(spec, models, mirrored))
            base_times.append(dt)
            base_cpu.append(cpu)
            base_peaks.append(peak_memory_mb())
        ours = None
        reset_peak_memory()
        (ours, info), dt, cpu = _timed(lambda: extract_landmarks(spec, models, mirrored=mirrored,
                                                                 workers=workers, progress=False))
        our_times.append(dt)
        our_cpu.append(cpu)
        our_peaks.append(peak_memory_mb())
    n = len(ours)
    our_fps = n / min(our_times)
    result = {
        "video": str(spec),
        "resolution": f"{info.width}x{info.height}",
        "source_fps": round(info.fps, 2),
        "frames": n,
        "duration_s": round(n / info.fps, 1) if info.fps else None,
        "joint": joint.name,
        "pose_model": models.pose_variant,
        "face_model": models.face is not None,
        "cpu_count": os.cpu_count(),
        "load_average_1min": _load(),
        "workers": workers,
        "head_pose_every": HEAD_POSE_EVERY if models.face is not None else 1,
        "romcam_fps": round(our_fps, 1),
        "romcam_s": round(min(our_times), 2),
        "realtime_factor": round(our_fps / info.fps, 2) if info.fps else None,
        "romcam_cpu_ms_per_frame": round(1000.0 * min(our_cpu) / n, 1),
        # CPU seconds over wall seconds: how many cores the pipeline got (2 for romcam on an idle
        # 2-core machine; less when other programs take them, which the speedup then shows)
        "romcam_cores_used": round(our_cpu[_best(our_times)] / min(our_times), 2),
        # peak resident memory of the whole process (models, decoder, results) during each pipeline
        "romcam_peak_memory_mb": max(p for p in our_peaks) if None not in our_peaks else None,
    }
    if baseline:
        base_fps = len(base) / min(base_times)
        result.update({
            "baseline_fps": round(base_fps, 1),
            "speedup": round(our_fps / base_fps, 2),
            "baseline_cpu_ms_per_frame": round(1000.0 * min(base_cpu) / len(base), 1),
            "baseline_cores_used": round(base_cpu[_best(base_times)] / min(base_times), 2),
            "baseline_peak_memory_mb": max(p for p in base_peaks) if None not in base_peaks else None,
        })
        result.update(compare(joint, base, ours, side))
    else:
        reset_peak_memory()
        a, dt, _ = _timed(lambda: analyze_landmarks(joint, ours, side))
        result.update({"analysis_s": round(dt, 2), "analysis_peak_memory_mb": peak_memory_mb(),
                       "rep_count_romcam": {s: len(r.reps) for s, r in a.sides.items()},
                       "valid_frames_romcam": a.valid_frames})
    return result


def run_live_bench(spec, joint: Joint, *, model: str = "full", model_dir=None, window: bool = False,
                   side: str = "both") -> dict:
    """The live session loop on a video replayed at its real pace (a fake camera): how many
    frames were shown and dropped, and the capture-to-display latency. Uses a throwaway database."""
    import tempfile

    from romcam.session.runner import SessionOptions, run_session

    if joint.view == "side" and side == "both":
        side = "right"
    with tempfile.TemporaryDirectory(prefix="romcam-bench-") as tmp:
        result = run_session(SessionOptions(
            joint=joint, side=side, subject="BENCH", source=str(spec), db=str(Path(tmp) / "bench.sqlite3"),
            window=window, realtime=True, model=model, model_dir=model_dir), say=lambda _: None)
    keys = ("frames_captured", "frames_processed", "frames_dropped", "dropped_share", "frames_drawn", "latency_ms_median",
            "latency_ms_p95", "fps", "source_fps", "cpu_s", "cores_busy")
    return {"video": str(spec), "joint": joint.name, "pose_model": model, "window": window,
            "cpu_count": os.cpu_count(), "load_average_1min": _load(), **{k: getattr(result.stats, k, None) for k in keys}}
