// Patient page: camera preview, join, connection state, preview of the masked avatar,
// the doctor's camera and voice. The camera goes only to the relay, which masks it.
import { RelayClient, linkFromLocation, countVideoFrames } from './relay-client.js';

const $ = (id) => document.getElementById(id);
const ui = {
  state: $('state'), join: $('join'), leave: $('leave'), message: $('message'),
  self: $('self'), preview: $('preview'), doctor: $('doctor'), doctorNote: $('doctor-note'),
};
// Exposed for the browser tests and for debugging from the console.
const page = { client: null, previewFrames: { frames: 0 }, doctorFrames: { frames: 0 }, errors: [] };
window.relayPage = page;
countVideoFrames(ui.preview, page.previewFrames);
countVideoFrames(ui.doctor, page.doctorFrames);

let local = null;

function showState(state, info) {
  ui.state.dataset.state = state;
  ui.state.textContent = state;
  if (info) ui.message.textContent = info;
}

async function openCamera() {
  if (!navigator.mediaDevices) {
    // Browsers expose cameras only to secure pages (https, or http://localhost).
    throw new Error('this page is not secure; open the https link (relay started with --cert/--key)');
  }
  const constraints = { video: { width: 640, height: 480, frameRate: 30 }, audio: true };
  try {
    return await navigator.mediaDevices.getUserMedia(constraints);
  } catch (e) {
    // Microphone missing or refused: the consultation can still go ahead with video.
    return navigator.mediaDevices.getUserMedia({ video: constraints.video, audio: false });
  }
}

async function join() {
  ui.join.disabled = true;
  try {
    local = await openCamera();
  } catch (e) {
    showState('error', `camera unavailable: ${e.message}`);
    ui.join.disabled = false;
    return;
  }
  ui.self.srcObject = local;
  const doctorStream = new MediaStream();
  ui.doctor.srcObject = doctorStream;
  let previewTx = null;

  const client = new RelayClient({
    ...linkFromLocation(),
    role: 'patient',
    setupPeer(pc) {
      const [video] = local.getVideoTracks();
      const [audio] = local.getAudioTracks();
      pc.addTransceiver(video, { direction: 'sendrecv', streams: [local] });   // camera out, doctor camera in
      if (audio) pc.addTransceiver(audio, { direction: 'sendrecv', streams: [local] });
      else pc.addTransceiver('audio', { direction: 'recvonly' });
      previewTx = pc.addTransceiver('video', { direction: 'recvonly' });       // the masked avatar
    },
  });
  page.client = client;
  client.addEventListener('state', (e) => showState(e.detail.state, e.detail.info));
  client.addEventListener('error', (e) => {
    page.errors.push(e.detail);
    ui.message.textContent = e.detail.message;
    ui.message.classList.add('error');
  });
  client.addEventListener('joined', () => { ui.message.textContent = ''; ui.message.classList.remove('error'); });
  client.addEventListener('track', (e) => {
    const ev = e.detail;
    if (ev.transceiver === previewTx) {
      ui.preview.srcObject = new MediaStream([ev.track]);
    } else {
      for (const t of doctorStream.getTracks()) if (t.kind === ev.track.kind) doctorStream.removeTrack(t);
      doctorStream.addTrack(ev.track);
    }
  });
  client.addEventListener('peer', (e) => {
    if (e.detail.role !== 'doctor') return;
    ui.doctorNote.textContent = e.detail.state === 'connected'
      ? 'The doctor is connected.' : 'The doctor has left; waiting for them to return.';
  });
  client.addEventListener('teardown', () => { ui.doctorNote.textContent = 'Reconnecting…'; });
  client.start();
  ui.leave.hidden = false;
}

function leave() {
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
