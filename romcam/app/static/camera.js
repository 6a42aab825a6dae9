// The browser's camera and the frames it sends: the page shows its own video at full rate and
// sends each new frame, downscaled to 640 px wide as JPEG, over the WebSocket (a 12-byte header:
// the frame number and its capture time in seconds, then the JPEG). The server analyses only the
// newest frame; the page keeps each frame's capture time to measure capture -> state drawn.
export const SEND_WIDTH = 640;
export const JPEG_QUALITY = 0.8;

export async function openCamera(video) {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 1280 }, height: { ideal: 720 } }, audio: false });
  video.srcObject = stream;
  await video.play();
  fitVideo(video);
  window.addEventListener("resize", () => fitVideo(video));
  return stream;
}

// The video as large as fits beside the side panel (420 px): at most 900 px wide and 72 % of the
// window's height (a portrait camera too); the overlay canvas follows its box.
export function fitVideo(video) {
  const ratio = video.videoWidth / video.videoHeight || 16 / 9;
  const stage = video.closest(".stage");
  const beside = stage ? stage.clientWidth - 440 : 900;
  const width = Math.min(900, window.innerHeight * 0.72 * ratio, Math.max(320, beside));
  video.parentElement.style.width = `${Math.round(width)}px`;
}

export function socketUrl(path) {
  return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
}

export class FrameSender {
  constructor(ws, video) {
    this.ws = ws; this.video = video;
    this.canvas = document.createElement("canvas");
    this.ctx = this.canvas.getContext("2d");
    this.index = 0; this.t0 = null; this.sent = 0; this.skipped = 0;
    this.capturedAt = new Map();      // frame number -> performance.now() when it was captured
    this.stopped = false;
  }
  start() {
    const step = (now, meta) => {
      if (this.stopped) return;
      this.send(now, meta);
      this.video.requestVideoFrameCallback(step);
    };
    this.video.requestVideoFrameCallback(step);
  }
  stop() { this.stopped = true; }
  send(now, meta) {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (this.ws.bufferedAmount > 2e6) { this.skipped++; return; }   // the socket is not draining: skip, do not queue
    const w = this.video.videoWidth, h = this.video.videoHeight;
    if (!w || !h) return;
    const scale = Math.min(1, SEND_WIDTH / w);
    this.canvas.width = Math.round(w * scale); this.canvas.height = Math.round(h * scale);
    this.ctx.drawImage(this.video, 0, 0, this.canvas.width, this.canvas.height);
    const captured = (meta && meta.captureTime) ? meta.captureTime : now;
    if (this.t0 === null) this.t0 = captured;
    const index = this.index++;
    const t = (captured - this.t0) / 1000;
    this.capturedAt.set(index, captured);
    if (this.capturedAt.size > 300) this.capturedAt.delete(this.capturedAt.keys().next().value);
    this.canvas.toBlob(async (blob) => {
      if (!blob || this.ws.readyState !== WebSocket.OPEN) return;
      const head = new DataView(new ArrayBuffer(12));
      head.setUint32(0, index, true); head.setFloat64(4, t, true);
      this.ws.send(new Blob([head.buffer, blob]));
      this.sent++;
    }, "image/jpeg", JPEG_QUALITY);
  }
}

// The capture -> drawn latency of the states the page drew (window.romcamStats, read by romcam bench).
export const stats = { sent: 0, drawn: 0, latencies: [], received: 0 };
window.romcamStats = stats;

export function drawn(sender, index) {
  const at = sender.capturedAt.get(index);
  if (at === undefined) return;
  stats.drawn++;
  stats.latencies.push(performance.now() - at);
  if (stats.latencies.length > 20000) stats.latencies.shift();
}
