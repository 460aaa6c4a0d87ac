// Doctor-side clinical view: live eye-movement plots and readouts.
// Contract used by doctor.js: createClinicalView(container) -> { update(params), reset() }
// where params is MaskParams.to_dict() for one frame, arriving at the video frame rate.
//
// It keeps the last 10 s of parameters and redraws at most 10 times a second:
// horizontal and vertical gaze of each eye, lid margins of each eye (MRD1 up,
// MRD2 down, in mm with an 11.7 mm iris as the ruler), and readouts of the
// inter-eye deviation and of nystagmus (a spectral peak between 1 and 8 Hz).
// Right eye red, left eye blue (the OD/OS convention).

const WINDOW_S = 10;
const REDRAW_MS = 100;
const READOUT_MS = 500;
const IRIS_RADIUS_MM = 5.85;
const RIGHT = "#d62728";
const LEFT = "#1f77b4";
const DEVIATION_S = 2;
const NYSTAGMUS_S = 5;
const BAND_HZ = [1, 8];
const MIN_SNR = 6;
const MIN_P2P_DEG = 0.8;
const SACCADE_STEP_DEG = 6;
// An eye oscillation in step with the head (clinical/nystagmus.py): the eyes are
// compensating a nodding head, or head pose leaks into the gaze read-out.
const HEAD_COUPLING_R = 0.5;
const HEAD_COUPLING_RATIO = 0.2;
// Nystagmus moves both eyes together (clinical/nystagmus.py): when both are seen,
// their traces must be coherent at the beat, over overlapping windows.
const MIN_EYE_COHERENCE = 0.7;
const COHERENCE_WINDOW_S = [2, 4];
// A beat must fit MIN_FIXATION_CYCLES times into the time the gaze holds between
// refixations (clinical/nystagmus.py, fixation_s): a rhythm no faster than the
// refixations around it cannot be told from them.
const MIN_FIXATION_CYCLES = 2;
const SACCADE_S = 0.1;
const REFIXATION_DEG = 3;

function finite(v) {
  return typeof v === "number" && Number.isFinite(v);
}

function median(values) {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// One frame -> a flat sample; gaze is NaN when the face is lost or the eye is shut.
function toSample(p) {
  const t = Number(p.timestamp);
  if (!finite(t)) return null;
  const s = { t, present: !!p.face_present, anchored: !!(p.face_present && p.reflex_anchored) };
  for (const side of ["right", "left"]) {
    // a covered eye (cover test) carries its last seen values: not a measurement
    const e = (p.face_present && p[`${side}_eye`]) || {};
    s[`${side}Covered`] = !!e.covered;
    if (e.covered) {
      for (const k of ["Yaw", "Pitch", "Upper", "Lower"]) s[`${side}${k}`] = NaN;
      continue;
    }
    const upper = finite(e.upper_lid) ? e.upper_lid * IRIS_RADIUS_MM : NaN;
    const lower = finite(e.lower_lid) ? e.lower_lid * IRIS_RADIUS_MM : NaN;
    const open = finite(upper) && finite(lower) && upper + lower > 2.5 && !(e.blink > 0.6);
    s[`${side}Yaw`] = open && finite(e.yaw_deg) ? e.yaw_deg : NaN;
    s[`${side}Pitch`] = open && finite(e.pitch_deg) ? e.pitch_deg : NaN;
    s[`${side}Upper`] = upper;
    s[`${side}Lower`] = lower;
    s[`${side}LidAnchored`] = !!e.lid_anchored;
  }
  const head = (p.face_present && p.head) || {};
  s.headYaw = finite(head.yaw_deg) ? head.yaw_deg : NaN;
  s.headPitch = finite(head.pitch_deg) ? head.pitch_deg : NaN;
  return s;
}

function makeCanvas(container, title) {
  const box = document.createElement("div");
  box.className = "cv-plot";
  const label = document.createElement("div");
  label.className = "cv-plot-title";
  label.textContent = title;
  const canvas = document.createElement("canvas");
  canvas.height = 110;
  canvas.style.width = "100%";
  canvas.style.height = "110px";
  canvas.style.display = "block";
  box.append(label, canvas);
  container.append(box);
  return canvas;
}

function drawPlot(canvas, samples, tEnd, lines, minSpan) {
  const width = Math.max(200, Math.round(canvas.clientWidth || 480));
  if (canvas.width !== width) canvas.width = width;
  const ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height;
  const left = 34, top = 6, pw = w - left - 6, ph = h - top - 16;
  ctx.fillStyle = "#fbfbfb";
  ctx.fillRect(0, 0, w, h);
  ctx.strokeStyle = "#bbb";
  ctx.strokeRect(left + 0.5, top + 0.5, pw, ph);

  let lo = Infinity, hi = -Infinity;
  for (const s of samples) for (const l of lines) {
    const v = l.value(s);
    if (finite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  }
  if (!finite(lo)) { lo = -minSpan / 2; hi = minSpan / 2; }
  const mid = (lo + hi) / 2, span = Math.max(hi - lo, minSpan) * 1.15;
  const y0 = mid - span / 2, y1 = mid + span / 2;
  const tStart = tEnd - WINDOW_S;
  const sx = (t) => left + ((t - tStart) / WINDOW_S) * pw;
  const sy = (v) => top + (1 - (v - y0) / (y1 - y0)) * ph;

  ctx.font = "10px sans-serif";
  ctx.fillStyle = "#555";
  ctx.textAlign = "right";
  for (const v of [y0 + span * 0.1, mid, y1 - span * 0.1]) {
    ctx.fillText((Math.abs(v) < 0.05 ? 0 : v).toFixed(1), left - 3, sy(v) + 3);
  }
  if (y0 < 0 && y1 > 0) {
    ctx.strokeStyle = "#ccc";
    ctx.beginPath();
    ctx.moveTo(left, sy(0));
    ctx.lineTo(left + pw, sy(0));
    ctx.stroke();
  }
  ctx.textAlign = "center";
  ctx.textAlign = "right";
  ctx.fillText("now", left + pw, h - 3);
  ctx.textAlign = "center";
  for (let k = 0; k < WINDOW_S; k += 2) ctx.fillText(`-${WINDOW_S - k}s`, sx(tStart + k), h - 3);

  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, pw, ph);
  ctx.clip();
  ctx.lineWidth = 1.8;
  for (const l of lines) {
    ctx.strokeStyle = l.color;
    ctx.beginPath();
    let pen = false;
    for (const s of samples) {
      const v = l.value(s);
      if (!finite(v)) { pen = false; continue; }
      if (pen) ctx.lineTo(sx(s.t), sy(v));
      else { ctx.moveTo(sx(s.t), sy(v)); pen = true; }
    }
    ctx.stroke();
  }
  ctx.restore();
}

// The absolute deviation's spread between people with straight eyes (1 sd over
// synthetic normal faces; clinical/gaze.py DEVIATION_SPREAD_DEG and, where the
// horizontal deviation is anchored to the corneal reflexes, ANCHORED_SPREAD_DEG):
// the doctor sees it next to the number. Changes within the session do not carry it.
const DEVIATION_SPREAD = { horizontal: 5, vertical: 2 };
const ANCHORED_SPREAD = { horizontal: 1, vertical: 2 };

// Deviation over the last few seconds: right minus left (+ = eso; + vertical = right higher).
export function deviationReadout(samples) {
  const h = [], v = [];
  let anchored = 0;
  for (const s of samples) {
    if (s.anchored) anchored++;
    if (finite(s.rightYaw) && finite(s.leftYaw)) h.push(s.rightYaw - s.leftYaw);
    if (finite(s.rightPitch) && finite(s.leftPitch)) v.push(s.rightPitch - s.leftPitch);
  }
  if (h.length < 5) return { text: "Deviation: —", horizontal: NaN, vertical: NaN };
  const hd = median(h), vd = median(v);
  const pd = (deg) => Math.abs(100 * Math.tan((deg * Math.PI) / 180)).toFixed(1);
  const hName = Math.abs(hd) < 0.05 ? "" : hd > 0 ? " eso" : " exo";
  const vName = Math.abs(vd) < 0.05 ? "" : vd > 0 ? " R higher" : " L higher";
  const reflexes = anchored >= samples.length / 2;
  const spread = reflexes ? ANCHORED_SPREAD : DEVIATION_SPREAD;
  return {
    horizontal: hd,
    vertical: vd,
    text: `Deviation: ${Math.abs(hd).toFixed(1)}° (${pd(hd)} Δ)${hName} · ` +
          `vertical ${Math.abs(vd).toFixed(1)}° (${pd(vd)} Δ)${vName} ` +
          `(±${spread.horizontal}° / ±${spread.vertical}° between faces` +
          `${reflexes ? ", corneal reflexes" : ""})`,
  };
}

// Detrended and Hann-windowed trace, and the window's sum (for amplitudes).
function windowed(x) {
  const n = x.length;
  let sum = 0, sumT = 0, sumTT = 0, sumTX = 0;
  for (let i = 0; i < n; i++) { sum += x[i]; sumT += i; sumTT += i * i; sumTX += i * x[i]; }
  const slope = (n * sumTX - sumT * sum) / (n * sumTT - sumT * sumT || 1);
  const icpt = (sum - slope * sumT) / n;
  const y = new Float64Array(n);
  let wsum = 0;
  for (let i = 0; i < n; i++) {
    const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1));
    y[i] = (x[i] - icpt - slope * i) * w;
    wsum += w;
  }
  return { y, wsum };
}

function dftAt(y, f, fs) {
  let re = 0, im = 0;
  const k = (2 * Math.PI * f) / fs;
  for (let i = 0; i < y.length; i++) { re += y[i] * Math.cos(k * i); im -= y[i] * Math.sin(k * i); }
  return { re, im };
}

// The dominant oscillation of a uniformly resampled trace (Hann window, DFT scan).
function spectralPeak(x, fs) {
  const { y, wsum } = windowed(x);
  const powers = [];
  let best = { f: NaN, power: 0 };
  const fHi = Math.min(BAND_HZ[1], 0.45 * fs);
  for (let f = BAND_HZ[0]; f <= fHi; f += 0.05) {
    const { re, im } = dftAt(y, f, fs);
    const power = re * re + im * im;
    powers.push(power);
    if (power > best.power) best = { f, power };
  }
  const noise = median(powers) || 1e-12;
  const edge = best.f <= BAND_HZ[0] + 0.01 || best.f >= fHi - 0.05;
  return { f: best.f, p2p: (4 * Math.sqrt(best.power)) / wsum, snr: best.power / noise, edge };
}

// Does the head move in step with this eye trace at frequency f? The phase
// agreement of the two at f stands in for their band-passed correlation.
function headCoupled(samples, eyeKey, headKey, f, fs) {
  const both = samples.filter((s) => finite(s[eyeKey]) && finite(s[headKey]));
  const eye = resample(both, eyeKey, fs), head = resample(both, headKey, fs);
  if (!eye || eye.length < 2 * fs) return false;
  const e = dftAt(windowed(eye).y, f, fs), h = dftAt(windowed(head).y, f, fs);
  const me = Math.hypot(e.re, e.im), mh = Math.hypot(h.re, h.im);
  if (!me || !mh) return false;
  const agreement = (e.re * h.re + e.im * h.im) / (me * mh);
  return Math.abs(agreement) >= HEAD_COUPLING_R && mh / me >= HEAD_COUPLING_RATIO;
}

// Is the magnitude-squared coherence of the two eyes' traces at f at least
// MIN_EYE_COHERENCE? (Welch windows of half the stretch, 2-4 s, stepping a
// quarter window; true when too short to tell.)
function eyesCoherent(samples, axis, f, fs) {
  const both = samples.filter((s) => finite(s["right" + axis]) && finite(s["left" + axis]));
  const a = resample(both, "right" + axis, fs), b = resample(both, "left" + axis, fs);
  if (!a || !b) return true;
  const n = Math.min(a.length, b.length);
  const [lo, hi] = COHERENCE_WINDOW_S;
  // rounded down, so that any stretch of two minimum windows is judged
  const nper = Math.floor(Math.min(hi * fs, Math.max(lo * fs, n / 2)));
  if (n < 2 * nper) return true;
  let cr = 0, ci = 0, paa = 0, pbb = 0;
  for (let i = 0; i + nper <= n; i += Math.max(1, nper >> 2)) {
    const x = dftAt(windowed(a.slice(i, i + nper)).y, f, fs);
    const y = dftAt(windowed(b.slice(i, i + nper)).y, f, fs);
    cr += x.re * y.re + x.im * y.im;
    ci += x.im * y.re - x.re * y.im;
    paa += x.re * x.re + x.im * x.im;
    pbb += y.re * y.re + y.im * y.im;
  }
  return !(paa > 0 && pbb > 0) || (cr * cr + ci * ci) / (paa * pbb) >= MIN_EYE_COHERENCE;
}

function resample(samples, key, fs) {
  const pts = samples.filter((s) => finite(s[key]));
  if (pts.length < 2) return null;
  const t0 = pts[0].t, t1 = pts[pts.length - 1].t;
  const out = [];
  let j = 0, offset = 0, prev = pts[0][key];
  for (let t = t0; t <= t1 + 1e-9; t += 1 / fs) {
    while (j < pts.length - 2 && pts[j + 1].t < t) j++;
    const a = pts[j], b = pts[Math.min(j + 1, pts.length - 1)];
    const u = b.t > a.t ? Math.min(1, Math.max(0, (t - a.t) / (b.t - a.t))) : 0;
    const v = a[key] + u * (b[key] - a[key]);
    if (Math.abs(v - prev) > SACCADE_STEP_DEG) offset += v - prev;  // refixation, not nystagmus
    prev = v;
    out.push(v - offset);
  }
  return out;
}

// Per sample, whether this eye is in a gaze shift: a change of more than
// SACCADE_STEP_DEG over SACCADE_S on either axis (the read-out spreads a shift
// over 2-3 frames).
function eyeShifts(samples, side, fs) {
  const shifted = samples.map(() => false);
  const span = Math.max(2, Math.round(SACCADE_S * fs));
  for (const axis of ["Yaw", "Pitch"]) {
    const idx = [];
    samples.forEach((s, i) => { if (finite(s[side + axis])) idx.push(i); });
    const v = (k) => samples[idx[k]][side + axis];
    for (let k = 1; k < idx.length; k++) {
      if (Math.abs(v(k) - v(k - 1)) > SACCADE_STEP_DEG) shifted[idx[k]] = true;
      if (k >= span && Math.abs(v(k) - v(k - span)) > SACCADE_STEP_DEG) {
        for (let j = k - span + 1; j <= k; j++) shifted[idx[j]] = true;
      }
    }
  }
  return shifted;
}

// How long the gaze holds between refixations, in seconds: the time-weighted mean
// of the stretches between them (clinical/nystagmus.py, fixation_s). A shift
// counts where both eyes shift within SACCADE_S of each other, or the only eye
// seen shifts (FaceMesh losing one eye's iris jumps that eye alone), and it is a
// refixation when the gaze's median level after it, up to the next shift, moved
// REFIXATION_DEG or more from the one before (a jerk nystagmus's slow phase takes
// the eye back each beat).
function fixationSeconds(samples, fs) {
  const n = samples.length;
  const near = Math.max(2, Math.round(SACCADE_S * fs));
  const seen = (s, side) => finite(s[side + "Yaw"]) || finite(s[side + "Pitch"]);
  const r = eyeShifts(samples, "right", fs), l = eyeShifts(samples, "left", fs);
  const around = (m, i) => m.slice(Math.max(0, i - near), i + near + 1).some(Boolean);
  const shift = samples.map((s, i) => (seen(s, "right") && seen(s, "left")
    ? (r[i] && around(l, i)) || (l[i] && around(r, i)) : r[i] || l[i]));
  const runs = [];                                  // the shifts, [start, stop)
  for (let i = 0; i < n; i++) {
    if (shift[i] && (i === 0 || !shift[i - 1])) runs.push([i, i + 1]);
    else if (shift[i]) runs[runs.length - 1][1] = i + 1;
  }
  const level = (a, b, axis) => median(samples.slice(a, b).map((s) => {
    const v = [s["right" + axis], s["left" + axis]].filter(finite);
    return v.length ? v.reduce((x, y) => x + y, 0) / v.length : NaN;
  }).filter(finite));
  const cut = samples.map(() => false);
  runs.forEach(([start, stop], k) => {
    const before = k ? runs[k - 1][1] : 0, after = k + 1 < runs.length ? runs[k + 1][0] : n;
    const moved = ["Yaw", "Pitch"].map((axis) =>
      Math.abs(level(stop, after, axis) - level(before, start, axis)));
    if (!moved.every(finite) || Math.max(...moved) >= REFIXATION_DEG) {
      for (let i = start; i < stop; i++) cut[i] = true;
    }
  });
  const stretches = [];
  let length = 0;
  samples.forEach((s, i) => {
    if (cut[i] && length) { stretches.push(length); length = 0; }
    if (!cut[i] && (seen(s, "right") || seen(s, "left"))) length++;
  });
  if (length) stretches.push(length);
  const total = stretches.reduce((x, m) => x + m, 0);
  return total ? stretches.reduce((x, m) => x + m * m, 0) / total / fs : 0;
}

// samples: the last NYSTAGMUS_S; history (default: the same) the longer stretch
// over which the two eyes' coherence is judged (short stretches cannot tell).
export function nystagmusReadout(samples, history = samples) {
  if (samples.length < 30) return { text: "Nystagmus: —", present: false };
  const dts = [];
  for (let i = 1; i < samples.length; i++) dts.push(samples[i].t - samples[i - 1].t);
  const fs = 1 / (median(dts.filter((d) => d > 0)) || 1 / 30);
  const found = [];
  let withHead = false, apart = false, refixating = false, holds;
  for (const [axis, name] of [["Yaw", "horizontal"], ["Pitch", "vertical"]]) {
    const peaks = [];
    for (const side of ["right", "left"]) {
      const x = resample(samples, side + axis, fs);
      if (x && x.length >= 2 * fs) peaks.push({ side, ...spectralPeak(x, fs) });
    }
    if (!peaks.length) continue;
    const hit = peaks.filter((p) => !p.edge && p.snr >= MIN_SNR && p.p2p >= MIN_P2P_DEG);
    // Nystagmus beats in both eyes: when both are seen, both must agree.
    const agree = peaks.length < 2 || (hit.length === 2 && Math.abs(hit[0].f - hit[1].f) <= 0.3);
    if (hit.length && agree) {
      const f = hit.reduce((a, p) => a + p.f, 0) / hit.length;
      if (headCoupled(samples, hit[0].side + axis, "head" + axis, f, fs)) {
        withHead = true;
        continue;
      }
      if (hit.length === 2 && !eyesCoherent(history, axis, f, fs)) {
        apart = true;
        continue;
      }
      holds ??= fixationSeconds(samples, fs);
      if (f * holds < MIN_FIXATION_CYCLES) {
        refixating = true;
        continue;
      }
      found.push({ name, f, p2p: hit.reduce((a, p) => a + p.p2p, 0) / hit.length });
    }
  }
  if (!found.length) {
    const why = withHead ? " (the eyes move with the head)"
      : apart ? " (the eyes do not oscillate together)"
        : refixating ? " (fewer than two beats per fixation)" : "";
    return { text: `Nystagmus: none${why}`, present: false };
  }
  found.sort((a, b) => b.p2p - a.p2p);
  const n = found[0];
  return {
    present: true, direction: n.name, frequency: n.f, amplitude: n.p2p,
    text: `Nystagmus: ${n.name}, ${n.f.toFixed(1)} Hz, ${n.p2p.toFixed(1)}° peak-to-peak`,
  };
}

function lidReadout(samples) {
  const recent = samples.slice(-30);
  const part = (side) => {
    const up = recent.map((s) => s[`${side}Upper`]).filter(finite);
    const lo = recent.map((s) => s[`${side}Lower`]).filter(finite);
    if (!up.length) return `${side === "right" ? "R" : "L"} —`;
    // MRD1 anchored to the lid margin in the pixels (MaskParams lid_anchored) in most frames
    const anchored = 2 * recent.filter((s) => s[`${side}LidAnchored`]).length >= recent.length;
    return `${side === "right" ? "R" : "L"} MRD1 ${median(up).toFixed(1)} / MRD2 ${median(lo).toFixed(1)} mm`
      + (anchored ? " (lid margin)" : "");
  };
  return `Lids: ${part("right")} · ${part("left")}`;
}

export function createClinicalView(container) {
  container.classList.add("clinical-view");
  container.replaceChildren();
  const readouts = document.createElement("div");
  readouts.className = "cv-readouts";
  const line = (cls) => {
    const d = document.createElement("div");
    d.className = cls;
    readouts.append(d);
    return d;
  };
  const deviationEl = line("cv-deviation");
  const nystagmusEl = line("cv-nystagmus");
  const lidsEl = line("cv-lids");
  const faceEl = line("cv-face");
  container.append(readouts);
  const horizontal = makeCanvas(container, "Horizontal gaze, degrees (+ = patient's left) — right eye red, left eye blue");
  // benchmarks/gaze_gain.py: a held up- or downgaze reads at about 0.6-0.8 of its
  // size (the README says why); the doctor must not take it for a limited gaze.
  const vertical = makeCanvas(container, "Vertical gaze, degrees (+ = up) — a held up/downgaze reads at about 0.6–0.8 of its size");
  // benchmarks/fidelity.py and real_normals.py: anchored to the lid margin in the
  // pixels, a 7 mm retraction read 6.1-6.3 mm, and on camera video of people
  // without lid disease (where the margin seldom anchors) MRD1 read a median 2.0 mm.
  const lids = makeCanvas(container, "Lids, mm (MRD1 up, MRD2 down) — MRD1 reads low: confirm lid signs by examination");

  let samples = [];
  let lastDraw = -Infinity, lastReadout = -Infinity, pending = null, readoutDue = true;

  function draw() {
    pending = null;
    lastDraw = performance.now();
    const tEnd = samples.length ? samples[samples.length - 1].t : WINDOW_S;
    drawPlot(horizontal, samples, tEnd, [
      { color: RIGHT, value: (s) => s.rightYaw }, { color: LEFT, value: (s) => s.leftYaw }], 6);
    drawPlot(vertical, samples, tEnd, [
      { color: RIGHT, value: (s) => s.rightPitch }, { color: LEFT, value: (s) => s.leftPitch }], 6);
    drawPlot(lids, samples, tEnd, [
      { color: RIGHT, value: (s) => s.rightUpper }, { color: LEFT, value: (s) => s.leftUpper },
      { color: RIGHT, value: (s) => -s.rightLower }, { color: LEFT, value: (s) => -s.leftLower }], 12);
    // The stream time drawn and read out, for tests and debugging.
    container.dataset.drawnT = samples.length ? String(tEnd) : "";
    if (readoutDue && lastDraw - lastReadout < READOUT_MS) {
      // Readouts refresh at most every READOUT_MS; come back for the last frames
      // (and keep the plots at the redraw rate meanwhile).
      pending = setTimeout(draw, Math.min(REDRAW_MS, READOUT_MS - (lastDraw - lastReadout)));
    } else if (readoutDue) {
      readoutDue = false;
      lastReadout = lastDraw;
      const last = samples[samples.length - 1];
      deviationEl.textContent = deviationReadout(samples.filter((s) => s.t >= tEnd - DEVIATION_S)).text;
      nystagmusEl.textContent = nystagmusReadout(
        samples.filter((s) => s.t >= tEnd - NYSTAGMUS_S), samples).text;
      lidsEl.textContent = lidReadout(samples);
      const covered = last && last.present
        ? ["right", "left"].filter((side) => last[`${side}Covered`]) : [];
      faceEl.textContent = last && !last.present ? "No face in view"
        : covered.length ? `Covered: ${covered.join(" and ")} eye (no measurement)` : "";
      container.dataset.readoutT = container.dataset.drawnT;
    }
  }

  function schedule() {
    if (pending !== null) return;
    const wait = Math.max(0, REDRAW_MS - (performance.now() - lastDraw));
    pending = setTimeout(draw, wait);
  }

  draw();
  return {
    update(params) {
      const s = params && typeof params === "object" ? toSample(params) : null;
      if (!s) return;  // a malformed frame is skipped, the view keeps going
      if (samples.length && s.t < samples[samples.length - 1].t) samples = [];  // a new stream
      samples.push(s);
      const cut = s.t - WINDOW_S;
      let k = 0;
      while (k < samples.length && samples[k].t < cut) k++;
      if (k) samples = samples.slice(k);
      readoutDue = true;
      schedule();
    },
    reset() {
      samples = [];
      lastReadout = -Infinity;
      readoutDue = true;
      if (pending !== null) { clearTimeout(pending); pending = null; }
      draw();
    },
  };
}
