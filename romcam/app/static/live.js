// The live session page: frames to /ws/live/<plan>, the session's state back, drawn over the
// video; keys and buttons for next, redo and stop; spoken prompts; the result page at the end.
import { FrameSender, openCamera, socketUrl, drawn, stats } from "/static/camera.js";
import { drawChart, drawPose } from "/static/draw.js";
import { isMuted, say, setMuted, target as targetSound, tick } from "/static/speech.js";

const $ = (id) => document.getElementById(id);

export async function runLive({ plan }) {
  const video = $("video"), overlay = $("overlay");
  // the socket first: the server loads its models, then says "opened", and only then is the
  // camera opened and the first frame sent (no frame is measured half-ready)
  const ws = new WebSocket(socketUrl(`/ws/live/${plan}`));
  const sender = new FrameSender(ws, video);
  let last = null, lastPrompt = "", lastCount = 0;
  const send = (cmd) => { if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ cmd })); };
  $("prompt").textContent = "Loading the models…";
  async function start() {
    try { await openCamera(video); } catch (e) {
      $("prompt").textContent = `The camera could not be opened (${e.name}): allow the camera for this page.`;
      ws.close();
      return;
    }
    sender.start();
    // what this page measured (capture -> state drawn) goes to the server once a second
    let reported = 0;
    setInterval(() => {
      const fresh = stats.latencies.slice(reported);
      reported = stats.latencies.length;
      if (fresh.length && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ cmd: "latency", ms: fresh }));
    }, 1000);
  }
  ws.onclose = () => {
    sender.stop();
    if (!document.body.dataset.sessionId) $("prompt").textContent = "The connection to romcam was lost; what was counted is kept.";
  };
  ws.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    if (m.frames) $("frames").textContent = `frames: ${m.frames.analysed} analysed, ${m.frames.dropped} dropped`;
    if (m.kind === "opened") { start(); return; }
    if (m.kind === "closed") {
      sender.stop();
      stats.sent = sender.sent; stats.skipped = sender.skipped;
      sessionStorage.setItem("romcam-last-live", JSON.stringify(stats));   // read by romcam bench and the tests
      if (m.session_id) { document.body.dataset.sessionId = m.session_id; location.href = `/session/${m.session_id}`; }
      else $("prompt").textContent = m.reason;
      return;
    }
    if (m.error) { $("prompt").textContent = `romcam failed: ${m.error}`; return; }
    if (m.kind !== "state") return;
    requestAnimationFrame(() => { show(m); if (m.index !== null && m.index !== undefined) drawn(sender, m.index); });
  };
  function show(m) {
    last = m;
    document.body.dataset.phase = m.phase;
    if (m.session_id) document.body.dataset.live = m.session_id;
    for (const el of $("phases").children) el.classList.toggle("now", el.dataset.phase === m.phase);
    $("prompt").textContent = m.prompt;
    $("trial").textContent = m.trial ? `trial ${m.trial.n} of ${m.trial.of}` : (m.phase === "set" ? "set" : "");
    $("angle").textContent = m.angle === null ? "–" : `${(Math.round(m.angle * 10) / 10 + 0).toFixed(1)}°`;  // never "-0.0"
    $("reason").textContent = m.angle === null ? (m.reason || "") : "";
    $("count").textContent = m.count; $("target").textContent = m.target;
    $("edge").textContent = m.edge_text || "";
    drawPose(overlay, video, m.points, m.angle !== null);
    drawChart($("chart"), m);
    if (m.prompt !== lastPrompt) { say(m.prompt); lastPrompt = m.prompt; }
    if (m.phase === "set" && m.count > lastCount) { (m.count >= m.target ? targetSound : tick)(); }
    lastCount = m.phase === "set" ? m.count : 0;
  }
  $("next").onclick = () => send("next");
  $("redo").onclick = () => send("redo");
  $("stop").onclick = () => send("quit");
  const mute = $("mute");
  const showMute = () => { mute.setAttribute("aria-pressed", isMuted() ? "true" : "false"); mute.firstChild.textContent = isMuted() ? "Unmute " : "Mute "; };
  mute.onclick = () => { setMuted(!isMuted()); showMute(); };
  showMute();
  document.addEventListener("keydown", (ev) => {
    if (ev.target.tagName === "INPUT") return;
    const k = ev.key.toLowerCase();
    if (k === "n" || k === " ") { send("next"); ev.preventDefault(); }
    else if (k === "r") send("redo");
    else if (k === "q" || k === "escape") send("quit");
    else if (k === "m") mute.click();
  });
  window.romcamLast = () => last;
}
