"""`realtime-mask report PARAMS.jsonl -o report.html`: the offline clinical report.

Reads only the de-identified parameter track (JSON lines of MaskParams), never video.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..cli import UsageError
from .paths import check_outputs


def add_parser(sub) -> None:
    p = sub.add_parser("report", help="clinical eye-movement report (HTML) from a MaskParams track")
    p.add_argument("params", type=Path, help="MaskParams JSON lines (from `mask --params` or a session)")
    p.add_argument("-o", "--output", type=Path, required=True, help="the HTML report to write")
    p.add_argument("--json", type=Path, help="also write the measurements as JSON")
    p.add_argument("--title", default=None, help="report title (default: the input file name)")


def run(args) -> int:
    from ..clinical import ParamsTrack, summarize
    from ..clinical.report import render_report
    from ..params import read_jsonl

    if not args.params.is_file():
        raise UsageError(f"{args.params}: no such file")
    if args.output.suffix.lower() not in (".html", ".htm"):
        raise UsageError(f"{args.output}: the report is HTML, give a .html output")
    check_outputs([args.params], [args.output, args.json])
    try:
        frames = list(read_jsonl(args.params))
    except UnicodeDecodeError:
        raise UsageError(f"{args.params}: not a text file of MaskParams JSON lines") from None
    except ValueError as e:
        raise UsageError(str(e)) from None
    if not frames:
        raise UsageError(f"{args.params}: no MaskParams lines")
    track = ParamsTrack.from_params(frames)
    summary = summarize(track)
    html = render_report(track, summary, title=args.title or f"Eye-movement report: {args.params.name}")
    try:
        args.output.write_text(html, encoding="utf-8")
        if args.json:
            args.json.write_text(json.dumps(summary.to_dict(), indent=1, allow_nan=False),
                                 encoding="utf-8")
    except OSError as e:
        raise UsageError(f"cannot write the report: {e}") from None
    signs = ", ".join(f"{f.sign} ({f.detail})" for f in summary.findings) or "no sign"
    print(f"{args.params} -> {args.output}: {len(frames)} frames; {signs}", file=sys.stderr)
    return 0
