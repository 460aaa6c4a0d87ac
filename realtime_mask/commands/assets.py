"""`realtime-mask assets`: where the avatar model came from and the cache state."""

from __future__ import annotations

from ..cli import UsageError
from ..face_model import assets


def add_parser(sub) -> None:
    p = sub.add_parser("assets", help="show the avatar model's origin and cache state")
    p.add_argument("--build", action="store_true",
                   help="build everything derived from the model now (model cache, landmark "
                        "correspondence, eye calibration, session avatar pool)")


def run(args) -> int:
    if args.build:
        try:
            model = assets.load_face_model()
        except assets.ModelNotFound as e:
            raise UsageError(str(e)) from e
        from ..caches import build_derived_caches

        pool = build_derived_caches(model)
        print(f"derived caches ready: correspondence, eye calibration, {len(pool)} session avatars")
    try:
        print(assets.describe_assets())
    except assets.ModelNotFound as e:
        raise UsageError(str(e)) from e
    return 0
