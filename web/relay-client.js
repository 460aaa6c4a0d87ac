// Signalling + peer connection for one page, with reconnect without a reload.
//
// Protocol (see realtime_mask/relay/protocol.py): join -> joined, offer -> answer,
// then peer/params/stats messages; an error message is followed by a close.
// The browser offers with complete ICE candidates (no trickle), the relay answers.

const TERMINAL = new Set(['bad_token', 'expired', 'unknown_consultation', 'bad_request', 'wrong_page']);
const MAX_BACKOFF_MS = 10000;

/** Read "#c=ID&t=TOKEN" from the page URL (the fragment never reaches the server's logs). */
export function linkFromLocation(loc = window.location) {
  const p = new URLSearchParams(loc.hash.replace(/^#/, ''));
  return { consultation: p.get('c') || '', token: p.get('t') || '' };
}

export class RelayClient extends EventTarget {
  /**
   * @param {object} o
   * @param {string} o.consultation
   * @param {string} o.token
   * @param {'patient'|'doctor'} o.role the page's role; the relay refuses a token of the other role
   * @param {(pc: RTCPeerConnection) => void} o.setupPeer adds tracks/transceivers before the offer
   */
  constructor({ consultation, token, role, setupPeer }) {
    super();
    this.pageRole = role;
    this.consultation = consultation;
    this.token = token;
    this.setupPeer = setupPeer;
    this.ws = null;
    this.pc = null;
    this.role = null;
    this.stopped = true;
    this.backoffMs = 1000;
    this.retryTimer = null;
    this.lastError = null;
    this.connects = 0;
  }

  start() {
    this.stopped = false;
    this._connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: 'bye' }));
    this._teardown();
    this._state('stopped');
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  _state(state, info = '') {
    this.state = state;
    this._emit('state', { state, info });
  }

  _connect() {
    if (this.stopped) return;
    if (!this.consultation || !this.token) {
      this._fail({ code: 'bad_request', message: 'this link is incomplete (no consultation or token)' });
      return;
    }
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${scheme}//${location.host}/ws`);
    this.ws = ws;
    this.connects += 1;
    this._state('connecting');
    ws.onopen = () => ws.send(JSON.stringify({
      type: 'join', consultation: this.consultation, token: this.token, role: this.pageRole,
    }));
    ws.onmessage = (ev) => this._onMessage(ws, ev.data);
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this._teardown();
      if (this.stopped) return;
      if (this.lastError && TERMINAL.has(this.lastError.code)) {
        this.stopped = true;
        this._state('refused', this.lastError.message);
        return;
      }
      const wait = this.lastError && this.lastError.code === 'role_taken' ? 5000 : this.backoffMs;
      this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
      this._state('reconnecting', this.lastError ? this.lastError.message : 'connection lost');
      this.retryTimer = setTimeout(() => this._connect(), wait);
    };
  }

  async _onMessage(ws, data) {
    let msg;
    try { msg = JSON.parse(data); } catch { return; }
    switch (msg.type) {
      case 'joined':
        this.role = msg.role;
        this.lastError = null;
        this._state('negotiating');
        this._emit('joined', msg);
        this.iceServers = (msg.ice_servers || []).map((urls) => ({ urls }));
        try { await this._offer(ws); } catch (e) {
          this._fail({ code: 'client', message: `could not start the call: ${e.message || e}` });
          ws.close();
        }
        break;
      case 'answer':
        if (this.pc) await this.pc.setRemoteDescription({ type: 'answer', sdp: msg.sdp });
        break;
      case 'error':
        this._fail(msg);
        break;
      default:
        this._emit(msg.type, msg);      // peer, params, stats
    }
  }

  _fail(err) {
    this.lastError = err;
    this._emit('error', err);
  }

  async _offer(ws) {
    const pc = new RTCPeerConnection({ iceServers: this.iceServers || [] });
    this.pc = pc;
    pc.ontrack = (ev) => this._emit('track', ev);
    pc.onconnectionstatechange = () => {
      if (this.pc !== pc) return;
      const s = pc.connectionState;
      if (s === 'connected') {
        this.backoffMs = 1000;
        this._state('connected');
      } else if (s === 'failed') {
        ws.close();                          // onclose reconnects
      } else if (s === 'disconnected') {
        setTimeout(() => { if (this.pc === pc && pc.connectionState === 'disconnected') ws.close(); }, 4000);
      }
    };
    this.setupPeer(pc);
    await pc.setLocalDescription(await pc.createOffer());
    await waitForIceGathering(pc, 3000);
    if (ws.readyState !== WebSocket.OPEN || this.pc !== pc) return;
    ws.send(JSON.stringify({ type: 'offer', sdp: pc.localDescription.sdp }));
  }

  _teardown() {
    const { ws, pc } = this;
    this.ws = null;
    this.pc = null;
    if (pc) pc.close();
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close();
    this._emit('teardown', {});
  }
}

function waitForIceGathering(pc, timeoutMs) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { pc.removeEventListener('icegatheringstatechange', check); resolve(); };
    const check = () => { if (pc.iceGatheringState === 'complete') done(); };
    pc.addEventListener('icegatheringstatechange', check);
    setTimeout(done, timeoutMs);
  });
}

/** Count frames a <video> actually presents (for fps readouts and tests). */
export function countVideoFrames(video, counter) {
  if (!('requestVideoFrameCallback' in HTMLVideoElement.prototype)) return;
  const tick = (_now, meta) => {
    counter.frames += 1;
    counter.lastPresented = meta.presentedFrames;
    video.requestVideoFrameCallback(tick);
  };
  video.requestVideoFrameCallback(tick);
}
