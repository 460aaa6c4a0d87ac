"""`realtime-mask synth --sign SIGN -o clip.mp4 --truth truth.json`: a synthetic
patient with known eye signs (a random person, not the avatar) and its ground truth."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..cli import UsageError
from .paths import check_outputs


def add_parser(sub) -> None:
    from ..synth import SIGNS

    p = sub.add_parser("synth", help="render a synthetic patient with a known eye sign and its truth")
    p.add_argument("--sign", choices=SIGNS, required=True)
    p.add_argument("-o", "--output", type=Path, required=True, help="the clip to write (.mp4)")
    p.add_argument("--truth", type=Path, required=True,
                   help="ground truth JSON: the script, the expected measurements, per-frame MaskParams")
    p.add_argument("--seed", type=int, default=0, help="person and timeline (same seed, same clip)")
    p.add_argument("--duration", type=float, default=8.0, help="seconds (default 8)")
    p.add_argument("--fps", type=float, default=30.0)
    p.add_argument("--size", default="640x480", help="WxH (default 640x480)")
    g = p.add_argument_group("strabismus (esotropia, exotropia, hypertropia, hypotropia)")
    g.add_argument("--deviation", type=float, default=10.0, help="degrees (default 10)")
    g.add_argument("--eye", choices=("right", "left"), default="right", help="the deviating eye")
    g.add_argument("--cover-test", action="store_true",
                   help="cover the fixing eye for 2 s from 3 s: the deviating eye takes up fixation")
    g = p.add_argument_group("nystagmus")
    g.add_argument("--frequency", type=float, default=3.0, help="Hz (default 3)")
    g.add_argument("--amplitude", type=float, default=3.0, help="degrees peak-to-peak (default 3)")
    g.add_argument("--direction", choices=("horizontal", "vertical"), default="horizontal")
    g.add_argument("--waveform", choices=("pendular", "jerk"), default="pendular")
    g.add_argument("--fast-phase", choices=("right", "left", "up", "down"), default="right")
    g = p.add_argument_group("lids (ptosis, retraction)")
    g.add_argument("--ptosis-side", choices=("right", "left", "both"), default="left")
    g.add_argument("--mrd1", type=float, default=None,
                   help="upper lid MRD1 in mm (default 1.0 for ptosis, 7.0 for retraction)")
    g.add_argument("--lid-lag", action="store_true",
                   help="upper lids do not follow the eyes down (shows with --gaze-positions)")
    g = p.add_argument_group("performance")
    g.add_argument("--no-blinks", action="store_true")
    g.add_argument("--gaze-positions", action="store_true", help="look through the nine diagnostic positions")
    g.add_argument("--head-turns", action="store_true", help="turn the head while fixating")


def script_from_args(args):
    from ..synth import PatientScript

    kw = dict(
        sign=args.sign, duration_s=args.duration, fps=args.fps, seed=args.seed,
        deviation_deg=args.deviation, deviating_eye=args.eye, cover_test=args.cover_test,
        nystagmus_hz=args.frequency, nystagmus_amplitude_deg=args.amplitude,
        nystagmus_direction=args.direction, nystagmus_waveform=args.waveform,
        nystagmus_fast_phase=args.fast_phase, ptosis_side=args.ptosis_side,
        lid_lag=args.lid_lag, blinks=not args.no_blinks, gaze_positions=args.gaze_positions, head_turns=args.head_turns)
    if args.mrd1 is not None:
        kw["ptosis_mrd1_mm" if args.sign == "ptosis" else "retraction_mrd1_mm"] = args.mrd1
    script = PatientScript(**kw)
    if args.waveform == "jerk":
        allowed = ("right", "left") if args.direction == "horizontal" else ("up", "down")
        if args.fast_phase not in allowed:
            raise UsageError(f"--fast-phase for {args.direction} nystagmus is one of {allowed}")
    if not 5 <= args.fps <= 120:
        raise UsageError("--fps must be within 5..120")
    if not 0.5 <= args.frequency <= 0.45 * args.fps:
        raise UsageError(f"--frequency must be within 0.5..{0.45 * args.fps:g} Hz at {args.fps:g} fps")
    if not 0 < args.amplitude <= 20:
        raise UsageError("--amplitude must be above 0 and at most 20 degrees")
    if args.mrd1 is not None and not -3 <= args.mrd1 <= 9:
        raise UsageError("--mrd1 must be within -3..9 mm")
    if not 1 <= args.duration <= 600:
        raise UsageError("--duration must be within 1..600 s")
    try:
        script.validate()
    except ValueError as e:
        raise UsageError(str(e)) from None
    return script


def run(args) -> int:
    from ..face_model.assets import ModelNotFound, load_face_model
    from ..media import MediaError
    from ..synth import script_patient
    from ..synth.render import write_clip
    from .mask import parse_size

    size = parse_size(args.size)
    if args.output.suffix.lower() != ".mp4":
        raise UsageError(f"{args.output}: write the clip as .mp4")
    check_outputs([], [args.output, args.truth])
    script = script_from_args(args)
    patient = script_patient(script)
    try:
        model = load_face_model()
    except ModelNotFound as e:
        raise UsageError(str(e)) from None
    try:
        patient = write_clip(model, patient, args.output, *size)
        args.truth.write_text(json.dumps(patient.to_json_dict(), separators=(",", ":")),
                              encoding="utf-8")
    except (MediaError, OSError) as e:
        raise UsageError(f"cannot write the clip: {e}") from None
    signs = ", ".join(patient.truth["expected_signs"]) or "no sign"
    print(f"{args.output}: {len(patient.frames)} frames, {script.sign} ({signs}); truth in {args.truth}",
          file=sys.stderr)
    return 0
