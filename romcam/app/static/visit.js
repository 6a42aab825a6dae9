// A recorded visit: the upload with its progress, then the analysis's progress, the angle over
// time, the phases and the neutral marked by dragging on the chart (or typed beside it), the
// trials and reps the server finds for those marks, and storing it as a session.
const MARKS = ["before", "set", "after", "neutral"];
const COLORS = { before: "#2f7de1", set: "#8a5cd6", after: "#e1582f", neutral: "#3a9a5b" };
const LINE = { left: "#2f7de1", right: "#e1582f", signed: "#1b1f24" };
const $ = (id) => document.getElementById(id);

function showError(el, text) { el.textContent = text || ""; el.hidden = !text; }
function setBar(bar, share, text) {
  bar.hidden = false;
  bar.querySelector("div").style.width = `${Math.round(100 * (share || 0))}%`;
  bar.querySelector("span").textContent = text;
}

export function runUpload() {
  const form = $("upload-form"), bar = $("upload-bar"), error = $("upload-error");
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const file = $("video").files[0];
    if (!file) return;
    showError(error, "");
    $("upload").disabled = true;
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/visit/upload");
    // everything about the file in headers: nothing of it in the URL
    xhr.setRequestHeader("X-Romcam-Name", encodeURIComponent(file.name));
    xhr.setRequestHeader("X-Romcam-Modified", String(file.lastModified || ""));
    xhr.setRequestHeader("X-Romcam-Joint", $("joint").value);
    xhr.setRequestHeader("X-Romcam-Side", $("side").value);
    xhr.setRequestHeader("X-Romcam-Keep", $("keep").checked ? "1" : "0");
    if ($("recorded_at").value) xhr.setRequestHeader("X-Romcam-Recorded-At", $("recorded_at").value);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) setBar(bar, e.loaded / e.total, `uploading ${Math.round(100 * e.loaded / e.total)} %`);
    };
    xhr.onload = () => {
      let data = {};
      try { data = JSON.parse(xhr.responseText); } catch (e) { data = { error: xhr.responseText }; }
      if (xhr.status === 200 && data.url) { window.location.assign(data.url); return; }
      showError(error, data.error || data.detail || `the upload failed (${xhr.status})`);
      bar.hidden = true; $("upload").disabled = false;
    };
    xhr.onerror = () => { showError(error, "the upload failed: the app did not answer"); $("upload").disabled = false; };
    xhr.send(file);
  });
}

function chartGeometry(canvas, data) {
  const W = canvas.width, H = canvas.height, left = 48, right = 12, top = 26, bottom = 30;
  const values = Object.values(data.channels).flat().filter((v) => v !== null);
  const hi0 = values.length ? Math.max(...values) : 10, lo0 = values.length ? Math.min(...values) : 0;
  const margin = Math.max(3, 0.1 * (hi0 - lo0));
  const hi = hi0 + margin, lo = lo0 - margin, dur = data.duration_s || 1;
  return {
    W, H, left, right, top, bottom, hi, lo, dur,
    x: (t) => left + (W - left - right) * t / dur,
    t: (x) => Math.min(dur, Math.max(0, (x - left) / (W - left - right) * dur)),
    y: (v) => H - bottom - (H - top - bottom) * (v - lo) / (hi - lo),
  };
}

function valueAt(data, channel, t) {
  const ts = data.t; let lo = 0, hi = ts.length - 1;
  while (hi - lo > 1) { const mid = (lo + hi) >> 1; if (ts[mid] <= t) lo = mid; else hi = mid; }
  const k = Math.abs(ts[hi] - t) < Math.abs(ts[lo] - t) ? hi : lo;
  return data.channels[channel][k];
}

function drawTimeline(canvas, data, marks, found) {
  const g = chartGeometry(canvas, data), ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, g.W, g.H); ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, g.W, g.H);
  // the marks: each phase a band, the neutral a band with solid edges
  for (const m of MARKS) {
    const r = marks[m]; if (!r) continue;
    const x0 = g.x(r[0]), x1 = g.x(r[1]);
    ctx.fillStyle = COLORS[m] + (m === "neutral" ? "40" : "22"); ctx.fillRect(x0, g.top, x1 - x0, g.H - g.top - g.bottom);
    ctx.strokeStyle = COLORS[m]; ctx.lineWidth = 2;
    for (const x of [x0, x1]) { ctx.beginPath(); ctx.moveTo(x, g.top); ctx.lineTo(x, g.H - g.bottom); ctx.stroke(); }
    ctx.fillStyle = COLORS[m]; ctx.font = "bold 14px sans-serif";
    ctx.fillText(m, x0 + 4, m === "neutral" ? g.H - g.bottom - 6 : g.top - 8);
  }
  // axes and the time ticks
  ctx.strokeStyle = "#999"; ctx.lineWidth = 1; ctx.beginPath();
  ctx.moveTo(g.left, g.top); ctx.lineTo(g.left, g.H - g.bottom); ctx.lineTo(g.W - g.right, g.H - g.bottom); ctx.stroke();
  ctx.fillStyle = "#333"; ctx.font = "12px sans-serif";
  const every = g.hi - g.lo > 80 ? 20 : 10;             // the degrees, a faint line every 10 (or 20)
  for (let v = Math.ceil(g.lo / every) * every; v <= g.hi; v += every) {
    ctx.strokeStyle = v === 0 ? "#888" : "#e3e6ea"; ctx.beginPath(); ctx.moveTo(g.left, g.y(v)); ctx.lineTo(g.W - g.right, g.y(v)); ctx.stroke();
    ctx.fillText(`${v}°`, 6, g.y(v) + 4);
  }
  ctx.strokeStyle = "#999";
  const step = [1, 2, 5, 10, 15, 30, 60, 120, 300].find((s) => g.dur / s <= 14) || 600;
  for (let t = 0; t <= g.dur; t += step) {
    const x = g.x(t); ctx.fillText(`${Math.floor(t / 60)}:${String(Math.round(t % 60)).padStart(2, "0")}`, x - 12, g.H - 10);
    ctx.beginPath(); ctx.moveTo(x, g.H - g.bottom); ctx.lineTo(x, g.H - g.bottom + 4); ctx.stroke();
  }
  // the neutral found (its raw level), dashed
  if (found && found.neutral_deg !== null && found.neutral_deg !== undefined) {
    ctx.setLineDash([6, 5]); ctx.strokeStyle = COLORS.neutral; ctx.beginPath();
    ctx.moveTo(g.left, g.y(found.neutral_deg)); ctx.lineTo(g.W - g.right, g.y(found.neutral_deg)); ctx.stroke(); ctx.setLineDash([]);
  }
  // the angle of every frame, per channel (gaps where a frame was not usable)
  for (const [c, vs] of Object.entries(data.channels)) {
    ctx.strokeStyle = LINE[c] || "#1b1f24"; ctx.lineWidth = 1.5; ctx.beginPath();
    let pen = false;
    vs.forEach((v, k) => {
      if (v === null) { pen = false; return; }
      const x = g.x(data.t[k]), y = g.y(v);
      if (pen) ctx.lineTo(x, y); else ctx.moveTo(x, y);
      pen = true;
    });
    ctx.stroke();
  }
  // the trials (circles, their peak written) and the set's reps (diamonds) found for the marks
  if (!found) return;
  const channel = (side) => (data.channels[side] ? side : Object.keys(data.channels)[0]);
  for (const tr of found.trials) {
    const v = valueAt(data, channel(tr.side), tr.peak_s); if (v === null) continue;
    const x = g.x(tr.peak_s), y = g.y(v);
    ctx.fillStyle = COLORS[tr.phase]; ctx.beginPath(); ctx.arc(x, y, 6, 0, 2 * Math.PI); ctx.fill();
    ctx.font = "bold 12px sans-serif"; ctx.fillText(`${oneDecimal(tr.peak_deg).toFixed(1)}°`, x - 14, y - 10);
  }
  for (const rep of found.reps) {
    const v = valueAt(data, channel(rep.side), rep.peak_s); if (v === null) continue;
    const x = g.x(rep.peak_s), y = g.y(v);
    ctx.fillStyle = COLORS.set; ctx.beginPath();
    ctx.moveTo(x, y - 7); ctx.lineTo(x + 6, y); ctx.lineTo(x, y + 7); ctx.lineTo(x - 6, y); ctx.closePath(); ctx.fill();
  }
}

function cell(row, text) { const td = document.createElement("td"); td.textContent = text; row.appendChild(td); }
function fill(tbody, rows) {
  tbody.replaceChildren();
  for (const values of rows) { const tr = document.createElement("tr"); values.forEach((v) => cell(tr, v)); tbody.appendChild(tr); }
}
const oneDecimal = (v) => Math.round(v * 10) / 10 + 0;   // to 0.1, never "-0.0"
const deg = (v) => (v === null || v === undefined ? "–" : `${oneDecimal(v).toFixed(1)}°`);
const clock = (t) => `${Math.floor(t / 60)}:${(t % 60).toFixed(1).padStart(4, "0")}`;

export function runVisit({ job }) {
  const canvas = $("chart");
  const state = { data: null, marks: { before: null, set: null, after: null, neutral: null }, found: null, error: null,
                  previews: 0, pending: null };
  window.romcamVisit = state;                     // read by the browser tests
  state.xOf = (t) => {                            // where time t is on the chart, in CSS pixels from its left
    const r = canvas.getBoundingClientRect();
    return chartGeometry(canvas, state.data).x(t) * r.width / canvas.width;
  };

  function poll() {
    fetch(`/visit/${job}/status`).then((r) => r.json()).then((s) => {
      if (s.state === "failed") { showError($("analysis-error"), s.error); $("analysis-text").textContent = "Not analysed."; return; }
      if (s.state === "ready") { $("analysing").hidden = true; load(); return; }
      const text = s.state === "waiting" ? "waiting for another video's analysis to finish"
        : !s.done ? "starting: opening the video and loading the models"
        : s.total ? `${s.done} of ${s.total} frames (${Math.round(100 * s.share)} %)` : `${s.done} frames`;
      setBar($("analysis-bar"), s.share || 0, text);
      setTimeout(poll, 500);
    }).catch(() => setTimeout(poll, 1500));
  }

  function load() {
    fetch(`/visit/${job}/angles`).then((r) => r.json()).then((data) => {
      state.data = data;
      $("timeline").hidden = false;
      $("video-line").textContent = `${data.name}: ${clock(data.duration_s)}, ${data.t.length} frames at ${Math.round(data.fps)} fps`
        + (data.warnings.length ? `; ${data.warnings.join("; ")}` : "");
      $("chart-caption").textContent = data.caption;
      for (const input of document.querySelectorAll("#marks input")) input.max = data.duration_s.toFixed(1);
      redraw();
    });
  }

  function redraw() { if (state.data) drawTimeline(canvas, state.data, state.marks, state.found); }

  function showMarks() {
    for (const m of MARKS) {
      const r = state.marks[m];
      $(`${m}-start`).value = r ? r[0].toFixed(1) : "";
      $(`${m}-end`).value = r ? r[1].toFixed(1) : "";
    }
  }

  const tenth = (t) => Math.round(t * 10) / 10;
  function changed() { redraw(); clearTimeout(state.pending); state.pending = setTimeout(preview, 350); }

  function body() {
    const kind = $("set_kind") ? $("set_kind").value : "reps";
    return { marks: state.marks, trials: Number($("trials").value), set_kind: kind };
  }

  function preview() {
    if (!state.marks.before || !state.marks.after) { $("found").hidden = true; return; }
    const asked = JSON.stringify(body());
    fetch(`/visit/${job}/preview`, { method: "POST", headers: { "content-type": "application/json" }, body: asked })
      .then((r) => r.json()).then((p) => {
        if (asked !== JSON.stringify(body())) return;          // the marks moved meanwhile: a newer preview comes
        state.previews += 1;
        if (p.error) { state.error = p.error; state.found = null; showError($("preview-error"), p.error); $("found").hidden = true; redraw(); return; }
        state.error = null; state.found = p; showError($("preview-error"), "");
        $("found").hidden = false;
        fill(document.querySelector("#outcomes tbody"), p.outcomes.map((o) => [o.side, deg(o.before_deg), deg(o.after_deg),
          o.delta_deg === null ? "–" : `${oneDecimal(o.delta_deg) >= 0 ? "+" : ""}${oneDecimal(o.delta_deg).toFixed(1)}°`, o.verdict, `${o.reps} ${o.reps === 1 ? "rep" : "reps"}`]));
        fill(document.querySelector("#trials-found tbody"), p.trials.map((t) => [`${t.phase} ${t.trial_no}`, t.side, deg(t.peak_deg), clock(t.peak_s)]));
        fill(document.querySelector("#reps-found tbody"), p.reps.map((r) => [r.rep_no, r.side, deg(r.peak_deg), clock(r.peak_s)]));
        const warnings = $("warnings"); warnings.replaceChildren();
        for (const w of [...p.warnings, ...(p.complete ? [] : [`incomplete: ${p.reason}`])]) {
          const li = document.createElement("li"); li.textContent = w; warnings.appendChild(li);
        }
        $("command").textContent = p.command;
        redraw();
      });
  }

  // typing a mark
  for (const input of document.querySelectorAll("#marks input")) {
    input.addEventListener("change", () => {
      const m = input.dataset.mark, a = $(`${m}-start`).value, b = $(`${m}-end`).value;
      state.marks[m] = a !== "" && b !== "" ? [tenth(Number(a)), tenth(Number(b))] : null;
      changed();
    });
  }
  for (const button of document.querySelectorAll("[data-clear]")) {
    button.addEventListener("click", () => { state.marks[button.dataset.clear] = null; showMarks(); changed(); });
  }
  $("trials").addEventListener("change", changed);
  if ($("set_kind")) $("set_kind").addEventListener("change", changed);

  // dragging a mark: near an edge moves that edge, elsewhere draws the chosen mark anew
  let drag = null;
  const timeAt = (ev) => {
    const r = canvas.getBoundingClientRect(), g = chartGeometry(canvas, state.data);
    return g.t((ev.clientX - r.left) * canvas.width / r.width);
  };
  const tool = () => document.querySelector("input[name=tool]:checked").value;
  canvas.addEventListener("pointerdown", (ev) => {
    if (!state.data) return;
    const t = timeAt(ev), r = canvas.getBoundingClientRect();
    const near = 8 * state.data.duration_s / r.width;        // 8 screen pixels, in seconds
    const order = [tool(), ...MARKS.filter((m) => m !== tool())];
    drag = null;
    for (const m of order) {
      const span = state.marks[m]; if (!span) continue;
      const end = [0, 1].find((k) => Math.abs(span[k] - t) <= near);
      if (end !== undefined) { drag = { mark: m, end, before: span.slice() }; break; }
    }
    if (!drag) drag = { mark: tool(), anchor: t, before: state.marks[tool()] };
    canvas.setPointerCapture(ev.pointerId);
  });
  canvas.addEventListener("pointermove", (ev) => {
    if (!drag) return;
    const t = tenth(timeAt(ev));
    if (drag.anchor !== undefined) {
      state.marks[drag.mark] = [Math.min(drag.anchor, t), Math.max(drag.anchor, t)].map(tenth);
    } else {
      const span = state.marks[drag.mark].slice(); span[drag.end] = t;
      state.marks[drag.mark] = [Math.min(...span), Math.max(...span)];
    }
    showMarks(); redraw();
  });
  canvas.addEventListener("pointerup", () => {
    if (!drag) return;
    const span = state.marks[drag.mark];
    if (!span || span[1] - span[0] < 0.2) state.marks[drag.mark] = drag.before;   // a click, not a drag
    drag = null; showMarks(); changed();
  });

  $("store-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const b = { ...body(), subject: $("subject").value, new_subject: $("new_subject").checked,
                recorded_at: $("store_recorded_at").value || null };
    $("store").disabled = true;
    fetch(`/visit/${job}/store`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(b) })
      .then((r) => r.json()).then((p) => {
        if (p.url) { window.location.assign(p.url); return; }
        showError($("preview-error"), p.error || "not stored"); $("store").disabled = false;
      });
  });

  poll();
}
