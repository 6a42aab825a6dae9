"""The ChArUco board: its spec (saved beside the printed PDF), its page, and finding it in an image."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from romcam.calibration.jsonfile import check_format, json_text, read_json
from romcam.calibration.printing import (CellGrid, PAPER_MM, PageLayout, aruco_dictionary, marker_bits,
                                         rasterize_page, scale_bars, write_page_pdf)
from romcam.errors import RomcamError
from romcam.files import atomic_write_bytes

BOARD_DICTIONARY = "DICT_4X4_50"        # large 4x4 bits survive webcam blur best
MIN_CORNERS_PER_VIEW = 8                # fewer board corners than this: "partly visible"
BLUR_LIMIT_PX = 2.5                     # edge blur (Gaussian sigma, px) above which a view is refused
BOARD_FORMAT = "romcam-charuco-board"


def to_gray(image: np.ndarray) -> np.ndarray:
    """8-bit single-channel copy of a BGR or gray image."""
    if image.ndim == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return image


@dataclass(frozen=True)
class BoardSpec:
    """A ChArUco board: ``squares_x`` by ``squares_y`` squares of ``square_mm``, printed on ``paper``."""

    squares_x: int = 7
    squares_y: int = 5
    square_mm: float = 30.0
    marker_mm: float = 22.0
    dictionary: str = BOARD_DICTIONARY
    paper: str = "A4"

    def __post_init__(self):
        if self.squares_x < 3 or self.squares_y < 3:
            raise RomcamError(f"a board needs at least 3x3 squares, got {self.squares_x}x{self.squares_y}")
        if not 0 < self.marker_mm < self.square_mm:
            raise RomcamError(f"markers ({self.marker_mm} mm) must be smaller than the squares "
                              f"({self.square_mm} mm); try --square-mm 30 (markers are 0.73 of a square)")
        markers = self.squares_x * self.squares_y // 2
        size = aruco_dictionary(self.dictionary).bytesList.shape[0]
        if markers > size:
            raise RomcamError(f"a {self.squares_x}x{self.squares_y} board needs {markers} markers but "
                              f"{self.dictionary} has only {size}; use fewer squares")
        if self.paper not in PAPER_MM:
            raise RomcamError(f"unknown paper {self.paper!r}; use one of {', '.join(PAPER_MM)}")

    @property
    def width_mm(self) -> float:
        return self.squares_x * self.square_mm

    @property
    def height_mm(self) -> float:
        return self.squares_y * self.square_mm

    @property
    def corner_count(self) -> int:
        return (self.squares_x - 1) * (self.squares_y - 1)

    def cv_board(self):
        """The OpenCV CharucoBoard (object points in mm, origin at the board's top-left)."""
        return cv2.aruco.CharucoBoard((self.squares_x, self.squares_y), float(self.square_mm),
                                      float(self.marker_mm), aruco_dictionary(self.dictionary))

    def corner_points_mm(self) -> np.ndarray:
        """(corner_count, 2) inner-corner positions on the board, mm, row by row."""
        return self.cv_board().getChessboardCorners()[:, :2].astype(np.float64)

    def page_size_mm(self) -> tuple[float, float]:
        """The paper, landscape when the board is wider than tall."""
        short, long_ = PAPER_MM[self.paper]
        return (long_, short) if self.width_mm >= self.height_mm else (short, long_)

    def origin_mm(self) -> tuple[float, float]:
        """Page position of the board's top-left corner: centred, a little above the middle."""
        page_w, page_h = self.page_size_mm()
        margin_x = (page_w - self.width_mm) / 2
        margin_y = (page_h - self.height_mm) / 2
        if margin_x < 8.0 or margin_y < 14.0:
            raise RomcamError(
                f"a {self.width_mm:.0f} x {self.height_mm:.0f} mm board does not fit on {self.paper} "
                "with printer margins; use smaller squares (--square-mm) or fewer (--squares), or --paper A3")
        return margin_x, margin_y

    def to_dict(self) -> dict:
        page_w, page_h = self.page_size_mm()
        return {"format": BOARD_FORMAT, "version": 1, "squares_x": self.squares_x,
                "squares_y": self.squares_y, "square_mm": self.square_mm, "marker_mm": self.marker_mm,
                "dictionary": self.dictionary, "paper": self.paper, "page_mm": [page_w, page_h],
                "board_origin_mm": list(self.origin_mm()), "inner_corners": self.corner_count,
                "opencv_pattern": "OpenCV >= 4.6 ChArUco (not legacy)"}

    @classmethod
    def from_dict(cls, data: dict, source="board file") -> BoardSpec:
        check_format(data, source, BOARD_FORMAT, "ChArUco board",
                      "use the board.json written beside the board PDF by `romcam calibrate board`")
        try:
            return cls(int(data["squares_x"]), int(data["squares_y"]), float(data["square_mm"]),
                       float(data["marker_mm"]), str(data["dictionary"]), str(data.get("paper", "A4")))
        except (KeyError, TypeError, ValueError) as exc:
            raise RomcamError(f"{source} is a damaged board file ({exc!r} missing or wrong); "
                              "write it again with `romcam calibrate board`") from None


def parse_squares(text: str) -> tuple[int, int]:
    """"7x5" -> (7, 5)."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX*]\s*(\d+)\s*", text or "")
    if not match:
        raise RomcamError(f"--squares must look like 7x5 (squares across x down), got {text!r}")
    return int(match.group(1)), int(match.group(2))


def load_board(path: str | Path) -> BoardSpec:
    """The board described by a board.json file."""
    return BoardSpec.from_dict(read_json(Path(path), "board"), source=path)


def board_layout(spec: BoardSpec) -> PageLayout:
    """The board page: chessboard squares and markers, a caption and two 100 mm scale bars."""
    board = spec.cv_board()
    ox, oy = spec.origin_mm()
    layout = PageLayout(spec.page_size_mm())
    rows, cols = np.indices((spec.squares_y, spec.squares_x))
    chess = (rows + cols) % 2 == 0      # OpenCV >= 4.6: the top-left square is black
    layout.grids.append(CellGrid(chess, (ox + spec.width_mm / 2, oy + spec.height_mm / 2), spec.square_mm))
    for marker_id, corners in zip(np.asarray(board.getIds()).ravel(), board.getObjPoints()):
        corners = np.asarray(corners)[:, :2]
        centre = corners.mean(axis=0)
        bits = marker_bits(spec.dictionary, int(marker_id))
        layout.grids.append(CellGrid(bits, (ox + centre[0], oy + centre[1]), spec.marker_mm / bits.shape[0]))
    page_w, page_h = layout.size_mm
    caption_y = oy + spec.height_mm + 9
    layout.texts += [
        (ox, oy - 5, f"romcam ChArUco board {spec.squares_x}x{spec.squares_y}, squares {spec.square_mm:g} mm, "
                     f"markers {spec.marker_mm:g} mm, {spec.dictionary}", 9),
        (ox, caption_y, "Print at 100% (\"actual size\", no \"fit to page\"). Check with a ruler: "
                        f"one square = {spec.square_mm:g} mm, each bar = 100 mm.", 8),
    ]
    scale_bars(layout, ox, min(caption_y + 9, page_h - 6))
    bar_x = ox + spec.width_mm + 6
    if bar_x < page_w - 5 and spec.height_mm >= 100:
        layout.lines += [((bar_x, oy), (bar_x, oy + 100), 0.3), ((bar_x - 3, oy), (bar_x + 3, oy), 0.3),
                         ((bar_x - 3, oy + 100), (bar_x + 3, oy + 100), 0.3)]
    return layout


def write_board(spec: BoardSpec, out_pdf: str | Path, overwrite: bool = False) -> tuple[Path, Path]:
    """Write the board PDF and its parameters (same name, .json) beside it.

    An existing board with *different* parameters is kept unless ``overwrite``: its JSON
    describes a board someone may have printed.
    """
    out_pdf = Path(out_pdf)
    if out_pdf.suffix.lower() != ".pdf":
        raise RomcamError(f"--out must end in .pdf, got {out_pdf}")
    out_json = out_pdf.with_suffix(".json")
    if out_json.exists() and not overwrite:
        try:
            existing = load_board(out_json)
        except RomcamError:
            existing = None
        if existing != spec:
            raise RomcamError(f"{out_json} already describes a different board (maybe printed already); "
                              "choose another --out or pass --overwrite")
    write_page_pdf(board_layout(spec), out_pdf, title="romcam ChArUco calibration board")
    atomic_write_bytes(out_json, json_text(spec.to_dict()).encode())
    return out_pdf, out_json


def board_texture(spec: BoardSpec, px_per_mm: float) -> np.ndarray:
    """The whole board page as a gray image at ``px_per_mm`` (for rendering synthetic views)."""
    return rasterize_page(board_layout(spec), px_per_mm)


# --------------------------------------------------------------------------------------------
# Seeing the board in an image
# --------------------------------------------------------------------------------------------

@dataclass
class BoardView:
    """The ChArUco corners found in one image, and whether the view is good enough to use."""

    name: str
    image_size: tuple[int, int]          # width, height
    corners: np.ndarray                  # (N, 2) float64 pixels
    ids: np.ndarray                      # (N,) int corner ids
    blur_px: float | None = None
    problem: str | None = None           # None = usable

    @property
    def ok(self) -> bool:
        return self.problem is None


def edge_blur_px(gray: np.ndarray, corners: np.ndarray) -> float | None:
    """Blur of the board's edges, as the sigma (px) of a Gaussian that would smear them so.

    Around each corner, an edge of contrast C blurred by a Gaussian of sigma s has a steepest
    gradient of C / (s * sqrt(2 pi)); s is solved from the local contrast and the 99th percentile
    gradient. Measured on rendered boards: 0.7-0.8 px sharp, 1.2 after a sigma-1 blur, 1.5 after
    sigma 1.5 (the estimate is sqrt(s0^2 + s^2) within 10 %). Median over corners.
    """
    pts = np.asarray(corners, dtype=float).reshape(-1, 2)
    if len(pts) < 2:
        return None
    g = gray.astype(np.float32)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    magnitude = np.hypot(gx, gy)
    gaps = np.linalg.norm(pts[:, None] - pts[None], axis=2)
    np.fill_diagonal(gaps, np.inf)
    estimates = []
    for (x, y), gap in zip(pts, gaps.min(axis=1)):
        half = max(4, int(0.45 * gap))
        xi, yi = int(round(x)), int(round(y))
        window = (slice(max(0, yi - half), yi + half + 1), slice(max(0, xi - half), xi + half + 1))
        patch = g[window]
        if patch.size < 16:
            continue
        contrast = np.percentile(patch, 95) - np.percentile(patch, 5)
        steepest = np.percentile(magnitude[window], 99)
        if contrast >= 20 and steepest > 0:
            estimates.append(contrast / (math.sqrt(2 * math.pi) * steepest))
    return float(np.median(estimates)) if estimates else None


def detect_board(image: np.ndarray, spec: BoardSpec, name: str = "image",
                 min_corners: int = MIN_CORNERS_PER_VIEW, blur_limit_px: float = BLUR_LIMIT_PX) -> BoardView:
    """Find the board's inner corners in ``image`` and judge the view (see ``BoardView.problem``)."""
    gray = to_gray(image)
    size = (gray.shape[1], gray.shape[0])
    board = spec.cv_board()
    corners, ids, _, _ = cv2.aruco.CharucoDetector(board).detectBoard(gray)
    if ids is None or len(ids) == 0:
        return BoardView(name, size, np.empty((0, 2)), np.empty(0, int), None,
                         "board not found (out of view, too small, blurred, or a different board?)")
    corners = corners.reshape(-1, 2).astype(np.float64)
    ids = ids.ravel().astype(int)
    blur = edge_blur_px(gray, corners)
    view = BoardView(name, size, corners, ids, blur)
    if len(ids) < min_corners:
        view.problem = f"board only partly visible: {len(ids)} of {spec.corner_count} corners (need {min_corners})"
    elif board.checkCharucoCornersCollinear(ids.reshape(-1, 1)):
        view.problem = "board corners all on one line (only a strip of the board is visible)"
    elif blur is not None and blur > blur_limit_px:
        view.problem = (f"blurred: edges smeared over {blur:z.1f} px (limit {blur_limit_px:z.1f}); "
                        "hold the board still, focus, or add light")
    return view


def board_homography(view: BoardView, spec: BoardSpec, points_px: np.ndarray | None = None) -> np.ndarray:
    """3x3 homography from board mm to image pixels, scaled so points in front have w > 0."""
    obj = spec.corner_points_mm()[view.ids]
    img = view.corners if points_px is None else points_px
    h, _ = cv2.findHomography(obj, img, 0)
    if h is None:
        raise RomcamError(f"{view.name}: the board's corners do not fit a plane; is the board flat?")
    centre = np.append(obj.mean(axis=0), 1.0)
    return h if (h @ centre)[2] > 0 else -h


def view_descriptor(view: BoardView, spec: BoardSpec) -> np.ndarray:
    """Where and how the board sits in the image: centre x, centre y, size, tilt (all 0..1).

    Tilt is 1 - (smaller / larger singular value) of the board-to-image mapping at the board's
    centre: 0 when the board faces the camera, growing as it turns away.
    """
    w, h = view.image_size
    centre = view.corners.mean(axis=0)
    hull = cv2.convexHull(view.corners.astype(np.float32))
    size = math.sqrt(cv2.contourArea(hull) / (w * h))
    hom = board_homography(view, spec)
    c = np.append(spec.corner_points_mm()[view.ids].mean(axis=0), 1.0)
    p = hom @ c
    jac = (hom[:2, :2] * p[2] - np.outer(p[:2], hom[2, :2])) / p[2] ** 2
    s = np.linalg.svd(jac, compute_uv=False)
    return np.array([centre[0] / w, centre[1] / h, size, 1.0 - s[1] / s[0]])
