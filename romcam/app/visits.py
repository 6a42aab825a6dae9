"""A recorded visit in the app: a video filmed without romcam, uploaded, analysed in the
background with a progress bar, its phases and neutral marked on the timeline, the trials and reps
found for those marks, and stored as a session.

Every number comes from the library `romcam visit` runs (:mod:`romcam.session.visit_runner`):
:func:`analyse_visit` once per upload (the landmarks of every frame, MediaPipe), then per set of
marks :func:`preview_analysed_visit` (the same :func:`record_analysed_visit` into a journal kept
in memory) and, to store, :func:`record_analysed_visit` itself. The marks travel as the
``--phases`` and ``--neutral`` texts (:mod:`romcam.app.visit_marks`), so the page shows the very
command line that gives the same session.

Routes (all behind the app's access token): ``GET /visit`` the upload page; ``POST /visit/upload``
the video as the request's body (its name and options in headers, none in the URL);
``GET /visit/{job}`` the timeline page; ``GET /visit/{job}/status`` the analysis's progress;
``GET /visit/{job}/angles`` every frame's angle; ``POST /visit/{job}/preview`` and
``POST /visit/{job}/store`` (JSON marks in). A job's id is random and names no one. The upload is
saved under a neutral name (its own name, perhaps a person's, stays in memory) and deleted once analysed
unless the user asked to keep it (then it moves to the data folder's
``videos``). Logs name jobs and sessions by id only.
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from romcam.app.pages import joint_title
from romcam.app.visit_marks import (MAX_UPLOAD_MB, VIDEO_SUFFIXES, UploadRefused, check_size, check_video_bytes,
                                    marks_to_texts, safe_video_name)
from romcam.dirs import data_dir
from romcam.errors import RomcamError
from romcam.measure.joints import JOINTS, get_joint
from romcam.session.common import SessionOptions, session_sides
from romcam.session.video import check_video
from romcam.session.visit_runner import (AnalysedVisit, analyse_visit, preview_analysed_visit, record_analysed_visit,
                                         video_options, visit_angles)
from romcam.storage.store import clean_subject_code

HERE = Path(__file__).parent
log = logging.getLogger("romcam.app")
KEEP_JOBS = 4                  # analysed visits held in memory (the oldest finished one goes first)
PREVIEW_SUBJECT = "PREVIEW"    # the subject of a preview, which is stored nowhere


@dataclass
class VisitJob:
    """One uploaded video: its analysis's progress, then what any marks are measured on."""
    id: str
    name: str                          # the file's own name, made safe
    path: Path                         # the uploaded file (deleted after the analysis unless kept)
    joint: str
    side: str
    keep: bool
    recorded_at: str | None = None
    state: str = "waiting"             # waiting, analysing, ready, failed
    done: int = 0
    total: int | None = None
    error: str | None = None
    analysed: AnalysedVisit | None = None
    angles: dict | None = None
    kept_path: Path | None = None
    started: float = field(default_factory=time.monotonic)

    def progress(self, done: int, total: int | None) -> None:
        self.done, self.total = done, total

    def status(self) -> dict:
        share = None if not self.total else min(1.0, self.done / self.total)
        return {"state": self.state, "done": self.done, "total": self.total, "share": share, "error": self.error,
                "kept": self.kept_path is not None, "elapsed_s": round(time.monotonic() - self.started, 1)}


class VisitJobs:
    """The jobs of this start of the app; at most one video analysed at a time (2 cores)."""

    def __init__(self, keep_jobs: int = KEEP_JOBS):
        self.jobs: dict[str, VisitJob] = {}
        self.lock = threading.Lock()
        self.slot = threading.Lock()
        self.keep_jobs = keep_jobs

    def add(self, job: VisitJob) -> VisitJob:
        with self.lock:
            self.jobs[job.id] = job
            finished = [j for j in self.jobs.values() if j.state in ("ready", "failed")]
            while len(self.jobs) > self.keep_jobs and finished:
                self.jobs.pop(finished.pop(0).id, None)
        return job

    def get(self, job_id: str) -> VisitJob | None:
        with self.lock:
            return self.jobs.get(job_id)


def _remove_folder(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def kept_videos_dir() -> Path:
    """Where an upload the user asked to keep goes: the data folder's ``videos``."""
    return data_dir() / "videos"


def visits_router(config, max_upload_mb: float = MAX_UPLOAD_MB) -> APIRouter:
    """The recorded-visit routes for the app of ``config`` (:class:`romcam.app.server.AppConfig`),
    uploads up to ``max_upload_mb`` MB."""
    router = APIRouter()
    jobs = VisitJobs()
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals["joint_title"] = joint_title
    max_bytes = int(max_upload_mb * 1_000_000)

    def options(job: VisitJob, subject: str = PREVIEW_SUBJECT, trials: int | None = None, set_kind: str = "reps",
                new_subject: bool = False) -> SessionOptions:
        st = config.settings
        source = str(job.kept_path) if job.kept_path else f"uploaded {job.name} (deleted after analysis)"
        return SessionOptions(joint=get_joint(job.joint), side=job.side, subject=subject, source=source,
                              trials=st.trials if trials is None else trials, db=config.db, window=False,
                              model=st.model, model_dir=config.model_dir or st.model_dir, set_kind=set_kind,
                              quiet=True, new_subject=new_subject)

    def run(job: VisitJob) -> None:
        """The analysis of one upload; its state turns ready (or failed) once the upload is gone
        (or kept)."""
        with jobs.slot:
            job.state, job.started = "analysing", time.monotonic()
            state, error = "failed", None
            try:
                opts = options(job)
                opts.source = str(job.path)
                read = video_options(opts, progress=False, on_progress=job.progress)
                checked = check_video(opts.source, opts.joint, read)
                job.total = checked.info.frame_count
                job.analysed = analyse_visit(opts, read, checked=checked, recorded_at=job.recorded_at)
                t, channels = visit_angles(opts, job.analysed)
                job.angles = {"t": [round(float(v), 3) for v in t],
                              "channels": {c: [None if not math.isfinite(v) else round(float(v), 2) for v in a]
                                           for c, a in channels.items()}}
                state = "ready"
                log.info("visit %s: analysed, %d frames", job.id, len(t))
            except RomcamError as exc:
                error = str(exc).replace(str(job.path), "the video")
                log.info("visit %s: not analysed (a one-line error shown on the page)", job.id)
            except Exception:
                error = "the video could not be analysed (the app's log says why)"
                log.exception("visit %s: analysis failed", job.id)
            finally:
                if job.keep and job.path.exists():
                    folder = kept_videos_dir()
                    folder.mkdir(parents=True, exist_ok=True)
                    target = folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{job.id[:6]}-{job.name}"
                    shutil.move(str(job.path), target)
                    job.kept_path = target
                _remove_folder(job.path.parent)
                job.error, job.state = error, state

    @router.get("/visit", response_class=HTMLResponse)
    def visit_page(request: Request):
        return templates.TemplateResponse(request, "visit_upload.j2", {
            "joints": list(JOINTS.values()), "max_mb": f"{max_upload_mb:g}", "suffixes": ", ".join(VIDEO_SUFFIXES)})

    @router.post("/visit/upload")
    async def upload(request: Request):
        h = request.headers
        folder = None
        try:
            name = safe_video_name(unquote(h.get("x-romcam-name", "")))
            length = h.get("content-length")
            check_size(int(length) if length and length.isdigit() else None, max_bytes)
            joint = get_joint(h.get("x-romcam-joint", ""))
            side = h.get("x-romcam-side", "both")
            session_sides(joint, side)
            recorded_at = h.get("x-romcam-recorded-at") or None
            folder = Path(tempfile.mkdtemp(prefix="romcam-visit-"))
            atexit.register(_remove_folder, folder)
            path = folder / f"visit{Path(name).suffix}"      # its own name (perhaps a person's) only in memory
            received, head = 0, b""
            with open(path, "wb") as f:
                async for chunk in request.stream():
                    received += len(chunk)
                    check_size(received, max_bytes)
                    if len(head) < 16:
                        head += chunk[:16]
                    f.write(chunk)
            check_size(received, max_bytes)
            check_video_bytes(head, name)
        except UploadRefused as exc:
            if folder is not None:
                _remove_folder(folder)
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        except RomcamError as exc:
            if folder is not None:
                _remove_folder(folder)
            return JSONResponse({"error": str(exc)}, status_code=400)
        modified = h.get("x-romcam-modified", "")
        if modified.isdigit():              # the file's own time on the user's machine (when it was filmed)
            os.utime(path, (int(modified) / 1000.0, int(modified) / 1000.0))
        job = jobs.add(VisitJob(secrets.token_urlsafe(12), name, path, joint.name, side,
                                keep=h.get("x-romcam-keep") == "1", recorded_at=recorded_at))
        log.info("visit %s: %.1f MB received", job.id, received / 1e6)
        threading.Thread(target=run, args=(job,), name=f"romcam-visit-{job.id[:6]}", daemon=True).start()
        return JSONResponse({"job": job.id, "url": f"/visit/{job.id}"})

    def job_or_404(job_id: str) -> VisitJob:
        job = jobs.get(job_id)
        if job is None:
            raise HTTPException(404, "no such visit in this start of the app: upload the video again")
        return job

    @router.get("/visit/{job_id}", response_class=HTMLResponse)
    def timeline_page(request: Request, job_id: str):
        job = job_or_404(job_id)
        return templates.TemplateResponse(request, "visit.j2", {
            "job": job, "joint": get_joint(job.joint), "trials": config.settings.trials})

    @router.get("/visit/{job_id}/status")
    def status(job_id: str):
        return job_or_404(job_id).status()

    @router.get("/visit/{job_id}/angles")
    def angles(job_id: str):
        job = job_or_404(job_id)
        if job.state != "ready":
            raise HTTPException(409, "the video is not analysed yet")
        video = job.analysed.video
        return {**job.angles, "duration_s": job.analysed.duration_s or (job.angles["t"][-1] if job.angles["t"] else 0),
                "fps": video.info.fps, "name": job.name, "joint": job.joint, "side": job.side,
                "warnings": video.warnings, "caption": chart_caption(get_joint(job.joint))}

    async def marks_of(request: Request) -> tuple[dict, object]:
        try:
            body = await request.json()
        except ValueError:
            raise HTTPException(400, "the marks are not JSON") from None
        return body, marks_to_texts(body.get("marks") or {})

    def ready(job: VisitJob) -> AnalysedVisit:
        if job.state != "ready":
            raise RomcamError("the video is not analysed yet")
        return job.analysed

    def number(value, what: str, low: int, high: int) -> int:
        try:
            n = int(value)
        except (TypeError, ValueError):
            raise RomcamError(f"{what} must be a whole number") from None
        if not low <= n <= high:
            raise RomcamError(f"{what} must be from {low} to {high}")
        return n

    def marked_options(job: VisitJob, body: dict, **extra) -> SessionOptions:
        """The session options of a preview or a store: the job's, with the page's trials and set kind."""
        return options(job, trials=number(body.get("trials", config.settings.trials), "trials", 1, 10),
                       set_kind=body.get("set_kind") or "reps", **extra)

    @router.post("/visit/{job_id}/preview")
    async def preview(request: Request, job_id: str):
        job = job_or_404(job_id)
        try:
            body, texts = await marks_of(request)
            analysed = ready(job)
            opts = marked_options(job, body)
            found = await run_in_threadpool(preview_analysed_visit, opts, analysed, texts.phases, texts.neutral)
        except RomcamError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return {**preview_json(found), "phases": texts.phases, "neutral": texts.neutral,
                "command": command_line(job, opts, texts)}

    @router.post("/visit/{job_id}/store")
    async def store(request: Request, job_id: str):
        job = job_or_404(job_id)
        try:
            body, texts = await marks_of(request)
            analysed = ready(job)
            subject = clean_subject_code(str(body.get("subject") or ""))
            opts = marked_options(job, body, subject=subject, new_subject=bool(body.get("new_subject")))
            result = await run_in_threadpool(record_analysed_visit, opts, analysed, texts.phases, texts.neutral,
                                             recorded_at=body.get("recorded_at") or None, say=lambda line: None)
        except RomcamError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        log.info("visit %s: stored as session %s", job.id, result.session_id)
        return {"session_id": result.session_id, "url": f"/session/{result.session_id}",
                "complete": result.finished.complete, "reason": result.finished.reason}

    return router


def chart_caption(joint) -> str:
    """What the timeline's curve is, in words, under it."""
    if joint.kind == "signed":
        what = (f"{joint.title} in each frame as measured, positive towards the person's right and negative "
                f"towards the left")
    else:
        what = f"{joint.title} in each frame as measured (blue the left side, orange the right)"
    return (f"{what}; gaps where a frame could not be used. Circles: the trials before and after, written "
            f"as measured from the neutral (the dashed line); diamonds: the set's reps.")


def preview_json(found) -> dict:
    """A preview's trials, reps, turns and results as the page shows them."""
    def pick(r: dict, *keys) -> dict:
        return {k: (round(r[k], 2) if isinstance(r.get(k), float) else r.get(k)) for k in keys}
    finished = found.result.finished
    return {
        "trials": [pick(r, "phase", "side", "trial_no", "peak_deg", "start_s", "peak_s", "end_s")
                   for r in found.records("trial")],
        "reps": [pick(r, "side", "rep_no", "peak_deg", "start_s", "peak_s", "end_s") for r in found.records("rep")],
        "turns": [pick(r, "turn_no", "direction", "start_s", "end_s", "right_deg", "left_deg")
                  for r in found.records("turn")],
        "neutral_deg": next((r.get("neutral_deg") for r in found.records("neutral")), None),
        "outcomes": [{"side": o.side, "before_deg": o.before_deg, "after_deg": o.after_deg, "delta_deg": o.delta_deg,
                      "verdict": o.verdict, "reps": o.reps_done} for o in finished.outcomes],
        "complete": finished.complete, "reason": finished.reason,
        "warnings": list(found.result.stats.warnings or []),
        "lines": found.lines,
    }


def command_line(job: VisitJob, opts: SessionOptions, texts) -> str:
    """The `romcam visit` command that stores the same session (the subject left to fill in)."""
    parts = ["romcam visit", job.name, f"--joint {opts.joint.name}", f"--side {opts.side}", "--subject CODE",
             f'--phases "{texts.phases}"', f"--trials {opts.trials}"]
    if texts.neutral:
        parts.append(f"--neutral {texts.neutral}")
    if opts.set_kind != "reps":
        parts.append(f"--set {opts.set_kind}")
    return " ".join(parts)

