// Spoken prompts from the browser's own speech synthesis, a tick per rep or turn and a sound at
// the target (Web Audio), all silenced by the mute button (remembered in this browser).
let muted = localStorage.getItem("romcam-muted") === "1";
let audio = null;

export function isMuted() { return muted; }
export function setMuted(value) {
  muted = value; localStorage.setItem("romcam-muted", value ? "1" : "0");
  if (muted && window.speechSynthesis) speechSynthesis.cancel();
}

export function say(text) {
  if (muted || !window.speechSynthesis || !text) return;
  speechSynthesis.cancel();
  speechSynthesis.speak(new SpeechSynthesisUtterance(text));
}

function tone(freq, seconds) {
  if (muted) return;
  try {
    audio = audio || new AudioContext();
    const osc = audio.createOscillator(), gain = audio.createGain();
    osc.frequency.value = freq; gain.gain.value = 0.15;
    osc.connect(gain).connect(audio.destination);
    osc.start(); osc.stop(audio.currentTime + seconds);
  } catch (e) { /* no audio here */ }
}

export const tick = () => tone(880, 0.06);
export const target = () => { tone(660, 0.18); setTimeout(() => tone(990, 0.3), 200); };
