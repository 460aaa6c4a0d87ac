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
        from ..avatar_pool import load_avatar_pool
        from ..face_model.correspondence import load_correspondence
        from ..face_model.eye_calibration import load_eye_calibration

        load_correspondence(model)
        load_eye_calibration(model)
        pool = load_avatar_pool(model)
        print(f"derived caches ready: correspondence, eye calibration, {len(pool)} session avatars")
    print(assets.describe_assets())
    return 0
