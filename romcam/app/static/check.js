// The camera check page: frames to /ws/check/<plan>, the problems in plain words back; the
// start button is enabled once every check has held.
import { FrameSender, openCamera, socketUrl, drawn } from "/static/camera.js";
import { drawPose } from "/static/draw.js";
import { say } from "/static/speech.js";

// The camera's tilt as the check knows it (or why it is not judged).
function levelText(m) {
  if (m.camera_roll === null || m.camera_roll === undefined) {
    return "Camera level: not judged (too few straight lines in the room to read it from).";
  }
  const where = m.level_source === "camera profile" ? "the camera profile" : "the room's straight lines";
  return `Camera tilt: ${Math.abs(m.camera_roll).toFixed(1)}° (from ${where}).`;
}

export async function runCheck({ plan }) {
  const video = document.getElementById("video"), overlay = document.getElementById("overlay");
  const status = document.getElementById("status"), list = document.getElementById("problems");
  const start = document.getElementById("start");
  try { await openCamera(video); } catch (e) {
    status.textContent = `The camera could not be opened (${e.name}): allow the camera for this page, or close the other program using it.`;
    return;
  }
  const ws = new WebSocket(socketUrl(`/ws/check/${plan}`));
  const sender = new FrameSender(ws, video);
  let lastSpoken = "";
  ws.onopen = () => { status.textContent = "Checking the view…"; sender.start(); };
  ws.onclose = () => { sender.stop(); };
  ws.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    if (m.kind !== "check") return;
    requestAnimationFrame(() => {
      drawPose(overlay, video, m.points, m.problems.length === 0);
      list.replaceChildren(...m.problems.map((p) => { const li = document.createElement("li"); li.textContent = p; return li; }));
      const banner = document.getElementById("banner");
      banner.textContent = m.ready ? "Ready" : (m.problems[0] || "Hold still…");
      banner.className = "banner " + (m.ready ? "ok" : "bad");
      status.textContent = m.ready ? "Ready." : (m.problems.length ? "Not ready yet:" : "Hold still…");
      status.className = "status " + (m.ready ? "ok" : "bad");
      start.classList.toggle("disabled", !m.ready);
      start.setAttribute("aria-disabled", m.ready ? "false" : "true");
      document.body.dataset.ready = m.ready ? "1" : "0";
      document.getElementById("level").textContent = levelText(m);
      if (m.problems[0] && m.problems[0] !== lastSpoken) { say(m.problems[0]); lastSpoken = m.problems[0]; }
      drawn(sender, m.index);
    });
  };
  start.addEventListener("click", (ev) => { if (start.classList.contains("disabled")) ev.preventDefault(); });
}
