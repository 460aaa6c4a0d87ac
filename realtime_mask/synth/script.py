"""Scripted synthetic patients: per-frame MaskParams with known eye signs.

A script is a seeded timeline: the patient fixates a target (the camera, at
gaze 0: the patient's renderer turns each eye in to converge on it, as a
patient looking at the screen does; or the nine diagnostic gaze positions), turns the head while keeping the eyes
on the target, blinks at irregular intervals, and carries one sign:
strabismus (one eye offset by a fixed angle), nystagmus (a conjugate pendular
or jerk oscillation), ptosis (upper lid lowered to a given MRD1) or lid
retraction. Everything the measurements should recover is in `truth`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from ..clinical.units import IRIS_RADIUS_MM
from ..params import EXPRESSION_NAMES, NEUTRAL_LOWER_LID, NEUTRAL_UPPER_LID, EyeParams, HeadPose, MaskParams

SIGNS = ("normal", "esotropia", "exotropia", "hypertropia", "hypotropia",
         "nystagmus", "ptosis", "retraction")
STRABISMUS = ("esotropia", "exotropia", "hypertropia", "hypotropia")
SACCADE_S = 0.05           # a refixation takes about this long
NINE_GAZE = [(0, 0), (15, 0), (15, 10), (0, 10), (-15, 10), (-15, 0), (-15, -10), (0, -10), (15, -10)]
BLINK_CLOSE_S, BLINK_HOLD_S, BLINK_OPEN_S = 0.08, 0.05, 0.14
EYEBALL_RADIUS_MM = 12.0


@dataclass
class PatientScript:
    sign: str = "normal"
    duration_s: float = 8.0
    fps: float = 30.0
    seed: int = 0
    # strabismus
    deviation_deg: float = 10.0
    deviating_eye: str = "right"
    # cover test (strabismus only): the fixing eye is covered for cover_for_s from
    # cover_from_s; the deviating eye takes up fixation and, both eyes moving
    # together, the covered one turns away by the deviation; on uncovering the
    # fixing eye takes over again
    cover_test: bool = False
    cover_from_s: float = 3.0
    cover_for_s: float = 2.0
    # nystagmus
    nystagmus_hz: float = 3.0
    nystagmus_amplitude_deg: float = 3.0       # peak-to-peak
    nystagmus_direction: str = "horizontal"    # horizontal | vertical
    nystagmus_waveform: str = "pendular"       # pendular | jerk
    nystagmus_fast_phase: str = "right"        # jerk: right | left | up | down (patient's)
    # lids
    ptosis_side: str = "left"                  # left | right | both
    ptosis_mrd1_mm: float = 1.0
    retraction_mrd1_mm: float = 7.0            # both eyes
    lid_lag: bool = False                      # upper lids stay up when the eyes look down
    # the rest of the performance
    blinks: bool = True
    blink_interval_s: tuple[float, float] = (2.0, 4.0)
    gaze_positions: bool = False               # cycle the nine diagnostic positions
    gaze_hold_s: float = 0.9
    head_turns: bool = False
    head_turn_deg: float = 15.0
    fixation_noise_deg: float = 0.1

    def validate(self) -> None:
        if self.sign not in SIGNS:
            raise ValueError(f"unknown sign {self.sign!r}; one of {', '.join(SIGNS)}")
        if self.deviating_eye not in ("right", "left"):
            raise ValueError("deviating_eye must be right or left")
        if self.ptosis_side not in ("right", "left", "both"):
            raise ValueError("ptosis_side must be right, left or both")
        if self.nystagmus_direction not in ("horizontal", "vertical"):
            raise ValueError("nystagmus_direction must be horizontal or vertical")
        if self.nystagmus_waveform not in ("pendular", "jerk"):
            raise ValueError("nystagmus_waveform must be pendular or jerk")
        if self.duration_s <= 0 or self.fps <= 0:
            raise ValueError("duration and fps must be positive")
        if not 0.0 <= self.deviation_deg <= 30.0:
            raise ValueError("deviation must be within 0..30 degrees")
        if self.cover_test and self.sign not in STRABISMUS:
            raise ValueError("a cover test needs a strabismus sign (esotropia, exotropia, "
                             "hypertropia, hypotropia)")
        if self.cover_test and not (0 < self.cover_from_s
                                    and self.cover_from_s + self.cover_for_s < self.duration_s):
            raise ValueError("the cover must start after 0 s and end before the clip does")


@dataclass
class ScriptedPatient:
    script: PatientScript
    frames: list[MaskParams]
    blinks: list[tuple[float, float]]
    truth: dict = field(default_factory=dict)

    def to_json_dict(self) -> dict:
        return {"script": asdict(self.script), "truth": self.truth,
                "blinks": [list(b) for b in self.blinks],
                "frames": [p.to_dict() for p in self.frames]}


def _target(s: PatientScript, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gaze target direction (degrees, +yaw patient's left, +pitch up) over time."""
    yaw, pitch = np.zeros_like(t), np.zeros_like(t)
    if s.gaze_positions:
        idx = (t // s.gaze_hold_s).astype(int) % len(NINE_GAZE)
        yaw = np.array([NINE_GAZE[i][0] for i in idx], float)
        pitch = np.array([NINE_GAZE[i][1] for i in idx], float)
    return yaw, pitch


def _head_yaw(s: PatientScript, t: np.ndarray) -> np.ndarray:
    if not s.head_turns:
        return np.zeros_like(t)
    return s.head_turn_deg * np.sin(2 * np.pi * t / 4.0)  # a slow turn every 4 s


def _blink_times(s: PatientScript, rng: np.random.Generator) -> list[tuple[float, float]]:
    if not s.blinks:
        return []
    out, t = [], rng.uniform(0.6, 1.5)
    length = BLINK_CLOSE_S + BLINK_HOLD_S + BLINK_OPEN_S
    while t + length < s.duration_s - 0.3:
        out.append((round(t, 4), round(t + length, 4)))
        t += length + rng.uniform(*s.blink_interval_s)
    return out


def _closure(t: np.ndarray, blinks: list[tuple[float, float]]) -> np.ndarray:
    """0 open .. 1 closed over time: fast close, short hold, slower opening."""
    c = np.zeros_like(t)
    for start, _ in blinks:
        u = t - start
        closing = (u >= 0) & (u < BLINK_CLOSE_S)
        c[closing] = u[closing] / BLINK_CLOSE_S
        hold = (u >= BLINK_CLOSE_S) & (u < BLINK_CLOSE_S + BLINK_HOLD_S)
        c[hold] = 1.0
        v = u - BLINK_CLOSE_S - BLINK_HOLD_S
        opening = (v >= 0) & (v < BLINK_OPEN_S)
        c[opening] = 1.0 - v[opening] / BLINK_OPEN_S
    return c


def _nystagmus(s: PatientScript, t: np.ndarray) -> np.ndarray:
    amp = s.nystagmus_amplitude_deg
    if s.nystagmus_waveform == "pendular":
        return 0.5 * amp * np.sin(2 * np.pi * s.nystagmus_hz * t)
    # Jerk: slow drift over 85% of the cycle, fast reset in the rest. The slow
    # phase drifts away from the fast-phase side.
    phase = (s.nystagmus_hz * t) % 1.0
    slow = 0.85
    saw = np.where(phase < slow, phase / slow, 1.0 - (phase - slow) / (1.0 - slow)) - 0.5
    # saw rises slowly and falls fast: its fast phase is towards negative values.
    negative_fast = s.nystagmus_fast_phase in ("right", "down")
    return amp * saw * (1.0 if negative_fast else -1.0)


def script_patient(s: PatientScript) -> ScriptedPatient:
    s.validate()
    rng = np.random.default_rng(s.seed)
    n = int(round(s.duration_s * s.fps))
    t = np.arange(n) / s.fps
    target_yaw, target_pitch = _target(s, t)
    head_yaw = _head_yaw(s, t)
    # Eyes counter-rotate against the head to stay on the target (the VOR).
    eye_yaw = target_yaw - head_yaw
    eye_pitch = target_pitch.copy()
    if s.fixation_noise_deg > 0:
        drift = rng.normal(0, s.fixation_noise_deg, (2, n))
        eye_yaw, eye_pitch = eye_yaw + drift[0], eye_pitch + drift[1]

    gaze = {side: [eye_yaw.copy(), eye_pitch.copy()] for side in ("right", "left")}
    horiz_dev = vert_dev = 0.0
    turn = np.zeros(2)            # the deviating eye's turn away from the target (yaw, pitch)
    if s.sign in ("esotropia", "exotropia"):
        nasal = 1.0 if s.deviating_eye == "right" else -1.0  # right eye: nose at +yaw
        turn[0] = (nasal if s.sign == "esotropia" else -nasal) * s.deviation_deg
        horiz_dev = s.deviation_deg if s.sign == "esotropia" else -s.deviation_deg
    elif s.sign in ("hypertropia", "hypotropia"):
        up = 1.0 if s.sign == "hypertropia" else -1.0
        turn[1] = up * s.deviation_deg
        right_higher = up if s.deviating_eye == "right" else -up
        vert_dev = right_higher * s.deviation_deg
    for axis in (0, 1):
        gaze[s.deviating_eye][axis] += turn[axis]
    covered = np.zeros(n, bool)
    fixing = "left" if s.deviating_eye == "right" else "right"
    if s.cover_test:
        end = s.cover_from_s + s.cover_for_s
        covered = (t >= s.cover_from_s) & (t < end)
        # both eyes move by the deviating eye's turn, back again on uncovering
        ramp = (np.clip((t - s.cover_from_s) / SACCADE_S, 0, 1)
                - np.clip((t - end) / SACCADE_S, 0, 1))
        for side in gaze:
            for axis in (0, 1):
                gaze[side][axis] -= turn[axis] * ramp
    if s.sign == "nystagmus":
        wave = _nystagmus(s, t)
        axis = 0 if s.nystagmus_direction == "horizontal" else 1
        for side in gaze:
            gaze[side][axis] += wave

    open_upper = {"right": NEUTRAL_UPPER_LID, "left": NEUTRAL_UPPER_LID}
    if s.sign == "ptosis":
        for side in (("right", "left") if s.ptosis_side == "both" else (s.ptosis_side,)):
            open_upper[side] = s.ptosis_mrd1_mm / IRIS_RADIUS_MM
    elif s.sign == "retraction":
        open_upper = {k: s.retraction_mrd1_mm / IRIS_RADIUS_MM for k in open_upper}
    lower = NEUTRAL_LOWER_LID

    blinks = _blink_times(s, rng)
    closure = _closure(t, blinks)
    frames = []
    for i in range(n):
        eyes = {}
        for side in ("right", "left"):
            level = open_upper[side]
            pitch = float(gaze[side][1][i])
            if s.lid_lag and pitch < 0:
                # The lid stays where it was while the iris centre goes down.
                level += EYEBALL_RADIUS_MM * np.sin(np.radians(-pitch)) / IRIS_RADIUS_MM
            # Closing moves the upper lid down to the lower lid margin.
            upper = level + closure[i] * (-lower - level)
            eyes[side] = EyeParams(yaw_deg=float(gaze[side][0][i]), pitch_deg=float(gaze[side][1][i]),
                                   upper_lid=float(upper), lower_lid=lower, blink=float(closure[i]),
                                   covered=bool(covered[i]) and side == fixing)
        frames.append(MaskParams(
            timestamp=float(t[i]), face_present=True, confidence=1.0,
            head=HeadPose(yaw_deg=float(head_yaw[i])),
            expression=np.zeros(len(EXPRESSION_NAMES), np.float32),
            left_eye=eyes["left"], right_eye=eyes["right"]))

    truth = {
        "sign": s.sign,
        "horizontal_deviation_deg": horiz_dev,
        "vertical_deviation_deg": vert_dev,
        "mrd1_mm": {k: round(v * IRIS_RADIUS_MM, 4) for k, v in open_upper.items()},
        "mrd2_mm": {k: round(lower * IRIS_RADIUS_MM, 4) for k in open_upper},
        "blink_count": len(blinks),
        "lid_lag": s.lid_lag,
        "nystagmus": None if s.sign != "nystagmus" else {
            "frequency_hz": s.nystagmus_hz, "amplitude_deg": s.nystagmus_amplitude_deg,
            "direction": s.nystagmus_direction, "waveform": s.nystagmus_waveform,
            "fast_phase": s.nystagmus_fast_phase if s.nystagmus_waveform == "jerk" else None},
        "expected_signs": expected_signs(s),
        "cover_test": None if not s.cover_test else {
            "covered_eye": fixing, "start_s": s.cover_from_s,
            "end_s": s.cover_from_s + s.cover_for_s,
            # how far the uncovered (deviating) eye moves to take up fixation
            "refixation_yaw_deg": float(-turn[0]), "refixation_pitch_deg": float(-turn[1])},
    }
    return ScriptedPatient(s, frames, blinks, truth)


def expected_signs(s: PatientScript) -> list[str]:
    extra = ["lid lag"] if s.lid_lag and s.gaze_positions else []  # seen only in downgaze
    return _sign_of(s) + extra


def _sign_of(s: PatientScript) -> list[str]:
    if s.sign in ("esotropia", "exotropia"):
        return [s.sign] if s.deviation_deg > 0 else []
    if s.sign in ("hypertropia", "hypotropia"):
        return ["hypertropia"] if s.deviation_deg > 0 else []
    if s.sign == "retraction":
        return ["lid retraction"]
    return [] if s.sign == "normal" else [s.sign]
