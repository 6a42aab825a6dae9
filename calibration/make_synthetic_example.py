"""Re-make calibration/profiles/synthetic-example-1280x720.json: a profile from SYNTHETIC views.

The board is rendered through a known camera (the same one tests/unit/test_calibration.py uses:
fx 910, fy 905, principal point (652, 347), k1 -0.30, k2 0.10) and calibrated by
`romcam calibrate camera --images`, exactly as photos of a printed board would be. The profile
therefore describes no real webcam: use it to try the commands, never to measure people.

    python calibration/make_synthetic_example.py        (from the repository root)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from romcam import calibration as cal
from romcam.cli import main

SIZE = (1280, 720)
K_TRUE = np.array([[910.0, 0.0, 652.0], [0.0, 905.0, 347.0], [0.0, 0.0, 1.0]])
DIST_TRUE = np.array([-0.30, 0.10, 0.0008, -0.0006, 0.0])
NAME = "synthetic-example-1280x720"


def render_views(folder: Path, n: int = 16, seed: int = 5) -> None:
    spec = cal.BoardSpec()
    camera = cal.SyntheticCamera(K_TRUE, DIST_TRUE, SIZE)
    page = cal.board_texture(spec, 8.0)
    ox, oy = spec.origin_mm()
    centre = (ox + spec.width_mm / 2, oy + spec.height_mm / 2)
    rng = np.random.default_rng(seed)
    for i in range(n):
        target = (rng.uniform(0.05, 0.95) * (SIZE[0] - 1), rng.uniform(0.05, 0.95) * (SIZE[1] - 1))
        tilt = (rng.uniform(-40, 40), rng.uniform(-40, 40), rng.uniform(-30, 30))
        rvec, tvec = camera.pose_for(centre, target, rng.uniform(330, 520), tilt)
        image = camera.render(page, 8.0, rvec, tvec, noise=2.0, rng=rng)
        cv2.imwrite(str(folder / f"synthetic{i:02d}.png"), image)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        render_views(Path(tmp))
        sys.exit(main(["calibrate", "camera", "--images", tmp, "--name", NAME, "--board", "calibration/board.json",
                       "--out-dir", "calibration/profiles", "--overwrite",
                       "--note", "SYNTHETIC example, not a real camera: rendered through fx 910, fy 905, "
                                 "principal point (652, 347), k1 -0.30, k2 0.10 by "
                                 "calibration/make_synthetic_example.py"]))
