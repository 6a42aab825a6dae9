// Drawing over the video: the pose's points and bones (the canvas is mirrored with the video by
// CSS, so only shapes are drawn on it), and the chart of each rep's or turn's peak.
const BONES = [["left_shoulder", "right_shoulder"], ["left_ear", "nose"], ["nose", "right_ear"],
  ["left_shoulder", "left_elbow"], ["left_elbow", "left_wrist"], ["right_shoulder", "right_elbow"],
  ["right_elbow", "right_wrist"], ["left_shoulder", "left_hip"], ["right_shoulder", "right_hip"],
  ["left_hip", "right_hip"], ["left_hip", "left_knee"], ["left_knee", "left_ankle"], ["right_hip", "right_knee"],
  ["right_knee", "right_ankle"], ["left_ankle", "left_heel"], ["left_heel", "left_foot_index"],
  ["right_ankle", "right_heel"], ["right_heel", "right_foot_index"]];

export function fitCanvas(canvas, video) {
  const r = video.getBoundingClientRect();
  if (canvas.width !== Math.round(r.width) || canvas.height !== Math.round(r.height)) {
    canvas.width = Math.round(r.width); canvas.height = Math.round(r.height);
  }
}

export function drawPose(canvas, video, points, good) {
  fitCanvas(canvas, video);
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!points) return;
  const W = canvas.width, H = canvas.height;
  ctx.lineWidth = 4; ctx.strokeStyle = good ? "#3ecf5a" : "#ffb020"; ctx.fillStyle = ctx.strokeStyle;
  for (const [a, b] of BONES) {
    if (points[a] && points[b]) {
      ctx.beginPath(); ctx.moveTo(points[a][0] * W, points[a][1] * H); ctx.lineTo(points[b][0] * W, points[b][1] * H); ctx.stroke();
    }
  }
  for (const p of Object.values(points)) { ctx.beginPath(); ctx.arc(p[0] * W, p[1] * H, 5, 0, 2 * Math.PI); ctx.fill(); }
}

const COLORS = { left: "#2f7de1", right: "#e1582f" };

// Each rep's peak (dots joined) per side against its before level (dashed), growing as the set goes.
export function drawChart(canvas, state) {
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, pad = 34;
  ctx.clearRect(0, 0, W, H);
  ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, W, H);
  const series = {};
  if (state.set_kind === "circles" && state.turns) {
    for (const s of ["right", "left"]) series[s] = state.turns[s] || [];
  } else {
    for (const [s, v] of Object.entries(state.sides || {})) series[s] = v.reps || [];
  }
  const levels = Object.fromEntries(Object.entries(state.sides || {}).map(([s, v]) => [s, v.before_level]));
  const edgeValues = Object.values(state.sides || {}).flatMap((v) => (v.edges || []).map((e) => e.edge));
  const values = [...Object.values(series).flat(), ...Object.values(levels), ...edgeValues].filter((v) => v !== null && v !== undefined);
  const n = Math.max(state.target || 1, ...Object.values(series).map((a) => a.length));
  // the range of what is drawn, with a margin (not from 0: the peaks' differences must show)
  const top = values.length ? Math.max(...values) : 10, bottom = values.length ? Math.min(...values) : 0;
  const margin = Math.max(3, 0.25 * (top - bottom));
  const hi = top + margin, lo = Math.max(0, bottom - margin);
  const x = (i) => pad + (W - pad - 10) * (n <= 1 ? 0.5 : i / (n - 1));
  const y = (v) => H - pad - (H - pad - 10) * (v - lo) / (hi - lo);
  ctx.strokeStyle = "#999"; ctx.lineWidth = 1; ctx.beginPath(); ctx.moveTo(pad, 10); ctx.lineTo(pad, H - pad); ctx.lineTo(W - 10, H - pad); ctx.stroke();
  ctx.fillStyle = "#333"; ctx.font = "12px sans-serif";
  ctx.fillText(`${Math.round(hi)}°`, 2, 16); ctx.fillText(`${Math.round(lo)}°`, 2, H - pad);
  ctx.fillText(state.set_kind === "circles" ? "turn" : "rep", W - 40, H - 12);
  // each side's before level, dashed; labels at the right, the higher one above its line, the lower below
  const shown = Object.entries(levels).filter(([, v]) => v !== null && v !== undefined).sort((a, b) => b[1] - a[1]);
  shown.forEach(([s, level], k) => {
    ctx.setLineDash([6, 4]); ctx.strokeStyle = COLORS[s] || "#555"; ctx.beginPath();
    ctx.moveTo(pad, y(level)); ctx.lineTo(W - 10, y(level)); ctx.stroke(); ctx.setLineDash([]);
    ctx.fillStyle = COLORS[s] || "#555"; ctx.textAlign = "right";
    ctx.fillText(`${s} before ${level.toFixed(1)}°`, W - 12, y(level) + (k === 0 ? -5 : 14));
    ctx.textAlign = "left";
  });
  for (const [s, peaks] of Object.entries(series)) {
    ctx.strokeStyle = ctx.fillStyle = COLORS[s] || "#555"; ctx.lineWidth = 2; ctx.beginPath();
    let started = false;
    peaks.forEach((v, i) => {
      if (v === null) { started = false; return; }
      if (!started) { ctx.moveTo(x(i), y(v)); started = true; } else ctx.lineTo(x(i), y(v));
    });
    ctx.stroke();
    // each peak: filled when it reached the edge of the range (or was not judged), hollow when short
    const edges = (state.sides && state.sides[s] && state.sides[s].edges) || [];
    peaks.forEach((v, i) => {
      if (v === null) return;
      ctx.beginPath(); ctx.arc(x(i), y(v), 4, 0, 2 * Math.PI);
      if (edges[i] && !edges[i].reached) { ctx.fillStyle = "#fff"; ctx.fill(); ctx.stroke(); ctx.fillStyle = COLORS[s] || "#555"; }
      else ctx.fill();
    });
    // the moving edge each rep was judged against, dotted, and the latest rep's grade
    if (edges.length) {
      ctx.setLineDash([2, 3]); ctx.lineWidth = 1; ctx.beginPath();
      edges.forEach((e, i) => { if (i === 0) ctx.moveTo(x(i), y(e.edge)); else ctx.lineTo(x(i), y(e.edge)); });
      ctx.stroke(); ctx.setLineDash([]);
      const last = edges[edges.length - 1];
      ctx.fillText(`grade ${last.grade}`, pad + 6, 28);
    }
  }
}
