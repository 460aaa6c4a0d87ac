"""Nystagmus from the gaze traces: frequency, amplitude, direction, waveform.

Per eye and axis the trace is put on a uniform time grid (short gaps such as
blinks are bridged, long gaps split it), refixation jumps are taken out, and
slow drifts (head-turn compensation) are high-passed away; a Welch spectrum
over 4 s Hann windows then finds the dominant oscillation between 1 and 8 Hz.
The trace is measured again after subtracting its running mean over whole
periods of that frequency, which keeps the oscillation unattenuated. Amplitude is peak-to-peak in degrees (the
clinical convention): from the fundamental for a pendular waveform, from
cycle-by-cycle extremes for a jerk (sawtooth-like) waveform. The waveform is
told by the skew of the eye velocity: a jerk has a few fast frames one way and
many slow ones the other way.

An eye-in-head oscillation that moves in step with the head at the same
frequency (|r| >= HEAD_COUPLING_R, the head moving at least HEAD_COUPLING_RATIO
as far as the eye) is the eyes compensating a nodding or turning head, or the
head pose leaking into the gaze read-out, not nystagmus. On 11 real clips of
people without eye signs (talking, nodding, animated portraits) 4 of the 5
"nystagmus" found at 1.1-1.2 Hz were such (|r| 0.54-0.78, head/eye 0.21-0.67);
the synthetic nystagmus patients, head still, show head/eye 0.02-0.15.
The rule holds below HEAD_COUPLING_MAX_HZ: nods, turns and the eyes'
compensation of them are slow (the real clips' coupled beats sit at 1.05-1.2
Hz). Above it a head pose that follows the eye at a fifth of its swing is
FaceMesh carrying the face with the eyes: re-tracked avatars of the 3 Hz
vertical and 4 Hz horizontal nystagmus patients read head/eye 0.21-0.23 (|r|
0.86-0.88) with their heads drawn still, and so did one 2 Hz patient (|r|
0.80-0.83, all three draws), whose nystagmus the rule hid while it held up to
2.5 Hz.

A rhythm is told by several beats: an oscillation counts only where the eye
was seen for at least MIN_CYCLES of its periods. On the real clips of people
without eye signs, grid_lrwp9a (2.5 s) read a 1.7 Hz vertical "nystagmus"
from 4.2 beats; in a short clip a gaze shifted to and fro once or twice
fills a slow spectral peak.

Nystagmus moves both eyes together, so when both eyes are seen their traces
must be coherent at the beat frequency (magnitude-squared coherence >=
MIN_EYE_COHERENCE; any phase, so see-saw nystagmus passes). Read-out noise is
not: bursts of tracking jitter at extreme gaze gave a synthetic control a 1.4 Hz
"nystagmus" in each eye with a coherence of 0.04, and the re-tracked avatars of
two strabismus patients 0.34-0.57, where the synthetic nystagmus patients read
0.80-0.99 (benchmarks/fidelity.py, both read-outs).

A beat must also fit at least MIN_FIXATION_CYCLES times into the time the
gaze holds between refixations (`fixation_s`): a rhythm no faster than the
refixations around it cannot be told from them. Patients asked to look
around (the nine gaze positions, a held downgaze and back) read false 1.26-1.47
Hz "nystagmus" from the re-tracked avatar and now and then from MaskParams,
coherent in the two eyes (up to 0.90) and whatever the spectrum's shape; they
held their gaze 0.85-1.3 beats per fixation. The synthetic nystagmus patients,
over six faces and both read-outs, held 4.5 beats or more.

The fast phases of a jerk nystagmus over 6 degrees are gaze shifts by size.
Taken out of the trace, they left the slow phases stitched into a ramp, and an
8-degree, 3 Hz jerk nystagmus read 1.9 degrees or was missed (its spectrum
peaked at 1.1-1.3 Hz). A shift both eyes make that leaves the gaze's level in
place is no refixation (`refixations`); where such shifts recur at
MIN_FAST_PHASE_HZ or more they are the beat's fast phases and stay in the
traces. Nowhere else do they recur that often: over every saved read-out of
the synthetic patients and the real clips the most was 0.75 a second (the
nine-gaze control, re-tracked), so those read-outs are as before; kept in
every trace, the occasional shared jump swamped the spectrum (two nystagmus
patients lost, a control gained one).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import binary_dilation, uniform_filter1d
from scipy.signal import butter, coherence, sosfiltfilt
from scipy.stats import skew

from .gaze import gaze_traces
from .track import ParamsTrack

BAND_HZ = (1.0, 8.0)
WINDOW_S = 4.0
MIN_WINDOW_S = 2.0
STEP_S = 1.0
DETREND_S = 1.0            # whole periods spanning about this long
HIGHPASS_HZ = 0.7
MAX_GAP_S = 0.4
SACCADE_STEP_DEG = 6.0      # a change this large within SACCADE_S is a gaze shift, not nystagmus
SACCADE_S = 0.1             # the read-out spreads a gaze shift over 2-3 frames
REFIXATION_DEG = 3.0        # a gaze shift after which the held gaze moved this far
MIN_SNR = 6.0
MIN_AMPLITUDE_DEG = 0.8     # peak-to-peak of the fundamental
MIN_CYCLES = 5.0            # periods the eye must be seen for: in a 2.5 s clip, 2 Hz and up
JERK_SKEW = 1.0
HEAD_COUPLING_R = 0.5
HEAD_COUPLING_RATIO = 0.2
HEAD_COUPLING_MAX_HZ = 1.8
COUPLING_BAND_HZ = 0.4       # half-width of the band around the beat frequency
MAX_EYE_FREQUENCY_GAP_HZ = 0.3
MIN_EYE_COHERENCE = 0.7
MIN_FIXATION_CYCLES = 2.0   # beats per fixation between refixations (module docstring)
# Shared gaze shifts that are no refixations, recurring at least this often, are
# a jerk nystagmus's fast phases (the band's slowest beat): the traces are read
# with them left in (module docstring).
MIN_FAST_PHASE_HZ = BAND_HZ[0]
AXES = ("yaw", "pitch")


@dataclass
class AxisSpectrum:
    """The dominant oscillation of one eye on one axis."""
    frequency_hz: float
    fundamental_p2p_deg: float
    snr: float
    windows: int
    velocity_skew: float
    cycle_p2p_deg: float
    seen_s: float = 0.0         # how long the eye was seen (its segments' total)

    @property
    def detected(self) -> bool:
        return (self.windows > 0 and self.snr >= MIN_SNR
                and self.fundamental_p2p_deg >= MIN_AMPLITUDE_DEG
                and self.frequency_hz * self.seen_s >= MIN_CYCLES)


@dataclass
class Nystagmus:
    present: bool
    frequency_hz: float
    amplitude_deg: float        # peak-to-peak
    direction: str | None       # "horizontal" | "vertical" | "oblique"
    waveform: str | None        # "pendular" | "jerk"
    fast_phase: str | None      # jerk only: "left" | "right" | "up" | "down" (patient's)
    confidence: float
    per_eye: dict               # {"right": {"yaw": AxisSpectrum, "pitch": ...}, "left": ...}
    # an oscillation was found but moved in step with the head (module docstring)
    head_coupled: bool = False
    # ... or the two eyes' oscillations were not coherent (module docstring)
    eyes_incoherent: bool = False
    # ... or it beat fewer than MIN_FIXATION_CYCLES times per fixation (module docstring)
    between_refixations: bool = False


def uniform_segments(t: np.ndarray, x: np.ndarray, fs: float) -> list[np.ndarray]:
    """Resample the finite samples of x onto a 1/fs grid; gaps over MAX_GAP_S split it."""
    ok = np.isfinite(x)
    if ok.sum() < 2:
        return []
    tv, xv = t[ok], x[ok]
    breaks = np.flatnonzero(np.diff(tv) > MAX_GAP_S) + 1
    segments = []
    for ts, xs in zip(np.split(tv, breaks), np.split(xv, breaks)):
        if ts.size < 2:
            continue
        grid = np.arange(ts[0], ts[-1] + 0.5 / fs, 1.0 / fs)
        segments.append(np.interp(grid, ts, xs))
    return segments


def gaze_shift_steps(x: np.ndarray, fs: float) -> np.ndarray:
    """Which frame-to-frame steps of x belong to a gaze shift (a refixation to
    a new target): every step within a change of more than SACCADE_STEP_DEG
    over SACCADE_S. The read-out spreads a shift over 2-3 frames, so a rule on
    single steps left most of each shift in, and a control looking from one
    gaze position to the next every 0.9 s read a 1.3 Hz "nystagmus". Nystagmus
    beats change far less within 0.1 s (a 4 Hz, 2-degree one at most 2
    degrees)."""
    shift = np.abs(np.diff(x)) > SACCADE_STEP_DEG
    span = max(2, int(round(SACCADE_S * fs)))
    for i in np.flatnonzero(np.abs(x[span:] - x[:-span]) > SACCADE_STEP_DEG):
        shift[i:i + span] = True
    return shift


def remove_gaze_shifts(x: np.ndarray, fs: float, keep: np.ndarray | None = None) -> np.ndarray:
    """Take out gaze shifts so they do not leak into the spectrum, except in
    the samples `keep` marks (a jerk nystagmus's fast phases)."""
    d = np.diff(x)
    steps = gaze_shift_steps(x, fs)
    if keep is not None:
        steps &= ~keep[1:]
    d[steps] = 0.0
    return np.concatenate([[x[0]], x[0] + np.cumsum(d)]) if x.size else x


def shared_shift_frames(g, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Frames in a gaze shift that moves both eyes, and frames where an eye is
    seen. A shift counts where both eyes shift within SACCADE_S of each other,
    or the only eye seen shifts: a refixation moves both eyes, while FaceMesh
    losing one eye's iris jumps that eye alone (the re-tracked avatar of one
    2 Hz nystagmus patient jumped its right eye 18 times in 8 s, its left 4)."""
    n = g.t.size
    seen, shifted = {}, {}
    for side in ("right", "left"):
        seen[side], shifted[side] = np.zeros(n, bool), np.zeros(n, bool)
        for axis in AXES:
            x = getattr(g, f"{side}_{axis}")
            idx = np.flatnonzero(np.isfinite(x))
            seen[side][idx] = True
            if idx.size > 1:
                shifted[side][idx[1:][gaze_shift_steps(x[idx], fs)]] = True
    near = max(2, int(round(SACCADE_S * fs)))

    def widened(m: np.ndarray) -> np.ndarray:           # within `near` frames of m
        return binary_dilation(m, structure=np.ones(2 * near + 1, bool))

    both = seen["right"] & seen["left"]
    shift = np.where(both, (shifted["right"] & widened(shifted["left"]))
                     | (shifted["left"] & widened(shifted["right"])),
                     shifted["right"] | shifted["left"])
    return shift, seen["right"] | seen["left"]


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """The [start, stop) spans where mask is true."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(int), [0]])))
    return list(zip(edges[::2], edges[1::2]))


def refixations(g, fs: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per frame: in a refixation; in a jerk nystagmus's fast phase; an eye
    seen. A refixation is a shared gaze shift after which the gaze's median
    level, up to the next shift, differs from the one before by REFIXATION_DEG
    or more on either axis. The fast phases of a large jerk nystagmus are
    shifts too, but the slow phase takes the eye back each beat, so the level
    stays: counted as refixations, an 8-degree, 3 Hz jerk nystagmus held its
    gaze one beat per "fixation" and was lost. The shared shifts that are no
    refixations count as fast phases where they recur at MIN_FAST_PHASE_HZ or
    more (module docstring)."""
    shift, seen = shared_shift_frames(g, fs)
    n = shift.size
    level = np.stack([_mean_of_seen(g.right_yaw, g.left_yaw),
                      _mean_of_seen(g.right_pitch, g.left_pitch)], axis=1)
    runs = _runs(shift)                                # the shifts
    pieces = [(0, runs[0][0])] if runs else [(0, n)]
    pieces += [(stop, nxt[0]) for (_, stop), nxt in zip(runs, runs[1:] + [(n, n)])]

    def median_level(piece: tuple[int, int]) -> np.ndarray:
        part = level[piece[0]:piece[1]]
        ok = np.isfinite(part).all(axis=1)
        return np.median(part[ok], axis=0) if ok.any() else np.full(2, np.nan)

    levels = [median_level(p) for p in pieces]
    cut = np.zeros(n, bool)
    for (start, stop), before, after in zip(runs, levels, levels[1:]):
        moved = np.abs(after - before)
        if not np.isfinite(moved).all() or moved.max() >= REFIXATION_DEG:
            cut[start:stop] = True
    fast_phases = shift & ~cut
    if len(_runs(fast_phases)) < MIN_FAST_PHASE_HZ * seen.sum() / fs:
        fast_phases[:] = False
    return cut, fast_phases, seen


def fixation_s(cut: np.ndarray, seen: np.ndarray, fs: float) -> float:
    """How long the gaze holds between refixations (`cut`): the time-weighted
    mean length of the stretches between them (each frame counts the stretch
    it lies in). Unseen gaps over MAX_GAP_S end a stretch."""
    stretches, length, gap = [], 0, 0
    for i in range(cut.size):
        if seen[i] and not cut[i]:
            length, gap = length + 1, 0
            continue
        gap = gap + 1 if not cut[i] else 0
        if length and (cut[i] or gap > MAX_GAP_S * fs):
            stretches.append(length)
            length = 0
    if length:
        stretches.append(length)
    if not stretches:
        return 0.0
    lengths = np.array(stretches, np.float64) / fs
    return float((lengths ** 2).sum() / lengths.sum())


def highpass(x: np.ndarray, fs: float) -> np.ndarray:
    """Remove slow gaze drifts and head-turn compensation before the peak search."""
    if x.size < 8:
        return x - x.mean()
    sos = butter(2, HIGHPASS_HZ, btype="highpass", fs=fs, output="sos")
    return sosfiltfilt(sos, x, padlen=min(x.size - 1, 3 * int(fs)))


def remove_period_mean(x: np.ndarray, fs: float, f0: float) -> np.ndarray:
    """Subtract the running mean over whole periods: it cancels any wave of
    frequency f0 (whatever its shape) and follows linear trends exactly, so
    what is left is the oscillation itself, unattenuated."""
    periods = max(1, round(DETREND_S * f0))
    size = max(2, int(round(periods * fs / f0)))
    return x - uniform_filter1d(x, size=size, mode="nearest")


def axis_spectrum(segments: list[np.ndarray], fs: float) -> AxisSpectrum:
    nwin = int(round(WINDOW_S * fs))
    step = max(1, int(round(STEP_S * fs)))
    windows = []
    for seg in segments:
        if seg.size >= nwin:
            windows += [seg[i:i + nwin] for i in range(0, seg.size - nwin + 1, step)]
    if not windows:  # short clip: one shorter window per long-enough segment
        nwin = max((s.size for s in segments), default=0)
        if nwin < MIN_WINDOW_S * fs:
            return AxisSpectrum(float("nan"), 0.0, 0.0, 0, 0.0, 0.0)
        windows = [s for s in segments if s.size == nwin]
    w = np.hanning(nwin)
    nfft = 1 << int(np.ceil(np.log2(nwin * 16)))
    power = np.mean([np.abs(np.fft.rfft((win - win.mean()) * w, nfft)) ** 2
                     for win in windows], axis=0)
    freqs = np.fft.rfftfreq(nfft, 1.0 / fs)
    lo, hi = BAND_HZ[0], min(BAND_HZ[1], 0.45 * fs)
    band = np.flatnonzero((freqs >= lo) & (freqs <= hi))
    k = int(band[np.argmax(power[band])])
    if k in (band[0], band[-1]):  # rising into the band edge: slow drift, not an oscillation
        return AxisSpectrum(float("nan"), 0.0, 0.0, len(windows), 0.0, 0.0)
    # Parabolic interpolation of the log-power peak refines the frequency.
    if 0 < k < len(power) - 1:
        a, b, c = np.log(power[k - 1:k + 2] + 1e-30)
        denom = a - 2 * b + c
        shift = 0.5 * (a - c) / denom if denom != 0 else 0.0
        peak_power = float(np.exp(b - 0.25 * (a - c) * shift))
    else:
        shift, peak_power = 0.0, float(power[k])
    f0 = float(freqs[k] + shift * (freqs[1] - freqs[0]))
    # Windows overlap 16x-padded bins: the median of the band is the noise floor.
    snr = peak_power / max(float(np.median(power[band])), 1e-12)
    fundamental = 2.0 * np.sqrt(peak_power) / w.sum()  # sinusoid amplitude
    joined = np.concatenate(segments)
    velocity = np.diff(joined)
    vskew = float(skew(velocity)) if velocity.size > 3 and np.std(velocity) > 0 else 0.0
    period = max(2, int(round(fs / f0))) if f0 > 0 else 2
    cycles = [c for s in segments for c in
              (s[i:i + period] for i in range(0, s.size - period + 1, period))]
    cycle_p2p = float(np.median([np.ptp(c) for c in cycles])) if cycles else 0.0
    return AxisSpectrum(f0, float(2.0 * fundamental), float(snr), len(windows), vskew, cycle_p2p,
                        sum(s.size for s in segments) / fs)


def head_coupling(track: ParamsTrack, eye: np.ndarray, axis: str, f0: float,
                  fs: float) -> tuple[float, float]:
    """Correlation of the eye trace with the head pose on the same axis, and
    the head's share of the movement (head / eye rms), both band-passed around
    f0. (0, 0) when there is too little of both to tell."""
    head = getattr(track, f"head_{axis}")
    ok = np.isfinite(eye) & np.isfinite(head)
    if ok.sum() < MIN_WINDOW_S * fs:
        return 0.0, 0.0
    t = track.t[ok]
    grid = np.arange(t[0], t[-1], 1.0 / fs)
    sos = butter(2, [max(0.3, f0 - COUPLING_BAND_HZ), min(f0 + COUPLING_BAND_HZ, 0.45 * fs)],
                 btype="bandpass", fs=fs, output="sos")
    e = sosfiltfilt(sos, np.interp(grid, t, eye[ok]))
    h = sosfiltfilt(sos, np.interp(grid, t, head[ok]))
    if e.std() == 0 or h.std() == 0:
        return 0.0, 0.0
    return float(np.corrcoef(e, h)[0, 1]), float(h.std() / e.std())


def eye_coherence(g, axis: str, f0: float, fs: float) -> float:
    """Magnitude-squared coherence of the two eyes' traces at f0, over the
    frames where both are seen (Welch windows of half that stretch, 2-4 s,
    stepping a quarter window); NaN when both are seen for less than two
    windows' length, too short to tell."""
    right, left = getattr(g, f"right_{axis}"), getattr(g, f"left_{axis}")
    ok = np.isfinite(right) & np.isfinite(left)
    # rounded down: rounded to the nearest, half the lengths between 4 and 8 s
    # came out a frame short of two windows and were never judged
    nper = int(min(WINDOW_S * fs, max(MIN_WINDOW_S * fs, ok.sum() / 2)))
    if ok.sum() < 2 * nper:
        return float("nan")
    grid = np.arange(g.t[ok][0], g.t[ok][-1], 1.0 / fs)
    a, b = (highpass(remove_gaze_shifts(np.interp(grid, g.t[ok], x[ok]), fs), fs)
            for x in (right, left))
    nfft = 1 << int(np.ceil(np.log2(nper * 4)))
    freqs, coh = coherence(a, b, fs=fs, nperseg=nper, noverlap=3 * nper // 4, nfft=nfft)
    return float(coh[np.argmin(np.abs(freqs - f0))])


def _mean_of_seen(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per frame, the mean of the eyes that are seen (NaN where neither is)."""
    both = np.vstack([a, b])
    seen = np.isfinite(both)
    total = np.where(seen, both, 0.0).sum(axis=0)
    return np.where(seen.any(axis=0), total / np.maximum(seen.sum(axis=0), 1), np.nan)


def measure_nystagmus(track: ParamsTrack) -> Nystagmus:
    fs = 1.0 / track.frame_interval
    g = gaze_traces(track)
    cut, fast_phases, seen_frames = refixations(g, fs)
    per_eye: dict[str, dict[str, AxisSpectrum]] = {}
    for side in ("right", "left"):
        per_eye[side] = {}
        for axis in AXES:
            x = getattr(g, f"{side}_{axis}")
            # the mask through the same resampling: the same finite samples, the same segments
            masks = uniform_segments(g.t, np.where(np.isfinite(x), fast_phases, np.nan), fs)
            raw = [remove_gaze_shifts(seg, fs, mask > 0.5)
                   for seg, mask in zip(uniform_segments(g.t, x, fs), masks)]
            first = axis_spectrum([highpass(s, fs) for s in raw], fs)
            if np.isfinite(first.frequency_hz):
                f0 = first.frequency_hz
                first = axis_spectrum([remove_period_mean(s, fs, f0) for s in raw], fs)
            per_eye[side][axis] = first

    def mean_over_eyes(axis: str, attr: str) -> float:
        vals = [getattr(per_eye[s][axis], attr) for s in per_eye if per_eye[s][axis].windows]
        return float(np.mean(vals)) if vals else 0.0

    amp = {axis: mean_over_eyes(axis, "fundamental_p2p_deg") for axis in AXES}
    main = max(AXES, key=lambda a: amp[a])
    seen = [per_eye[s][main] for s in per_eye if per_eye[s][main].windows]
    hits = [h for h in seen if h.detected]
    # Nystagmus moves both eyes together: when both are seen, both must show
    # the same beat; one eye alone (the other occluded) is taken as it is.
    if len(seen) == 2 and (len(hits) < 2 or abs(hits[0].frequency_hz - hits[1].frequency_hz)
                           > MAX_EYE_FREQUENCY_GAP_HZ):
        hits = []
    if not hits:
        best_snr = max((per_eye[s][a].snr for s in per_eye for a in AXES), default=0.0)
        conf = float(np.clip(1.0 - best_snr / (2 * MIN_SNR), 0.0, 1.0))
        return Nystagmus(False, float("nan"), 0.0, None, None, None, round(conf, 3), per_eye)
    freq = float(np.mean([h.frequency_hz for h in hits]))
    eye = _mean_of_seen(getattr(g, f"right_{main}"), getattr(g, f"left_{main}"))
    r, head_share = head_coupling(track, eye, main, freq, fs)
    if (freq < HEAD_COUPLING_MAX_HZ and abs(r) >= HEAD_COUPLING_R
            and head_share >= HEAD_COUPLING_RATIO):
        return Nystagmus(False, float("nan"), 0.0, None, None, None, 0.5, per_eye,
                         head_coupled=True)
    if len(hits) == 2 and eye_coherence(g, main, freq, fs) < MIN_EYE_COHERENCE:
        return Nystagmus(False, float("nan"), 0.0, None, None, None, 0.5, per_eye,
                         eyes_incoherent=True)
    if freq * fixation_s(cut, seen_frames, fs) < MIN_FIXATION_CYCLES:
        return Nystagmus(False, float("nan"), 0.0, None, None, None, 0.5, per_eye,
                         between_refixations=True)
    vskew = float(np.mean([h.velocity_skew for h in hits]))
    jerk = abs(vskew) >= JERK_SKEW
    if jerk:
        amplitude = float(np.mean([h.cycle_p2p_deg for h in hits]))
        positive = vskew > 0  # fast phase goes the way of the rare large velocities
        fast = ("left" if positive else "right") if main == "yaw" else ("up" if positive else "down")
    else:
        amplitude = float(np.mean([h.fundamental_p2p_deg for h in hits]))
        fast = None
    other = "pitch" if main == "yaw" else "yaw"
    ratio = amp[main] / max(amp[other], 1e-9)
    direction = ("horizontal" if main == "yaw" else "vertical") if ratio >= 2.0 else "oblique"
    snr = float(np.mean([h.snr for h in hits]))
    conf = float(np.clip((snr - MIN_SNR) / (2 * MIN_SNR), 0.0, 1.0)) * len(hits) / 2.0
    conf = 0.5 + 0.5 * conf
    return Nystagmus(True, freq, amplitude, direction, "jerk" if jerk else "pendular",
                     fast, round(conf, 3), per_eye)
