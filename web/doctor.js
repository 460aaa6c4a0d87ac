// Doctor page: the masked avatar and the patient's voice, face-present indicator,
// live numbers, the clinical view fed with per-frame MaskParams, and the doctor's
// own camera and microphone going to the patient.
import { RelayClient, linkFromLocation, countVideoFrames } from './relay-client.js';
import { createClinicalView } from './clinical-view.js';

const $ = (id) => document.getElementById(id);
const ui = {
  state: $('state'), join: $('join'), leave: $('leave'), message: $('message'),
  patient: $('patient'), patientNote: $('patient-note'), face: $('face'), self: $('self'),
  fps: $('n-fps'), shownFps: $('n-shown-fps'), proc: $('n-proc'), delay: $('n-delay'),
  frames: $('n-frames'), dropped: $('n-dropped'), noface: $('n-noface'),
};
const view = createClinicalView($('clinical'));
// Exposed for the browser tests and for debugging from the console.
const page = {
  client: null, frames: { frames: 0 }, params: 0, lastParams: null, lastStats: null,
  delayEstimateMs: null, errors: [],
};
window.relayPage = page;
countVideoFrames(ui.patient, page.frames);

let local = null;
let statsTimer = null;

const fmt = (v, unit = '') => (v === null || v === undefined ? '–' : `${Math.round(v)}${unit}`);

function showState(state, info) {
  ui.state.dataset.state = state;
  ui.state.textContent = state;
  if (info) ui.message.textContent = info;
}

function showFace(present) {
  ui.face.dataset.present = String(present);
  ui.face.textContent = present ? 'face tracked' : 'no face (placeholder)';
}

function showStats(s) {
  page.lastStats = s;
  ui.fps.textContent = s.fps.toFixed(1);
  ui.proc.textContent = `${fmt(s.processing_ms_p50)} / ${fmt(s.processing_ms_p95)} ms`;
  ui.frames.textContent = `${s.frames_in} / ${s.frames_out}`;
  ui.dropped.textContent = String(s.dropped);
  ui.noface.textContent = String(s.no_face);
  if (s.masker_error) ui.message.textContent = s.masker_error;
}

// The end-to-end delay is estimated, not measured: both network legs ~ one RTT of
// this page's path, plus the relay's arrival-to-output delay, plus this browser's
// jitter buffer and decode time. (benchmarks/latency.py measures the real thing.)
let previous = null;
async function sampleDelay(pc) {
  const report = await pc.getStats();
  let inbound = null; let rtt = null;
  report.forEach((r) => {
    if (r.type === 'inbound-rtp' && r.kind === 'video' && (!inbound || r.framesDecoded > inbound.framesDecoded)) inbound = r;
    if (r.type === 'candidate-pair' && r.nominated && r.currentRoundTripTime !== undefined) rtt = r.currentRoundTripTime;
  });
  const shown = page.frames.frames;
  if (previous && inbound) {
    const emitted = inbound.jitterBufferEmittedCount - previous.emitted;
    const decoded = inbound.framesDecoded - previous.decoded;
    const jitterMs = emitted > 0 ? 1000 * (inbound.jitterBufferDelay - previous.jitter) / emitted : 0;
    const decodeMs = decoded > 0 ? 1000 * (inbound.totalDecodeTime - previous.decode) / decoded : 0;
    const relayMs = page.lastStats ? page.lastStats.relay_delay_ms_p50 || 0 : 0;
    if (decoded > 0) {
      page.delayEstimateMs = relayMs + 1000 * (rtt || 0) + jitterMs + decodeMs;
      ui.delay.textContent = fmt(page.delayEstimateMs, ' ms');
    }
    ui.shownFps.textContent = String(shown - previous.shown);
  }
  if (inbound) {
    previous = {
      emitted: inbound.jitterBufferEmittedCount || 0, jitter: inbound.jitterBufferDelay || 0,
      decoded: inbound.framesDecoded || 0, decode: inbound.totalDecodeTime || 0, shown,
    };
  }
}

async function openCamera() {
  try {
    if (!navigator.mediaDevices) throw new Error('page is not secure (https needed for the camera)');
    return await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: true });
  } catch (e) {
    ui.message.textContent = `your camera/microphone is unavailable (${e.message}); you will see and hear the patient only`;
    return new MediaStream();
  }
}

async function join() {
  ui.join.disabled = true;
  local = await openCamera();
  ui.self.srcObject = local;
  const patientStream = new MediaStream();
  ui.patient.srcObject = patientStream;

  const client = new RelayClient({
    ...linkFromLocation(),
    role: 'doctor',
    setupPeer(pc) {
      const [video] = local.getVideoTracks();
      const [audio] = local.getAudioTracks();
      // Masked video + patient audio in; the doctor's own camera + microphone out.
      pc.addTransceiver(video || 'video', { direction: video ? 'sendrecv' : 'recvonly', streams: [local] });
      pc.addTransceiver(audio || 'audio', { direction: audio ? 'sendrecv' : 'recvonly', streams: [local] });
    },
  });
  page.client = client;
  client.addEventListener('state', (e) => showState(e.detail.state, e.detail.info));
  client.addEventListener('error', (e) => {
    page.errors.push(e.detail);
    ui.message.textContent = e.detail.message;
    ui.message.classList.add('error');
  });
  client.addEventListener('joined', () => {
    view.reset();
    previous = null;
    ui.message.textContent = '';
    ui.message.classList.remove('error');
  });
  client.addEventListener('track', (e) => {
    const { track } = e.detail;
    for (const t of patientStream.getTracks()) if (t.kind === track.kind) patientStream.removeTrack(t);
    patientStream.addTrack(track);
  });
  client.addEventListener('params', (e) => {
    const params = e.detail.params;
    page.params += 1;
    page.lastParams = params;
    showFace(params.face_present);
    view.update(params);
  });
  client.addEventListener('stats', (e) => showStats(e.detail.stats));
  client.addEventListener('peer', (e) => {
    if (e.detail.role !== 'patient') return;
    const here = e.detail.state === 'connected';
    ui.patientNote.textContent = here ? 'The patient is connected.' : 'The patient has left; waiting for them to return.';
    if (!here) showFace(false);
  });
  client.addEventListener('teardown', () => { ui.patientNote.textContent = 'Reconnecting…'; });
  client.start();
  statsTimer = setInterval(() => { if (client.pc) sampleDelay(client.pc).catch(() => {}); }, 1000);
  ui.leave.hidden = false;
}

function leave() {
  clearInterval(statsTimer);
  if (page.client) page.client.stop();
  page.client = null;
  if (local) for (const t of local.getTracks()) t.stop();
  local = null;
  ui.self.srcObject = null;
  ui.leave.hidden = true;
  ui.join.disabled = false;
}

ui.join.addEventListener('click', join);
ui.leave.addEventListener('click', leave);
