"""Write lunges_side.mp4 as the app's server would receive it, for `romcam analyze`.

Run from the project root:  python docs/validation/jpeg_frames.py OUT_DIR
Writes raw1280.y4m (the camera's frames), raw640.y4m (downscaled to the app's 640 px, no JPEG),
q80_1280.y4m, and q80/q90/q95_640.y4m (640 px through OpenCV's JPEG of that quality).
"""

import sys
from pathlib import Path

import cv2

sys.path.insert(0, "tests/tools")
from browser import write_y4m  # noqa: E402

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
cap = cv2.VideoCapture(str(Path("../shared/media/lunges_side.mp4")))
fps = cap.get(cv2.CAP_PROP_FPS)
frames = []
while (read := cap.read())[0]:
    frames.append(read[1])


def small(f):
    return cv2.resize(f, (640, 360), interpolation=cv2.INTER_AREA)


def jpeg(f, quality):
    return cv2.imdecode(cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, quality])[1], cv2.IMREAD_COLOR)


write_y4m(frames, fps, out / "raw1280.y4m")
write_y4m([jpeg(f, 80) for f in frames], fps, out / "q80_1280.y4m")
write_y4m([small(f) for f in frames], fps, out / "raw640.y4m")
for q in (80, 90, 95):
    write_y4m([jpeg(small(f), q) for f in frames], fps, out / f"q{q}_640.y4m")
