"""The app's routes (FastAPI) and serving them (uvicorn).

Pages: ``/`` home, ``/new`` the new-session form, ``/check/{plan}`` the camera check,
``/live/{plan}`` the live session, ``/session/{id}`` the result (with the report and exports
under it), ``/subject/{id}`` a subject's history. Sockets: ``/ws/check/{plan}`` and
``/ws/live/{plan}`` (binary frames in, JSON states out; ``{"cmd": "next"|"redo"|"quit"}`` in).
``POST /access/renew`` replaces the access token (the home page's "new link" button); the home
page shows the link as a QR code when the app listens for other computers.
Everything sits behind :class:`romcam.app.security.AccessMiddleware`. No URL holds a subject's
code, and the access log is off (uvicorn's would print the token of the first request); what the
app logs names sessions by id.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
import threading
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs

from fastapi import FastAPI, HTTPException, Request, WebSocket
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect

from romcam.app.frames import FrameWorker, Incoming
from romcam.app.pages import joint_title, result_lines, sparkline, subject_ids, subject_lines
from romcam.app.security import Access, AccessMiddleware, qr_svg
from romcam.app.sessions import LOST, STOPPED, CheckHandler, LiveHandler, Plan, Plans
from romcam.app.visits import visits_router
from romcam.config import DEFAULTS, Settings, limits
from romcam.errors import RomcamError
from romcam.measure.joints import JOINTS, get_joint
from romcam.session.common import SessionOptions, session_sides, set_config_for
from romcam.storage.store import Store, clean_subject_code

HERE = Path(__file__).parent
log = logging.getLogger("romcam.app")


@dataclass
class AppConfig:
    db: str | Path | None = None
    settings: Settings = DEFAULTS
    access: Access = field(default_factory=Access)
    model_dir: str | None = None



def deg_text(value: float | None) -> str:
    """An angle as the pages show it: one decimal and a degree sign ("–" when there is none)."""
    return "–" if value is None else f"{value:z.1f}°"


def delta_text(value: float | None) -> str:
    """A change as the pages show it, signed ("+0.0°" for one that rounds to zero, never "-0.0°")."""
    return "–" if value is None else f"{value:+z.1f}°"

def create_app(config: AppConfig) -> FastAPI:
    """The app for one start: its token, its database, its plans and running sockets."""
    plans = Plans()
    workers: set[FrameWorker] = set()
    models_cache: dict[bool, object] = {}
    models_lock = threading.Lock()

    def models_for(joint):
        from romcam.capture.pipeline import ModelChoice

        with models_lock:
            if joint.needs_face not in models_cache:
                models_cache[joint.needs_face] = ModelChoice.resolve(
                    config.settings.model, joint.needs_face, config.model_dir or config.settings.model_dir,
                    progress=False)
            return models_cache[joint.needs_face]

    @asynccontextmanager
    async def lifespan(app):
        yield
        for worker in list(workers):         # every running session is kept, as incomplete
            await run_in_threadpool(worker.close, STOPPED)

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.plans = plans
    app.state.ended = []      # per ended socket: its frame counts and the browser's latencies (romcam bench)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["deg"] = deg_text
    templates.env.filters["sdeg"] = delta_text
    templates.env.globals["joint_title"] = joint_title
    app.add_middleware(AccessMiddleware, access=config.access)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(visits_router(config))          # /visit: a recorded visit (romcam.app.visits)

    def store(readonly: bool = True) -> Store:
        return Store.open(config.db, readonly=readonly) if readonly else Store.open(config.db)

    def page(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
        return templates.TemplateResponse(request, name, context, status_code=status)

    def readable_store():
        """The store for reading, or None when there is no database yet (a first start)."""
        try:
            return store()
        except RomcamError:
            return None

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request):
        s = readable_store()
        lines = []
        if s is not None:
            with s:
                lines = subject_lines(s)
        response = page(request, "home.j2", lines=lines, sparkline=sparkline, **access_context())
        response.headers["cache-control"] = "no-store"
        return response

    # --- the access link: its QR code on the home page, and a new link that revokes the old one ---
    def access_context() -> dict:
        link = config.access.link()
        return {"access_link": link, "access_qr": qr_svg(link) if link else None}

    @app.post("/access/renew")
    def renew_access():
        """A new access token: this browser gets its cookie; every other link and cookie is refused."""
        config.access.renew()
        log.info("a new access link was made: every earlier link and cookie is refused from now on")
        return RedirectResponse("/", status_code=303, headers={"set-cookie": config.access.cookie_header().decode(),
                                                               "cache-control": "no-store"})

    def form_defaults() -> dict:
        st = config.settings
        return {"joint": "neck_lateral_flexion", "side": "both", "set_kind": "reps", "target_reps": st.target_reps,
                "target_turns": st.target_turns, "trials": st.trials, "subject": "", "new_subject": False}

    def known_subjects() -> list[str]:
        s = readable_store()
        if s is None:
            return []
        with s:
            return s.subjects()

    def new_page(request, values, error=None, status=200):
        return page(request, "new.j2", status, values=values, error=error, joints=list(JOINTS.values()),
                    subjects=known_subjects(), limits={k: limits(k) for k in ("trials", "target_reps", "target_turns")})

    @app.get("/new", response_class=HTMLResponse)
    def new(request: Request):
        return new_page(request, form_defaults())

    @app.post("/new")
    async def new_post(request: Request):
        form = {k: v[-1] for k, v in parse_qs((await request.body()).decode("utf-8")).items()}
        values = {**form_defaults(), **form, "new_subject": form.get("new_subject") == "on"}
        try:
            plan = await run_in_threadpool(make_plan, values)
        except (RomcamError, ValueError) as exc:
            return new_page(request, values, error=str(exc), status=400)
        return RedirectResponse(f"/check/{plan.id}", status_code=303)

    def make_plan(values: dict) -> Plan:
        """The form checked as the CLI checks its options; the subject created (or found) by the
        CLI's rule (a code differing only by case from a known one needs 'another person')."""
        joint = get_joint(values["joint"])
        side = values["side"] if joint.view == "front" or values["side"] != "both" else "right"
        session_sides(joint, side)
        set_config_for(joint, values["set_kind"], 1)

        def number(key):
            low, high = limits(key)
            n = int(values[key])
            if not low <= n <= high:
                raise ValueError(f"{key.replace('_', ' ')} must be from {low} to {high}")
            return n
        code = clean_subject_code(values["subject"])
        with store(readonly=False) as s:
            s.subject_id(code, create=True, new_subject=values["new_subject"])
        st = config.settings
        opts = SessionOptions(joint=joint, side=side, subject=code, source="browser", target_reps=number("target_reps"),
                              trials=number("trials"), db=config.db, window=False, model=st.model,
                              model_dir=config.model_dir or st.model_dir, set_kind=values["set_kind"],
                              target_turns=number("target_turns"), quiet=True)
        return plans.add(Plan(opts))

    @app.post("/demo")
    async def demo():
        """A SYNTHETIC demo session (as `romcam demo`: no camera, no model) stored for subject DEMO."""
        await run_in_threadpool(store_demo)
        return RedirectResponse("/", status_code=303)

    def store_demo() -> None:
        from romcam.capture.synthetic import demo_segments, neck_landmarks, script_angles
        from romcam.session.runner import run_landmark_session

        t, angle, _ = script_angles(demo_segments("right", reps=40))
        with store(readonly=False) as s:
            result = run_landmark_session(s, "DEMO", get_joint("neck_lateral_flexion"), "right",
                                          neck_landmarks(t, angle, neutral_offset_deg=2.0, noise_deg=0.15),
                                          say=lambda line: None)
        log.info("session %s: a SYNTHETIC demo session stored", result.session_id)

    def plan_or_404(plan_id: str) -> Plan:
        plan = plans.get(plan_id)
        if plan is None:
            raise HTTPException(404, "no such session plan in this start of the app: start a new session")
        return plan

    def plan_context(plan: Plan) -> dict:
        o = plan.opts
        return {"plan": plan, "joint": o.joint, "sides": plan.sides, "set_kind": o.set_kind,
                "target": o.target_turns if o.set_kind == "circles" else o.target_reps, "trials": o.trials}

    @app.get("/check/{plan_id}", response_class=HTMLResponse)
    def check(request: Request, plan_id: str):
        plan = plan_or_404(plan_id)
        return page(request, "check.j2", **plan_context(plan))

    @app.get("/live/{plan_id}", response_class=HTMLResponse)
    def live(request: Request, plan_id: str):
        plan = plan_or_404(plan_id)
        if plan.session_id is not None:
            return RedirectResponse(f"/session/{plan.session_id}", status_code=303)
        return page(request, "live.j2", **plan_context(plan))

    async def run_socket(ws: WebSocket, handler) -> None:
        await ws.accept()
        loop = asyncio.get_running_loop()

        def send(message: dict) -> None:
            asyncio.run_coroutine_threadsafe(ws.send_text(json.dumps(message)), loop).result(timeout=5)

        worker = FrameWorker(handler, send)
        latencies: list[float] = []
        workers.add(worker)
        worker.start()
        reason = LOST
        try:
            while not worker.finished:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                if message.get("bytes"):
                    worker.put(Incoming.parse(message["bytes"]))
                elif message.get("text"):
                    data = json.loads(message["text"])
                    if data.get("cmd") == "latency":       # what the page measured: capture -> drawn
                        latencies.extend(float(v) for v in data.get("ms", [])[:1000])
                    elif isinstance(data.get("cmd"), str):
                        worker.command(data["cmd"])
        except WebSocketDisconnect:
            pass
        finally:
            await run_in_threadpool(worker.close, reason)
            workers.discard(worker)
            app.state.ended.append({"frames": worker.counts(), "browser_latency_ms": latencies,
                                    "session_id": getattr(handler, "plan", None) and handler.plan.session_id})

    @app.websocket("/ws/check/{plan_id}")
    async def ws_check(ws: WebSocket, plan_id: str):
        plan = plans.get(plan_id)
        if plan is None:
            await ws.close(code=1008)
            return
        await run_socket(ws, CheckHandler(plan, models_for(plan.opts.joint)))

    @app.websocket("/ws/live/{plan_id}")
    async def ws_live(ws: WebSocket, plan_id: str):
        plan = plans.get(plan_id)
        if plan is None or plan.session_id is not None:
            await ws.close(code=1008)
            return
        await run_socket(ws, LiveHandler(plan, models_for(plan.opts.joint), config.db))

    def detail_or_404(session_id: int):
        s = readable_store()
        if s is None:
            raise HTTPException(404, "there is no database yet")
        with s:
            try:
                return s.session(session_id), {c: i for i, c in subject_ids(s).items()}
            except RomcamError:
                raise HTTPException(404, "no such session") from None

    @app.get("/session/{session_id}", response_class=HTMLResponse)
    def result(request: Request, session_id: int):
        detail, ids = detail_or_404(session_id)
        return page(request, "result.j2", detail=detail, row=detail.row, lines=result_lines(detail),
                    subject_id=ids.get(detail.row.subject))

    @app.get("/session/{session_id}/report.{kind}")
    def report(session_id: int, kind: str):
        if kind not in ("html", "pdf"):
            raise HTTPException(404)
        from romcam.report.session_page import session_report
        from romcam.report.write import write_report

        detail_or_404(session_id)
        folder = Path(tempfile.mkdtemp(prefix="romcam-app-"))
        with store() as s:
            paths = write_report(session_report(s, session_id), folder / f"session-{session_id}.html", pdf=kind == "pdf")
        path = paths[-1]
        media = "application/pdf" if kind == "pdf" else "text/html; charset=utf-8"
        return FileResponse(path, media_type=media, filename=path.name if kind == "pdf" else None)

    @app.get("/session/{session_id}/export.csv")
    def export_csv(session_id: int):
        from romcam.storage.export import export_tables, neutralised

        detail, _ = detail_or_404(session_id)
        with store() as s:
            sessions, _ = export_tables(s, subject=detail.row.subject)
        return Response(neutralised(sessions).to_csv(index=False), media_type="text/csv; charset=utf-8",
                        headers={"content-disposition": f'attachment; filename="romcam-session-{session_id}-subject.csv"'})

    @app.get("/session/{session_id}/fhir.json")
    def export_fhir(session_id: int):
        from romcam.storage.fhir import bundle_text, fhir_bundle, validate_bundle

        detail, _ = detail_or_404(session_id)
        with store() as s:
            bundle = fhir_bundle(s, subject=detail.row.subject)
        validate_bundle(bundle)
        return Response(bundle_text(bundle), media_type="application/fhir+json",
                        headers={"content-disposition": f'attachment; filename="romcam-session-{session_id}-fhir.json"'})

    @app.get("/session/{session_id}/angles.mot")
    def export_mot(session_id: int):
        from romcam.storage.export import session_motion
        from romcam.storage.mot import mot_text

        detail, _ = detail_or_404(session_id)
        with store() as s:
            text = mot_text(session_motion(s, detail.row))
        return Response(text, media_type="text/plain; charset=utf-8",
                        headers={"content-disposition": f'attachment; filename="romcam-session-{session_id}.mot"'})

    @app.get("/subject/{subject_id}", response_class=HTMLResponse)
    def subject(request: Request, subject_id: int):
        from romcam.report.html import data_uri
        from romcam.report.subject_page import subject_report
        from romcam.report.write import draw_figures

        s = readable_store()
        if s is None:
            raise HTTPException(404, "there is no database yet")
        with s:
            code = subject_ids(s).get(subject_id)
            if code is None:
                raise HTTPException(404, "no such subject")
            rows = s.sessions(subject=code)
            figures = []
            if rows:
                report = subject_report(s, code)
                images = draw_figures(report)
                figures = [(f.caption if hasattr(f, "caption") else "", data_uri(images[f.key]))
                           for sec in report.sections for f in sec.figures if f.key in images]
        return page(request, "subject.j2", code=code, rows=list(reversed(rows)), figures=figures)

    return app


def server(app: FastAPI, host: str = "127.0.0.1", port: int = 8765, tls_cert: str | None = None,
           tls_key: str | None = None, on_ready=None):
    """A uvicorn server for ``app`` (one process, the access log off); ``on_ready(port)`` is called
    once it listens. ``.run()`` serves until Ctrl-C (or ``.should_exit``)."""
    import uvicorn

    uconfig = uvicorn.Config(app, host=host, port=port, access_log=False, log_level="warning",
                             ssl_certfile=tls_cert, ssl_keyfile=tls_key, ws_max_size=4 * 1024 * 1024,
                             timeout_graceful_shutdown=10)
    srv = uvicorn.Server(uconfig)
    if on_ready is not None:
        original = srv.startup

        async def startup(sockets=None):
            await original(sockets=sockets)
            if srv.started:
                bound = srv.servers[0].sockets[0].getsockname()[1] if srv.servers else port
                on_ready(bound)
        srv.startup = startup
    return srv


def serve(config: AppConfig, host: str = "127.0.0.1", port: int = 8765, tls_cert: str | None = None,
          tls_key: str | None = None, on_ready=None) -> None:
    """Serve the app until Ctrl-C."""
    server(create_app(config), host, port, tls_cert, tls_key, on_ready).run()
