"""`realtime-mask mask INPUT -o OUTPUT`: mask a video or an image file."""

from __future__ import annotations

import sys
from pathlib import Path

from ..cli import UsageError
from .paths import check_outputs


def add_parser(sub) -> None:
    p = sub.add_parser("mask", help="mask a video (mp4, mpg, mov, ...) or an image (jpg, png, webp)")
    p.add_argument("input", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True)
    p.add_argument("--params", type=Path, help="also write the per-frame MaskParams as JSON lines")
    p.add_argument("--size", default="640x480", help="output size WxH (default 640x480)")
    p.add_argument("--avatar", choices=("per-session", "shared"), default="per-session",
                   help="a random avatar face for this file (default; masks of one person "
                        "cannot be matched across files) or the shared mean face")


def parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--size must look like 640x480, not {text!r}") from None
    # what AvatarRenderer draws: checked here, before any work starts
    if not (16 <= w <= 4096 and 16 <= h <= 4096) or w % 4 or h % 2:
        raise UsageError(f"--size {text}: width a multiple of 4 and height even, "
                         "both 16..4096")
    return w, h


def run(args) -> int:
    from ..caches import first_run_notice
    from ..face_model.assets import ModelNotFound, load_face_model
    from ..media import MediaError, is_image

    size = parse_size(args.size)
    if not args.input.is_file():
        raise UsageError(f"{args.input}: no such file")
    check_outputs([args.input], [args.output, args.params])
    try:
        notice = first_run_notice(load_face_model(), pool=args.avatar == "per-session")
        if notice:
            print(notice, file=sys.stderr, flush=True)
        if is_image(args.input):
            summary = _mask_image(args, size)
        else:
            summary = _mask_video(args, size)
    except (MediaError, ModelNotFound) as e:
        raise UsageError(str(e)) from e
    except OSError as e:            # e.g. a file or folder without permission
        raise UsageError(f"{e.filename}: {e.strerror}" if e.filename else str(e)) from e
    print(summary, file=sys.stderr)
    return 0


def _mask_image(args, size) -> str:
    from ..media import is_image, read_image, write_image
    from ..params import write_jsonl
    from ..pipeline import FrameMasker

    if not is_image(args.output):
        raise UsageError(f"{args.output}: an image input needs an image output (.png, .jpg, .webp)")
    rgb = read_image(args.input)
    with FrameMasker(*size, static_images=True, avatar=args.avatar) as masker:
        result = masker.process(rgb, 0.0)
    write_image(args.output, result.frame)
    if args.params:
        write_jsonl(args.params, [result.params])
    face = "face found" if result.params.face_present else "NO FACE found: wrote the placeholder"
    return f"{args.input} -> {args.output}: {face}"


def _mask_video(args, size) -> str:
    from tqdm import tqdm

    from ..media import MediaError, VideoWriter, probe_video, read_video
    from ..pipeline import FrameMasker

    info = probe_video(args.input)
    params_file = open(args.params, "w", encoding="utf-8") if args.params else None
    writer = VideoWriter(args.output, *size, info.frame_rate)
    frames = no_face = covered = 0
    try:
        with FrameMasker(*size, avatar=args.avatar) as masker:
            bar = tqdm(read_video(args.input), total=info.frame_count, unit="frame",
                       desc=args.input.name, disable=None)
            for rgb, t in bar:
                result = masker.process(rgb, t, output="yuv420p")
                writer.write_yuv420(result.frame)
                if params_file:
                    params_file.write(result.params.to_json() + "\n")
                frames += 1
                no_face += not result.params.face_present
                covered += result.params.left_eye.covered or result.params.right_eye.covered
    finally:
        if params_file:
            params_file.close()
        writer.close()
    if frames == 0:
        args.output.unlink(missing_ok=True)
        raise MediaError(f"{args.input}: contains no video frames")
    pct = 100.0 * no_face / frames
    cover = f", {covered} with an eye covered (drawn covered)" if covered else ""
    return (f"{args.input} -> {args.output}: {frames} frames at {float(info.frame_rate):.2f} fps, "
            f"{no_face} without a face ({pct:.1f}%){cover}")
