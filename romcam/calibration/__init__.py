"""Camera calibration: printable targets, lens intrinsics, undistortion, camera level, angle check.

Wide-angle webcams bend straight limbs near the image edges (barrel distortion), and a tilted
camera adds its tilt to every angle measured against the image vertical. This module makes both
measurable and correctable:

* **Printable targets** are described as :class:`PageLayout` objects (black cell grids placed on
  a page in millimetres). The same layout is written as a vector PDF at exact physical size and
  rasterised for synthetic tests, so what is printed is what the tests render.
* **Intrinsics** come from views of a ChArUco board (:func:`detect_board`, :class:`ViewCollector`,
  :func:`calibrate_views`) and are saved as a named :class:`CameraProfile` (JSON).
* **Use**: :func:`undistort_series` corrects landmark coordinates (not whole frames: far cheaper)
  and, when the profile carries a measured camera roll, levels them.
* **Camera level**: :func:`roll_from_board` measures the camera roll from a board hung square to
  a spirit level; :func:`roll_from_vertical_line` does it from any known-vertical line.
* **Angle check**: :func:`measure_angle_sheet` measures printed markers at known angles, through
  the whole chain (detection, undistortion, geometry), rectifying the sheet's perspective.
* **Known truth**: :class:`SyntheticCamera` renders a page through a known camera matrix and lens
  distortion, so every claim above is tested against numbers that were put in.

Conventions: image points are pixels, x right, y down, pixel centres at integers (as OpenCV).
Page points are millimetres from the page's top-left corner, x right, y down. Angles are in
degrees, counter-clockwise positive *as seen* (y turned up), as in :mod:`romcam.angles`.

The maths here are pure functions over arrays; files are touched only by the functions whose
names say so (``write_*``, ``load_*``, ``save_*``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Sequence

import cv2
import numpy as np

from romcam.dirs import config_dir
from romcam.errors import RomcamError
from romcam.capture.landmarks import FrameLandmarks

# --------------------------------------------------------------------------------------------
# Constants (each one is a choice; the tests and the README say where the numbers come from)
# --------------------------------------------------------------------------------------------

PAPER_MM = {"A4": (210.0, 297.0), "A3": (297.0, 420.0), "letter": (215.9, 279.4)}
BOARD_DICTIONARY = "DICT_4X4_50"        # large 4x4 bits survive webcam blur best
SHEET_DICTIONARY = "DICT_4X4_100"       # sheet ids 60+ never clash with a 4x4_50 board
MIN_CORNERS_PER_VIEW = 8                # fewer board corners than this: "partly visible"
MIN_VIEWS = 6                           # fewer good views than this: refuse to calibrate
RECOMMENDED_VIEWS = 15
BLUR_LIMIT_PX = 2.5                     # edge blur (Gaussian sigma, px) above which a view is refused
MAX_RMS_PX = 2.0                        # a calibration worse than this is refused, not saved
TILT_LIMIT_DEG = 3.0
COVERAGE_GRID = (8, 6)                  # cells across, down, for the coverage map
PROFILE_FORMAT = "romcam-camera-profile"
BOARD_FORMAT = "romcam-charuco-board"
SHEET_FORMAT = "romcam-angle-sheet"
PROFILES_SUBDIR = "cameras"
REPO_PROFILES = Path("calibration") / "profiles"
# cv2.undistortPoints stops after 5 iterations by default: measured 0.12 px left over in the
# corner of a 1280x720 image with k1 = -0.28. Iterate to convergence instead.
UNDISTORT_CRITERIA = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-6)
UNDISTORT_RESIDUAL_PX = 0.5             # re-distorting must land this close, else NaN (lens model folds)
PT_PER_MM = 72.0 / 25.4


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------

def aruco_dictionary(name: str):
    """An OpenCV predefined ArUco dictionary by name, e.g. "DICT_4X4_50"."""
    key = name if name.startswith("DICT_") else f"DICT_{name}"
    if not hasattr(cv2.aruco, key):
        raise RomcamError(f"unknown ArUco dictionary {name!r}; use one such as DICT_4X4_50 or DICT_5X5_100")
    return cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, key))


def to_gray(image: np.ndarray) -> np.ndarray:
    """8-bit single-channel copy of a BGR or gray image."""
    if image.ndim == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return image


def now_iso() -> str:
    """Local time, ISO 8601 with the UTC offset, to the second."""
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write a file so that a crash leaves the old file or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        _publish(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _publish(tmp: str, path: Path) -> None:
    """Give a finished temporary file ordinary permissions (mkstemp makes it 0600) and move it in place."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)


def json_text(data: dict) -> str:
    """Indented JSON with each list of plain numbers kept on one line (matrix rows read as rows)."""
    text = json.dumps(data, indent=2)
    return re.sub(r"\[\s*([-+0-9.eE,\s]+?)\s*\]", lambda m: "[" + ", ".join(v.strip() for v in m.group(1).split(",")) + "]",
                  text) + "\n"


def _read_json(path: Path, what: str) -> dict:
    """A JSON object from ``path``, or a RomcamError naming the file and what it should be."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RomcamError(f"{what} file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RomcamError(f"cannot read {what} file {path}: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RomcamError(f"{path} is not valid JSON (line {exc.lineno}): it is not a {what} file") from None
    if not isinstance(data, dict):
        raise RomcamError(f"{path} is not a {what} file (expected a JSON object)")
    return data


def _check_format(data: dict, path, expected: str, what: str, remedy: str) -> None:
    if data.get("format") != expected:
        raise RomcamError(f"{path} is not a {what} file (no \"format\": \"{expected}\" in it); {remedy}")


def visual_rotation(angle_deg: float) -> np.ndarray:
    """2x2 matrix turning y-down vectors counter-clockwise *as seen* by ``angle_deg``."""
    a = math.radians(angle_deg)
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, s], [-s, c]])


def direction_deg(vec) -> np.ndarray:
    """Direction of y-down vectors with y turned up (0 = right, 90 = up), like romcam.angles."""
    v = np.asarray(vec, dtype=float)
    return np.degrees(np.arctan2(-v[..., 1], v[..., 0]))


def wrap_deg(angle, period: float = 360.0):
    """Wrap to (-period/2, period/2]."""
    a = np.mod(np.asarray(angle, dtype=float) + period / 2, period) - period / 2
    return np.where(a == -period / 2, period / 2, a)


# --------------------------------------------------------------------------------------------
# Printable pages: black cell grids in millimetres -> vector PDF, or raster for tests
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CellGrid:
    """A grid of square cells printed on a page; ``bits`` True = black.

    The grid is centred on ``center_mm`` (page mm, y down) and turned counter-clockwise as seen
    by ``angle_deg``. Row 0 is the grid's top edge before turning.
    """

    bits: np.ndarray
    center_mm: tuple[float, float]
    cell_mm: float
    angle_deg: float = 0.0

    @property
    def size_mm(self) -> tuple[float, float]:
        rows, cols = self.bits.shape
        return cols * self.cell_mm, rows * self.cell_mm

    def grid_to_page(self) -> np.ndarray:
        """2x3 affine from grid coordinates (x = column edge, y = row edge) to page mm."""
        rows, cols = self.bits.shape
        rot = visual_rotation(self.angle_deg) * self.cell_mm
        centre_in_grid = np.array([cols / 2.0, rows / 2.0])
        offset = np.asarray(self.center_mm, dtype=float) - rot @ centre_in_grid
        return np.column_stack([rot, offset])

    def black_cell_polygons(self) -> list[np.ndarray]:
        """One (4, 2) page-mm polygon per black cell, all wound the same way."""
        a = self.grid_to_page()
        out = []
        for r, c in zip(*np.nonzero(self.bits)):
            square = np.array([[c, r], [c + 1, r], [c + 1, r + 1], [c, r + 1]], dtype=float)
            out.append(square @ a[:, :2].T + a[:, 2])
        return out


@dataclass
class PageLayout:
    """A printable page: cell grids (markers, chessboard), plus lines and text for people."""

    size_mm: tuple[float, float]
    grids: list[CellGrid] = field(default_factory=list)
    lines: list[tuple[tuple[float, float], tuple[float, float], float]] = field(default_factory=list)
    texts: list[tuple[float, float, str, float]] = field(default_factory=list)   # x, y, text, points


def marker_bits(dictionary_name: str, marker_id: int) -> np.ndarray:
    """The 6x6 black/white cells (4x4 code + 1-cell black border) of an ArUco marker."""
    dictionary = aruco_dictionary(dictionary_name)
    bits_per_side = dictionary.markerSize
    image = cv2.aruco.generateImageMarker(dictionary, int(marker_id), bits_per_side + 2, borderBits=1)
    return image == 0


def rasterize_page(layout: PageLayout, px_per_mm: float, supersample: int = 4,
                   draw_lines: bool = True) -> np.ndarray:
    """Gray image of ``layout``: pixel (i, j) covers page mm [j, j+1) / px_per_mm, etc.

    Each cell grid is drawn by nearest-neighbour warping of its bit image at ``supersample``
    times the resolution, then area-averaged down, so edges are anti-aliased and exact on average.
    """
    scale = px_per_mm * supersample
    width = int(round(layout.size_mm[0] * px_per_mm))
    height = int(round(layout.size_mm[1] * px_per_mm))
    big = np.full((height * supersample, width * supersample), 255, np.uint8)
    for grid in layout.grids:
        _draw_grid(big, grid, scale)
    if draw_lines:
        for p, q, width_mm in layout.lines:
            thickness = max(1, int(round(width_mm * scale)))
            cv2.line(big, _px(p, scale), _px(q, scale), 0, thickness, cv2.LINE_8)
    return cv2.resize(big, (width, height), interpolation=cv2.INTER_AREA)


def _px(point_mm, scale: float) -> tuple[int, int]:
    return int(round(point_mm[0] * scale - 0.5)), int(round(point_mm[1] * scale - 0.5))


def _draw_grid(canvas: np.ndarray, grid: CellGrid, scale: float) -> None:
    """Draw one cell grid (black where bits) into ``canvas`` sampled at ``scale`` px per mm."""
    a = grid.grid_to_page()
    corners = np.array([[0, 0], [grid.bits.shape[1], 0], [grid.bits.shape[1], grid.bits.shape[0]],
                        [0, grid.bits.shape[0]]], dtype=float) @ a[:, :2].T + a[:, 2]
    x0, y0 = np.floor(corners.min(axis=0) * scale).astype(int) - 2
    x1, y1 = np.ceil(corners.max(axis=0) * scale).astype(int) + 2
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, canvas.shape[1]), min(y1, canvas.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    # pixel-centre coordinates: page mm -> canvas px is p * scale - 0.5; bit image px centre = cell + 0.5
    to_px = np.vstack([a * scale, [0, 0, 1]])
    to_px[:2, 2] -= 0.5
    to_px[:2, 2] -= (x0, y0)
    grid_centre = np.array([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1]])   # bit centre (c, r) is grid point c+.5, r+.5
    m = (to_px @ grid_centre)[:2]
    tile = np.where(grid.bits, 0, 255).astype(np.uint8)
    patch = cv2.warpAffine(tile, m, (x1 - x0, y1 - y0), flags=cv2.INTER_NEAREST,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=255)
    region = canvas[y0:y1, x0:x1]
    np.minimum(region, patch, out=region)


def page_figure(layout: PageLayout):
    """A matplotlib Figure exactly ``layout.size_mm``, with page mm mapped linearly onto it.

    Black cells of each grid are one compound path (a single fill, so viewers draw no hairline
    seams between touching cells).
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath

    w_mm, h_mm = layout.size_mm
    fig = Figure(figsize=(w_mm / 25.4, h_mm / 25.4))
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0.0, w_mm)
    ax.set_ylim(h_mm, 0.0)
    ax.set_axis_off()
    for grid in layout.grids:
        polygons = grid.black_cell_polygons()
        if not polygons:
            continue
        vertices, codes = [], []
        for poly in polygons:
            vertices.extend([*poly, poly[0]])
            codes.extend([MplPath.MOVETO] + [MplPath.LINETO] * 3 + [MplPath.CLOSEPOLY])
        ax.add_patch(PathPatch(MplPath(np.array(vertices), codes), facecolor="black",
                               edgecolor="none", linewidth=0.0))
    for p, q, width_mm in layout.lines:
        ax.plot([p[0], q[0]], [p[1], q[1]], color="black", linewidth=width_mm * PT_PER_MM,
                solid_capstyle="butt")
    for x, y, text, size_pt in layout.texts:
        ax.text(x, y, text, fontsize=size_pt, ha="left", va="baseline", family="DejaVu Sans")
    return fig


def write_page_pdf(layout: PageLayout, path: str | Path, title: str = "") -> Path:
    """Write ``layout`` as a one-page vector PDF whose page is exactly ``layout.size_mm``."""
    import matplotlib

    fig = page_figure(layout)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".pdf", dir=path.parent)
    os.close(fd)
    try:
        with matplotlib.rc_context({"pdf.fonttype": 42}):
            fig.savefig(tmp, format="pdf", metadata={"CreationDate": None, "Title": title or None,
                                                     "Creator": "romcam"})
        _publish(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _scale_bars(layout: PageLayout, x_mm: float, y_mm: float, length_mm: float = 100.0) -> None:
    """A horizontal and a vertical bar of ``length_mm`` with end ticks, to check the print scale."""
    tick = 3.0
    h0, h1 = (x_mm, y_mm), (x_mm + length_mm, y_mm)
    layout.lines += [(h0, h1, 0.3), ((h0[0], y_mm - tick), (h0[0], y_mm + tick), 0.3),
                     ((h1[0], y_mm - tick), (h1[0], y_mm + tick), 0.3)]
    layout.texts.append((x_mm + length_mm / 2 - 9, y_mm - 2.0, f"{length_mm:.0f} mm", 8))


# --------------------------------------------------------------------------------------------
# The ChArUco board
# --------------------------------------------------------------------------------------------

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
    def from_dict(cls, data: dict, source="board file") -> "BoardSpec":
        _check_format(data, source, BOARD_FORMAT, "ChArUco board",
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
    return BoardSpec.from_dict(_read_json(Path(path), "board"), source=path)


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
    _scale_bars(layout, ox, min(caption_y + 9, page_h - 6))
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
        view.problem = (f"blurred: edges smeared over {blur:.1f} px (limit {blur_limit_px:.1f}); "
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


def coverage_map(views: Iterable[BoardView], image_size: tuple[int, int],
                 cells: tuple[int, int] = COVERAGE_GRID) -> np.ndarray:
    """(rows, cols) bool: which cells of the image have held at least one board corner."""
    w, h = image_size
    grid = np.zeros((cells[1], cells[0]), dtype=bool)
    for view in views:
        if len(view.corners):
            col = np.clip((view.corners[:, 0] / w * cells[0]).astype(int), 0, cells[0] - 1)
            row = np.clip((view.corners[:, 1] / h * cells[1]).astype(int), 0, cells[1] - 1)
            grid[row, col] = True
    return grid


def missing_regions(grid: np.ndarray) -> list[str]:
    """Plain names of the image regions (corners, edges, centre) where no corner was seen yet."""
    rows, cols = grid.shape
    thirds = {"top": slice(0, max(1, rows // 3)), "middle": slice(rows // 3, rows - rows // 3),
              "bottom": slice(rows - max(1, rows // 3), rows)}
    sides = {"left": slice(0, max(1, cols // 3)), "centre": slice(cols // 3, cols - cols // 3),
             "right": slice(cols - max(1, cols // 3), cols)}
    out = []
    for vname, vs in thirds.items():
        for hname, hs in sides.items():
            if not grid[vs, hs].any():
                out.append(_region_name(vname, hname))
    return out


def _region_name(vertical: str, horizontal: str) -> str:
    if vertical == "middle":
        return "centre" if horizontal == "centre" else f"{horizontal} edge"
    return f"{vertical} edge" if horizontal == "centre" else f"{vertical}-{horizontal} corner"


@dataclass
class ViewCollector:
    """Collects usable board views; the same logic serves a folder of images and a live camera.

    With ``live=True`` a view is kept only when the board is held still (corners moved less than
    ``still_px`` since the previous frame) and it differs enough from every view kept so far
    (descriptor distance ``min_novelty``: position, size, tilt), so a person waving the board
    around is guided to new positions instead of piling up copies of one.
    """

    spec: BoardSpec
    live: bool = False
    target_views: int = RECOMMENDED_VIEWS
    min_novelty: float = 0.2
    still_px: float = 1.5
    views: list[BoardView] = field(default_factory=list)
    rejected: list[BoardView] = field(default_factory=list)
    image_size: tuple[int, int] | None = None
    last_seen: BoardView | None = None
    _previous: BoardView | None = field(default=None, init=False, repr=False)
    _descriptors: list[np.ndarray] = field(default_factory=list, init=False, repr=False)

    def offer(self, image: np.ndarray, name: str) -> tuple[bool, str]:
        """Look at one image; keep it if usable (and, live, still and new). Returns (kept, why)."""
        view = detect_board(image, self.spec, name)
        self.last_seen = view
        if self.image_size is None:
            self.image_size = view.image_size
        elif view.image_size != self.image_size:
            view.problem = (f"image size {view.image_size[0]}x{view.image_size[1]} differs from the first "
                            f"image's {self.image_size[0]}x{self.image_size[1]}; use one resolution")
        if view.ok and self.live:
            view.problem = self._live_problem(view)
        previous, self._previous = self._previous, view
        if not view.ok:
            if not self.live:
                self.rejected.append(view)
            return False, view.problem
        if self.live and not _held_still(view, previous, self.still_px):
            return False, "hold the board still"
        self.views.append(view)
        self._descriptors.append(view_descriptor(view, self.spec))
        return True, f"view {len(self.views)} kept"

    def _live_problem(self, view: BoardView) -> str | None:
        descriptor = view_descriptor(view, self.spec)
        if self._descriptors:
            nearest = min(float(np.abs(descriptor - d).sum()) for d in self._descriptors)
            if nearest < self.min_novelty:
                return "already have a view like this: move or tilt the board"
        return None

    def coverage(self) -> np.ndarray:
        return coverage_map(self.views, self.image_size or (1, 1))

    def guidance(self) -> str:
        """One line telling the person what to do next."""
        n = len(self.views)
        if n >= self.target_views:
            return f"{n} views: enough. Press c to calibrate (or keep adding views)."
        missing = missing_regions(self.coverage()) if n else []
        tilts = [d[3] for d in self._descriptors]
        if missing:
            return f"{n}/{self.target_views} views. Move the board to: {', '.join(missing[:3])}"
        if n >= 3 and max(tilts, default=0.0) < 0.25:
            return f"{n}/{self.target_views} views. Tilt the board 30-40 deg away from the camera"
        return f"{n}/{self.target_views} views. Move, tilt and turn the board; hold still for each view"


def _held_still(view: BoardView, previous: BoardView | None, limit_px: float) -> bool:
    if previous is None or not len(previous.ids):
        return False
    common, a, b = np.intersect1d(view.ids, previous.ids, return_indices=True)
    if len(common) < 4:
        return False
    return float(np.median(np.linalg.norm(view.corners[a] - previous.corners[b], axis=1))) < limit_px


def draw_collection_overlay(image: np.ndarray, collector: ViewCollector, message: str = "") -> np.ndarray:
    """A copy of ``image`` with the coverage map (green = covered), the corners found, and text."""
    out = image.copy() if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    h, w = out.shape[:2]
    grid = coverage_map(collector.views, (w, h))
    rows, cols = grid.shape
    tint = out.copy()
    for r in range(rows):
        for c in range(cols):
            colour = (0, 160, 0) if grid[r, c] else (40, 40, 40)
            cv2.rectangle(tint, (c * w // cols, r * h // rows), ((c + 1) * w // cols - 1, (r + 1) * h // rows - 1),
                          colour, -1)
    out = cv2.addWeighted(tint, 0.25, out, 0.75, 0)
    seen = collector.last_seen
    if seen is not None and len(seen.corners):
        colour = (0, 220, 0) if seen.ok else (0, 0, 255)
        for x, y in seen.corners:
            cv2.circle(out, (int(round(x)), int(round(y))), 4, colour, 1, cv2.LINE_AA)
    for i, text in enumerate([collector.guidance(), message]):
        if text:
            _label(out, text, (12, 30 + 32 * i))
    return out


def _label(image: np.ndarray, text: str, origin: tuple[int, int], scale: float = 0.7) -> None:
    """White text on a dark box, readable over any background."""
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    x, y = origin
    cv2.rectangle(image, (x - 6, y - h - 8), (x + w + 6, y + base + 4), (0, 0, 0), -1)
    cv2.putText(image, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)


# --------------------------------------------------------------------------------------------
# Calibration
# --------------------------------------------------------------------------------------------

@dataclass
class CalibrationResult:
    """Camera intrinsics from board views, with how well they fit."""

    image_size: tuple[int, int]
    camera_matrix: np.ndarray
    dist_coeffs: np.ndarray
    rms_px: float
    per_view_rms_px: dict[str, float]
    std_px: dict[str, float]            # 1-sigma of fx, fy, cx, cy from the fit
    views: list[BoardView]
    dropped: list[tuple[str, float]]    # views dropped as outliers, with their RMS
    coverage: float                     # share of the coverage grid holding a corner

    @property
    def hfov_deg(self) -> float:
        return math.degrees(2 * math.atan(self.image_size[0] / (2 * self.camera_matrix[0, 0])))


def calibrate_views(views: Sequence[BoardView], spec: BoardSpec, *, min_views: int = MIN_VIEWS,
                    fix_k3: bool = True, max_rms_px: float = MAX_RMS_PX,
                    rejected: Sequence[BoardView] = ()) -> CalibrationResult:
    """Intrinsics and distortion from usable board views (OpenCV's calibrateCamera).

    ``k3`` is fixed at 0 by default: with a handful of hand-held views it mostly fits noise in
    the image corners. One view whose error is over 3x the median (and over 1 px) is dropped and
    the fit repeated, so a single bad frame cannot spoil a profile.
    """
    good = [v for v in views if v.ok]
    if len(good) < min_views:
        raise RomcamError(_too_few_views_message(len(good), min_views, list(rejected) + [v for v in views if not v.ok]))
    sizes = {v.image_size for v in good}
    if len(sizes) > 1:
        raise RomcamError(f"the views have different sizes ({', '.join(f'{w}x{h}' for w, h in sorted(sizes))}); "
                          "calibrate one resolution at a time")
    result = _fit(good, spec, fix_k3)
    worst_name = max(result.per_view_rms_px, key=result.per_view_rms_px.get)
    median = float(np.median(list(result.per_view_rms_px.values())))
    worst = result.per_view_rms_px[worst_name]
    if worst > max(1.0, 3 * median) and len(good) - 1 >= min_views:
        result = _fit([v for v in good if v.name != worst_name], spec, fix_k3)
        result.dropped = [(worst_name, worst)]
    if not math.isfinite(result.rms_px) or result.rms_px > max_rms_px:
        raise RomcamError(
            f"calibration failed: reprojection error {result.rms_px:.2f} px (a good one is under 1 px); "
            "check that the board file matches the printed board, that the board is flat, and that "
            "the views are sharp; nothing was saved")
    return result


def _too_few_views_message(n_good: int, min_views: int, bad: Sequence[BoardView]) -> str:
    reasons: dict[str, int] = {}
    for view in bad:
        key = view.problem.split(":")[0] if view.problem else "unusable"
        reasons[key] = reasons.get(key, 0) + 1
    why = "; ".join(f"{n} {k}" for k, n in reasons.items())
    return (f"only {n_good} usable view(s) of the board, need at least {min_views} "
            f"({RECOMMENDED_VIEWS} recommended)" + (f" — rejected: {why}" if why else "")
            + "; take more sharp views with the whole board (or most of it) in view; nothing was saved")


def _fit(views: Sequence[BoardView], spec: BoardSpec, fix_k3: bool) -> CalibrationResult:
    size = views[0].image_size
    corners_3d = np.column_stack([spec.corner_points_mm(), np.zeros(spec.corner_count)]).astype(np.float32)
    obj = [corners_3d[v.ids] for v in views]
    img = [v.corners.astype(np.float32).reshape(-1, 1, 2) for v in views]
    flags = cv2.CALIB_FIX_K3 if fix_k3 else 0
    rms, k, d, _, _, std_in, _, per_view = cv2.calibrateCameraExtended(obj, img, size, None, None, flags=flags)
    std = np.asarray(std_in).ravel()
    dist = np.zeros(5)
    dist[:min(5, d.size)] = d.ravel()[:5]
    return CalibrationResult(
        image_size=size, camera_matrix=np.asarray(k, dtype=np.float64), dist_coeffs=dist, rms_px=float(rms),
        per_view_rms_px={v.name: float(e) for v, e in zip(views, np.asarray(per_view).ravel())},
        std_px={"fx": float(std[0]), "fy": float(std[1]), "cx": float(std[2]), "cy": float(std[3])},
        views=list(views), dropped=[], coverage=float(coverage_map(views, size).mean()),
    )


def calibrate_images(images: Iterable[tuple[str, np.ndarray]], spec: BoardSpec, **kwargs) -> CalibrationResult:
    """Calibrate from (name, image) pairs: every usable view is kept (no novelty test)."""
    collector = ViewCollector(spec, live=False)
    for name, image in images:
        collector.offer(image, name)
    return calibrate_views(collector.views, spec, rejected=collector.rejected, **kwargs)


# --------------------------------------------------------------------------------------------
# Camera profiles
# --------------------------------------------------------------------------------------------

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass
class CameraProfile:
    """What romcam knows about one camera at one resolution (saved as JSON).

    ``roll_deg``: how far the world's verticals lean in the image, counter-clockwise positive as
    seen (so a plumb line shows at direction 90 + roll_deg); None until ``romcam calibrate level``.
    The camera itself is then turned the other way (clockwise seen from behind it).
    """

    name: str
    width: int
    height: int
    camera_matrix: np.ndarray
    dist_coeffs: np.ndarray
    rms_px: float
    created: str
    roll_deg: float | None = None
    roll_measured: str | None = None
    views: int | None = None
    std_px: dict | None = None
    coverage: float | None = None
    board: dict | None = None
    notes: str = ""

    def to_dict(self) -> dict:
        return {
            "format": PROFILE_FORMAT, "version": 1, "name": self.name,
            "width": int(self.width), "height": int(self.height),
            "camera_matrix": np.asarray(self.camera_matrix, dtype=float).round(6).tolist(),
            "dist_coeffs": np.asarray(self.dist_coeffs, dtype=float).ravel().round(8).tolist(),
            "dist_model": "OpenCV k1 k2 p1 p2 k3",
            "rms_px": round(float(self.rms_px), 4), "created": self.created,
            "roll_deg": None if self.roll_deg is None else round(float(self.roll_deg), 3),
            "roll_measured": self.roll_measured, "views": self.views,
            "std_px": None if self.std_px is None else {k: round(float(v), 3) for k, v in self.std_px.items()},
            "coverage": None if self.coverage is None else round(float(self.coverage), 3),
            "board": self.board, "notes": self.notes,
        }

    def to_json(self) -> str:
        return json_text(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict, source="camera profile") -> "CameraProfile":
        _check_format(data, source, PROFILE_FORMAT, "romcam camera profile",
                      "make one with `romcam calibrate camera`")
        try:
            k = np.array(data["camera_matrix"], dtype=float)
            d = np.array(data["dist_coeffs"], dtype=float).ravel()
            width, height = int(data["width"]), int(data["height"])
            profile = cls(
                name=str(data["name"]), width=width, height=height, camera_matrix=k, dist_coeffs=d,
                rms_px=float(data["rms_px"]), created=str(data["created"]),
                roll_deg=None if data.get("roll_deg") is None else float(data["roll_deg"]),
                roll_measured=data.get("roll_measured"), views=data.get("views"),
                std_px=data.get("std_px"), coverage=data.get("coverage"), board=data.get("board"),
                notes=str(data.get("notes") or ""),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise RomcamError(f"{source} is a damaged camera profile ({exc!r} missing or wrong); "
                              "make it again with `romcam calibrate camera`") from None
        problem = _profile_problem(profile)
        if problem:
            raise RomcamError(f"{source} is a damaged camera profile ({problem}); "
                              "make it again with `romcam calibrate camera`")
        return profile


def _profile_problem(p: CameraProfile) -> str | None:
    k = p.camera_matrix
    if p.width <= 0 or p.height <= 0:
        return f"size {p.width}x{p.height}"
    if k.shape != (3, 3) or not np.all(np.isfinite(k)):
        return "camera_matrix is not a 3x3 matrix of numbers"
    if k[0, 0] <= 0 or k[1, 1] <= 0 or not np.allclose(k[2], [0, 0, 1]):
        return "camera_matrix is not a camera matrix (fx, fy > 0, last row 0 0 1)"
    if p.dist_coeffs.size not in (4, 5, 8, 12, 14) or not np.all(np.isfinite(p.dist_coeffs)):
        return "dist_coeffs must be 4, 5, 8, 12 or 14 numbers"
    if not math.isfinite(p.rms_px):
        return "rms_px is not a number"
    return None


def profile_from_calibration(result: CalibrationResult, name: str, spec: BoardSpec | None = None,
                             notes: str = "") -> CameraProfile:
    """A profile (not yet saved) from a calibration result."""
    check_profile_name(name)
    return CameraProfile(
        name=name, width=result.image_size[0], height=result.image_size[1],
        camera_matrix=result.camera_matrix, dist_coeffs=result.dist_coeffs, rms_px=result.rms_px,
        created=now_iso(), views=len(result.views), std_px=result.std_px, coverage=result.coverage,
        board=None if spec is None else spec.to_dict(), notes=notes,
    )


def check_profile_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name or ""):
        raise RomcamError(f"profile name {name!r} is not allowed: use letters, digits, '.', '_' or '-' "
                          "(up to 64, starting with a letter or digit), e.g. --name desk-webcam")
    return name


def profile_dirs() -> list[Path]:
    """Where profile names are looked up, in order: the per-user folder, then ./calibration/profiles."""
    return [config_dir() / PROFILES_SUBDIR, REPO_PROFILES]


def _looks_like_path(text: str) -> bool:
    return text.lower().endswith(".json") or "/" in text or os.sep in text


def find_profile_path(name_or_path: str | Path) -> Path:
    """The file a profile argument means: a path (``x.json``, ``dir/x.json``) or a NAME looked up
    in :func:`profile_dirs`. RomcamError when there is none."""
    text = str(name_or_path)
    if _looks_like_path(text):
        path = Path(text)
        if not path.is_file():
            raise RomcamError(f"camera profile file {path} does not exist; give a profile name or the path "
                              "of a JSON file made by `romcam calibrate camera`")
        return path
    for folder in profile_dirs():
        path = folder / f"{text}.json"
        if path.is_file():
            return path
    known = sorted({p.stem for folder in profile_dirs() if folder.is_dir() for p in folder.glob("*.json")})
    raise RomcamError(
        f"no camera profile named {text!r} in {' or '.join(str(d.absolute()) for d in profile_dirs())}"
        + (f" (known: {', '.join(known)})" if known else "")
        + f"; make one with `romcam calibrate camera --name {text}`")


def load_profile(name_or_path: str | Path) -> CameraProfile:
    """A profile by path (``x.json``, ``dir/x.json``) or by NAME (see :func:`profile_dirs`)."""
    path = find_profile_path(name_or_path)
    return CameraProfile.from_dict(_read_json(path, "camera profile"), source=path)


def store_roll(name_or_path: str | Path, roll_deg: float) -> Path:
    """Record a measured camera roll in an existing profile file (same file, atomically)."""
    path = find_profile_path(name_or_path)
    profile = CameraProfile.from_dict(_read_json(path, "camera profile"), source=path)
    profile.roll_deg, profile.roll_measured = float(roll_deg), now_iso()
    atomic_write_bytes(path, profile.to_json().encode("utf-8"))
    return path


def save_profile(profile: CameraProfile, folder: str | Path | None = None, overwrite: bool = False) -> Path:
    """Write ``profile`` to ``folder/NAME.json`` (default: the per-user config folder), atomically.

    A file already there is replaced only if it holds the same profile or ``overwrite`` is set.
    """
    check_profile_name(profile.name)
    problem = _profile_problem(profile)
    if problem:
        raise RomcamError(f"refusing to save camera profile {profile.name!r}: {problem}")
    folder = Path(folder) if folder is not None else config_dir() / PROFILES_SUBDIR
    path = folder / f"{profile.name}.json"
    if path.exists() and not overwrite:
        try:
            existing = CameraProfile.from_dict(_read_json(path, "camera profile"), source=path)
        except RomcamError:
            raise RomcamError(f"{path} exists and is not a camera profile; move it away or choose another "
                              "--name (nothing was overwritten)") from None
        if existing.to_dict() != profile.to_dict():
            raise RomcamError(
                f"a camera profile named {profile.name!r} already exists at {path} (made {existing.created}, "
                f"{existing.width}x{existing.height}); choose another --name or pass --overwrite to replace it")
    atomic_write_bytes(path, profile.to_json().encode("utf-8"))
    return path


# --------------------------------------------------------------------------------------------
# Using a profile: undistort and level landmark coordinates
# --------------------------------------------------------------------------------------------

def scaled_camera_matrix(profile: CameraProfile, width: int, height: int) -> np.ndarray:
    """The profile's camera matrix for a ``width`` x ``height`` image.

    Same size: unchanged. Same aspect ratio (within 1 %): scaled, with pixel centres mapped
    exactly ((u + 0.5) * s - 0.5). Another aspect ratio means another crop of the sensor, which
    no scaling can recover: refused.
    """
    if (width, height) == (profile.width, profile.height):
        return np.asarray(profile.camera_matrix, dtype=float).copy()
    if width <= 0 or height <= 0:
        raise RomcamError(f"image size {width}x{height} is not an image size")
    aspect, profile_aspect = width / height, profile.width / profile.height
    if abs(aspect / profile_aspect - 1.0) > 0.01:
        raise RomcamError(
            f"camera profile {profile.name!r} was made at {profile.width}x{profile.height} but this video is "
            f"{width}x{height}, a different shape (another crop of the sensor); calibrate the camera at "
            f"{width}x{height}: romcam calibrate camera --name {profile.name}-{width}x{height}")
    sx, sy = width / profile.width, height / profile.height
    k = np.asarray(profile.camera_matrix, dtype=float).copy()
    k[0, 0] *= sx
    k[0, 1] *= sx
    k[1, 1] *= sy
    k[0, 2] = (k[0, 2] + 0.5) * sx - 0.5
    k[1, 2] = (k[1, 2] + 0.5) * sy - 0.5
    return k


def undistort_points(points_px, profile: CameraProfile, width: int, height: int) -> np.ndarray:
    """Where (N, 2) pixel points would be without lens distortion, still in pixels (P = K).

    Rows with NaN stay NaN; so do points the lens model cannot invert (far outside the
    calibrated field, where re-distorting the answer misses the input by over 0.5 px).
    """
    pts = np.asarray(points_px, dtype=np.float64).reshape(-1, 2)
    out = np.full_like(pts, np.nan)
    k = scaled_camera_matrix(profile, width, height)
    dist = np.asarray(profile.dist_coeffs, dtype=np.float64)
    finite = np.all(np.isfinite(pts), axis=1)
    if not finite.any():
        return out
    src = pts[finite].reshape(-1, 1, 2)
    ideal = cv2.undistortPoints(src, k, dist, None, k, criteria=UNDISTORT_CRITERIA).reshape(-1, 2)
    out[finite] = ideal
    back = distort_points(ideal, k, dist)
    miss = np.linalg.norm(back - pts[finite], axis=1) > UNDISTORT_RESIDUAL_PX
    rows = np.flatnonzero(finite)[miss]
    out[rows] = np.nan
    return out


def distort_points(ideal_px, camera_matrix, dist_coeffs) -> np.ndarray:
    """The inverse of :func:`undistort_points`: where ideal pinhole pixels land through the lens."""
    pts = np.asarray(ideal_px, dtype=np.float64).reshape(-1, 2)
    k = np.asarray(camera_matrix, dtype=np.float64)
    normalised = np.column_stack([(pts[:, 0] - k[0, 2]) / k[0, 0], (pts[:, 1] - k[1, 2]) / k[1, 1],
                                  np.ones(len(pts))])
    normalised[:, 0] -= k[0, 1] * normalised[:, 1] / k[0, 0]
    projected, _ = cv2.projectPoints(normalised, np.zeros(3), np.zeros(3), k, np.asarray(dist_coeffs, dtype=np.float64))
    return projected.reshape(-1, 2)


def level_points(points_px, roll_deg: float, width: int, height: int) -> np.ndarray:
    """Turn points about the image centre by -roll_deg, so the world's verticals become vertical."""
    pts = np.asarray(points_px, dtype=np.float64).reshape(-1, 2)
    if not roll_deg:
        return pts.copy()
    centre = np.array([(width - 1) / 2.0, (height - 1) / 2.0])
    return (pts - centre) @ visual_rotation(-roll_deg).T + centre


def level_face_matrix(matrix: np.ndarray | None, roll_deg: float) -> np.ndarray | None:
    """MediaPipe's facial transformation matrix (x right, y up, z to the viewer) turned by -roll."""
    if matrix is None or not roll_deg:
        return matrix
    a = math.radians(-roll_deg)
    rz = np.eye(4)
    rz[:2, :2] = [[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]]
    return rz @ np.asarray(matrix, dtype=float)


def correct_points(points_px, profile: CameraProfile, width: int, height: int) -> np.ndarray:
    """Undistort, then level when the profile carries a measured roll."""
    ideal = undistort_points(points_px, profile, width, height)
    if profile.roll_deg:
        ideal = level_points(ideal, profile.roll_deg, width, height)
    return ideal


def undistort_series(landmarks: list[FrameLandmarks], profile: CameraProfile, width: int,
                     height: int) -> list[FrameLandmarks]:
    """New landmark records with pose[:, :2] and face[:, :2] undistorted (and levelled if the
    profile has a roll), all frames in one call. The face matrix is turned by the roll too, so
    head roll stays consistent with the shoulders; depth and visibility are left as they were."""
    scaled_camera_matrix(profile, width, height)     # refuse a wrong shape before any work
    chunks = []
    for lm in landmarks:
        for arr in (lm.pose, lm.face):
            if arr is not None:
                chunks.append(arr[:, :2])
    if not chunks:
        return list(landmarks)
    corrected = correct_points(np.vstack(chunks), profile, width, height)
    out, at = [], 0
    for lm in landmarks:
        changes = {}
        for attr in ("pose", "face"):
            arr = getattr(lm, attr)
            if arr is not None:
                new = arr.copy()
                new[:, :2] = corrected[at:at + len(arr)]
                at += len(arr)
                changes[attr] = new
        if profile.roll_deg and lm.face_matrix is not None:
            changes["face_matrix"] = level_face_matrix(lm.face_matrix, profile.roll_deg)
        out.append(dataclasses.replace(lm, **changes))
    return out


def tilt_warning(profile_or_roll_deg: CameraProfile | float | None, limit_deg: float = TILT_LIMIT_DEG) -> str | None:
    """A short warning for the live view when the camera's roll exceeds ``limit_deg``, else None."""
    from_profile = isinstance(profile_or_roll_deg, CameraProfile)
    roll = profile_or_roll_deg.roll_deg if from_profile else profile_or_roll_deg
    if roll is None or not math.isfinite(roll) or abs(roll) <= limit_deg:
        return None
    lean = "counter-clockwise" if roll > 0 else "clockwise"
    consequence = ("corrected with the roll measured for this profile, as long as the camera has not moved"
                   if from_profile else "angles against the vertical are off by that much unless corrected")
    return f"camera tilted {abs(roll):.1f} deg (verticals lean {lean}; limit {limit_deg:g}): level it; {consequence}"


# --------------------------------------------------------------------------------------------
# Camera level (roll)
# --------------------------------------------------------------------------------------------

@dataclass
class RollMeasurement:
    roll_deg: float
    corners: int
    principal_point: tuple[float, float]
    undistorted: bool


def roll_from_homography(homography: np.ndarray, principal_point) -> float:
    """Camera roll from a plane whose -y axis is truly up (a board hung square to a level).

    The plane's vertical, H @ (0, -1, 0), is the image of its vanishing point; seen from the
    principal point c its direction is that of the vertical in the camera (fx ~ fy), whatever
    the camera's pitch or the board's turn. ``homography`` must give w > 0 in front (as
    :func:`board_homography` does). Folded to (-45, 45]: the board may hang in any of its four
    orientations, only its edges need to be level.
    """
    h = np.asarray(homography, dtype=float)
    v = h @ np.array([0.0, -1.0, 0.0])
    cx, cy = principal_point
    up = np.array([v[0] - cx * v[2], v[1] - cy * v[2]])
    return float(wrap_deg(direction_deg(up) - 90.0, 90.0))


def roll_from_board(image: np.ndarray, spec: BoardSpec, profile: CameraProfile | None = None,
                    name: str = "image") -> RollMeasurement:
    """Camera roll from one image of the board hung on a wall, its edges level/plumb."""
    view = detect_board(image, spec, name, blur_limit_px=float("inf"))
    if not view.ok:
        raise RomcamError(f"{name}: {view.problem}; show the whole board to the camera")
    w, h = view.image_size
    points, undistorted = view.corners, False
    principal = ((w - 1) / 2.0, (h - 1) / 2.0)
    if profile is not None:
        k = scaled_camera_matrix(profile, w, h)
        points = undistort_points(view.corners, profile, w, h)
        principal, undistorted = (float(k[0, 2]), float(k[1, 2])), True
    hom = board_homography(view, spec, points)
    return RollMeasurement(roll_from_homography(hom, principal), len(view.ids), principal, undistorted)


def roll_from_vertical_line(p1, p2) -> float:
    """Camera roll from two image points on a line known to be vertical (door frame, plumb line)."""
    d = np.asarray(p2, dtype=float) - np.asarray(p1, dtype=float)
    if not np.hypot(*d):
        raise RomcamError("the two points of the vertical line are the same point")
    return float(wrap_deg(direction_deg(d) - 90.0, 180.0))


# --------------------------------------------------------------------------------------------
# The angle sheet: markers printed at known angles
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SheetMarker:
    id: int
    center_mm: tuple[float, float]
    size_mm: float
    angle_deg: float
    role: str            # "reference" (square to the page, used to rectify) or "test"

    def corners_mm(self) -> np.ndarray:
        """(4, 2) page mm in OpenCV's order: the marker's own top-left, top-right, bottom-right, bottom-left."""
        s = self.size_mm / 2
        local = np.array([[-s, -s], [s, -s], [s, s], [-s, s]])
        return local @ visual_rotation(self.angle_deg).T + np.asarray(self.center_mm)


@dataclass(frozen=True)
class AngleSheet:
    markers: tuple[SheetMarker, ...]
    dictionary: str = SHEET_DICTIONARY
    paper: str = "A4"

    @property
    def size_mm(self) -> tuple[float, float]:
        return PAPER_MM[self.paper]

    def by_role(self, role: str) -> list[SheetMarker]:
        return [m for m in self.markers if m.role == role]

    def to_dict(self) -> dict:
        return {"format": SHEET_FORMAT, "version": 1, "dictionary": self.dictionary, "paper": self.paper,
                "page_mm": list(self.size_mm),
                "angle_convention": "degrees counter-clockwise as seen on the page, from the page's x axis",
                "markers": [{"id": m.id, "center_mm": list(m.center_mm), "size_mm": m.size_mm,
                             "angle_deg": m.angle_deg, "role": m.role} for m in self.markers]}

    @classmethod
    def from_dict(cls, data: dict, source="angle sheet") -> "AngleSheet":
        _check_format(data, source, SHEET_FORMAT, "romcam angle sheet",
                      "use the angle_sheet.json written by `romcam calibrate sheet`")
        try:
            markers = tuple(SheetMarker(int(m["id"]), (float(m["center_mm"][0]), float(m["center_mm"][1])),
                                        float(m["size_mm"]), float(m["angle_deg"]), str(m["role"]))
                            for m in data["markers"])
            return cls(markers, str(data["dictionary"]), str(data.get("paper", "A4")))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise RomcamError(f"{source} is a damaged angle-sheet file ({exc!r}); "
                              "write it again with `romcam calibrate sheet`") from None


def default_angle_sheet(angles_deg: Sequence[float] = (20.0, 25.0), paper: str = "A4") -> AngleSheet:
    """Four square reference markers near the page corners, and one or two test markers.

    Each test marker sits in its own row, with a printed baseline and an arm at its angle (a
    paper goniometer), so a person can see what is being checked.
    """
    if not 1 <= len(angles_deg) <= 2:
        raise RomcamError("the angle sheet holds 1 or 2 test angles, e.g. --angles 20,25")
    if any(not -40.0 <= a <= 40.0 for a in angles_deg):
        raise RomcamError("test angles must be between -40 and 40 degrees")
    if paper not in PAPER_MM:
        raise RomcamError(f"unknown paper {paper!r}; use one of {', '.join(PAPER_MM)}")
    w, h = PAPER_MM[paper]
    ref, margin = 30.0, 20.0
    top, bottom = margin + 25 + ref / 2, h - margin - 30 - ref / 2
    left, right = margin + ref / 2, w - margin - ref / 2
    refs = [SheetMarker(60 + i, c, ref, 0.0, "reference")
            for i, c in enumerate([(left, top), (right, top), (right, bottom), (left, bottom)])]
    rows = [(top + bottom) / 2] if len(angles_deg) == 1 else [top + 0.3 * (bottom - top), top + 0.7 * (bottom - top)]
    tests = [SheetMarker(64 + i, (w * 0.3, y), 45.0, float(a), "test")
             for i, (y, a) in enumerate(zip(rows, angles_deg))]
    return AngleSheet(tuple(refs + tests), SHEET_DICTIONARY, paper)


def sheet_layout(sheet: AngleSheet) -> PageLayout:
    """The angle sheet page: markers, a baseline and an arm at each test angle, labels, scale bars."""
    layout = PageLayout(sheet.size_mm)
    w, h = sheet.size_mm
    for m in sheet.markers:
        bits = marker_bits(sheet.dictionary, m.id)
        layout.grids.append(CellGrid(bits, m.center_mm, m.size_mm / bits.shape[0], m.angle_deg))
    for m in sheet.by_role("test"):
        origin = np.array([m.center_mm[0] + m.size_mm * 0.78, m.center_mm[1]])
        arm = visual_rotation(m.angle_deg) @ np.array([1.0, 0.0])
        length = min(70.0, w - 30 - origin[0])
        layout.lines += [(tuple(origin), (origin[0] + length, origin[1]), 0.25),
                         (tuple(origin), tuple(origin + arm * length), 0.4)]
        layout.texts.append((origin[0] + 4, m.center_mm[1] + 8, f"{m.angle_deg:g}° (marker {m.id})", 11))
    n_refs = len(sheet.by_role("reference"))
    layout.texts += [
        (20, 14, "romcam angle check: test markers printed at known angles to the page", 10),
        (20, 20, f"{n_refs} corner markers fix the page; the angles are measured against them", 8),
        (20, h - 41, "Print at 100% (actual size). Lay it flat or pin it to a wall; show the whole sheet.", 8),
        (20, h - 35, "Then: romcam calibrate verify --image photo.jpg (or --source 0) [--camera-profile NAME]", 8),
    ]
    _scale_bars(layout, 55, h - 20)
    x = w - 12
    layout.lines += [((x, 110), (x, 170), 0.3), ((x - 3, 110), (x + 3, 110), 0.3), ((x - 3, 170), (x + 3, 170), 0.3)]
    layout.texts.append((x - 9, 176, "60 mm", 7))
    return layout


def write_angle_sheet(sheet: AngleSheet, out_pdf: str | Path) -> tuple[Path, Path]:
    """Write the angle sheet PDF and its JSON (same name) beside it."""
    out_pdf = Path(out_pdf)
    if out_pdf.suffix.lower() != ".pdf":
        raise RomcamError(f"--out must end in .pdf, got {out_pdf}")
    write_page_pdf(sheet_layout(sheet), out_pdf, title="romcam angle check sheet")
    out_json = out_pdf.with_suffix(".json")
    atomic_write_bytes(out_json, json_text(sheet.to_dict()).encode())
    return out_pdf, out_json


def load_angle_sheet(path: str | Path) -> AngleSheet:
    return AngleSheet.from_dict(_read_json(Path(path), "angle sheet"), source=path)


def detect_markers(image: np.ndarray, dictionary: str) -> dict[int, np.ndarray]:
    """ArUco markers in ``image``: id -> (4, 2) corner pixels.

    Corners are refined by fitting the marker's edges (AprilTag method). Measured on the angle
    sheet rendered in six poses (tests): largest angle error 0.04 deg, against 0.10 with contour
    refinement, 0.31 with cornerSubPix (it is made for chessboard saddles and pulls a marker's
    L-shaped corners inwards) and 0.86 without refinement.
    """
    params = cv2.aruco.DetectorParameters()
    params.cornerRefinementMethod = cv2.aruco.CORNER_REFINE_APRILTAG
    detector = cv2.aruco.ArucoDetector(aruco_dictionary(dictionary), params)
    corners, ids, _ = detector.detectMarkers(to_gray(image))
    if ids is None:
        return {}
    return {int(i): np.asarray(c, dtype=np.float64).reshape(4, 2) for i, c in zip(ids.ravel(), corners)}


def marker_angle_deg(corners) -> float:
    """In-plane angle of a marker from its 4 corners (y down), counter-clockwise as seen.

    The mean of its two horizontal edges and its two vertical edges (turned by 90 deg), so a
    small error at one corner is averaged out.
    """
    c = np.asarray(corners, dtype=float).reshape(4, 2)
    across = (c[1] - c[0]) + (c[2] - c[3])
    down = (c[3] - c[0]) + (c[2] - c[1])
    a = math.radians(float(direction_deg(across)))
    b = math.radians(float(direction_deg(down)) + 90.0)
    return math.degrees(math.atan2(math.sin(a) + math.sin(b), math.cos(a) + math.cos(b)))


@dataclass
class MarkerAngle:
    id: int
    printed_deg: float
    measured_deg: float           # on the sheet, perspective removed
    image_deg: float              # as the image shows it, relative to the reference markers

    @property
    def error_deg(self) -> float:
        return float(wrap_deg(self.measured_deg - self.printed_deg))


@dataclass
class SheetMeasurement:
    markers: list[MarkerAngle]
    references_seen: int
    undistorted: bool
    rectify_rms_mm: float         # how well the reference markers fit one plane

    def pair(self) -> tuple[float, float] | None:
        """(printed, measured) angle between the first two test markers."""
        if len(self.markers) < 2:
            return None
        a, b = self.markers[:2]
        return (float(wrap_deg(b.printed_deg - a.printed_deg)), float(wrap_deg(b.measured_deg - a.measured_deg)))


def measure_angle_sheet(image: np.ndarray, sheet: AngleSheet, profile: CameraProfile | None = None,
                        name: str = "image") -> SheetMeasurement:
    """The test markers' angles on the sheet, measured from ``image``.

    Marker corners are undistorted with ``profile`` (if given), then mapped onto the sheet
    through the homography fitted to the reference markers' corners (16 points spread over the
    page), which removes the perspective of a sheet not facing the camera squarely.
    """
    found = detect_markers(image, sheet.dictionary)
    h_img, w_img = image.shape[:2]
    refs = [m for m in sheet.by_role("reference") if m.id in found]
    tests = sheet.by_role("test")
    missing = [m.id for m in tests if m.id not in found]
    if len(refs) < 2:
        raise RomcamError(f"{name}: only {len(refs)} of the angle sheet's {len(sheet.by_role('reference'))} corner "
                          "markers are visible (need 2 or more); show the whole sheet, flat and well lit")
    if missing:
        raise RomcamError(f"{name}: test marker(s) {', '.join(map(str, missing))} of the angle sheet not found; "
                          "show the whole sheet, flat, without glare")

    def pixels(marker_id: int) -> np.ndarray:
        pts = found[marker_id]
        return undistort_points(pts, profile, w_img, h_img) if profile is not None else pts

    ref_px = np.vstack([pixels(m.id) for m in refs])
    ref_mm = np.vstack([m.corners_mm() for m in refs])
    to_sheet, _ = cv2.findHomography(ref_px, ref_mm, 0)
    if to_sheet is None:
        raise RomcamError(f"{name}: the angle sheet's corner markers do not fit a flat sheet; lay it flat")
    fitted = cv2.perspectiveTransform(ref_px.reshape(-1, 1, 2), to_sheet).reshape(-1, 2)
    rms_mm = float(np.sqrt(np.mean(np.sum((fitted - ref_mm) ** 2, axis=1))))
    ref_image_angle = float(np.degrees(np.angle(np.mean([np.exp(1j * math.radians(marker_angle_deg(pixels(m.id))))
                                                          for m in refs]))))
    results = []
    for m in tests:
        px = pixels(m.id)
        on_sheet = cv2.perspectiveTransform(px.reshape(-1, 1, 2), to_sheet).reshape(4, 2)
        results.append(MarkerAngle(m.id, m.angle_deg, marker_angle_deg(on_sheet),
                                   float(wrap_deg(marker_angle_deg(px) - ref_image_angle))))
    return SheetMeasurement(results, len(refs), profile is not None, rms_mm)


# --------------------------------------------------------------------------------------------
# Known truth: render a printed page through a known camera and lens
# --------------------------------------------------------------------------------------------

class SyntheticCamera:
    """A pinhole camera with OpenCV lens distortion that renders a flat page into an image.

    For every output pixel (sampled ``supersample`` times per axis) the undistorted viewing ray
    is computed once (iterated to convergence); a page pose then maps rays to page millimetres
    by the inverse plane homography, and the page texture is sampled there. The result is area-
    averaged down, so edges are anti-aliased like a real sensor's.
    """

    def __init__(self, camera_matrix, dist_coeffs, size: tuple[int, int], supersample: int = 2):
        self.k = np.asarray(camera_matrix, dtype=np.float64)
        self.dist = np.asarray(dist_coeffs, dtype=np.float64).ravel()
        self.size = (int(size[0]), int(size[1]))
        self.supersample = int(supersample)
        w, h = self.size
        s = self.supersample
        us = (np.arange(w * s) + 0.5) / s - 0.5
        vs = (np.arange(h * s) + 0.5) / s - 0.5
        grid = np.stack(np.meshgrid(us, vs), axis=-1).reshape(-1, 1, 2)
        rays = cv2.undistortPoints(grid, self.k, self.dist, criteria=(cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-9))
        self._rays = rays.reshape(h * s, w * s, 2).astype(np.float64)

    def profile(self, name: str = "synthetic-truth") -> CameraProfile:
        """The true camera as a profile (what a perfect calibration would give)."""
        return CameraProfile(name, self.size[0], self.size[1], self.k.copy(), self.dist.copy(), 0.0, now_iso(),
                             notes="synthetic: the true camera of a rendering")

    def project(self, points_mm, rvec, tvec) -> np.ndarray:
        """(N, 2) image pixels of page points (N, 2) mm for a page pose (rvec, tvec in mm)."""
        pts = np.asarray(points_mm, dtype=np.float64).reshape(-1, 2)
        obj = np.column_stack([pts, np.zeros(len(pts))])
        img, _ = cv2.projectPoints(obj, np.asarray(rvec, float), np.asarray(tvec, float), self.k, self.dist)
        return img.reshape(-1, 2)

    def render(self, texture: np.ndarray, px_per_mm: float, rvec, tvec, background: int = 110,
               noise: float = 0.0, rng: np.random.Generator | None = None) -> np.ndarray:
        """Gray image of a page (``texture`` at ``px_per_mm``) posed at (rvec, tvec)."""
        rot, _ = cv2.Rodrigues(np.asarray(rvec, dtype=np.float64))
        plane = np.column_stack([rot[:, 0], rot[:, 1], np.asarray(tvec, dtype=np.float64).ravel()])
        inv = np.linalg.inv(plane)
        x, y = self._rays[..., 0], self._rays[..., 1]
        X = inv[0, 0] * x + inv[0, 1] * y + inv[0, 2]
        Y = inv[1, 0] * x + inv[1, 1] * y + inv[1, 2]
        W = inv[2, 0] * x + inv[2, 1] * y + inv[2, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            map_x = np.where(W > 0, X / W * px_per_mm - 0.5, -1e6).astype(np.float32)
            map_y = np.where(W > 0, Y / W * px_per_mm - 0.5, -1e6).astype(np.float32)
        big = cv2.remap(texture, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                        borderValue=int(background))
        image = cv2.resize(big, self.size, interpolation=cv2.INTER_AREA)
        if noise > 0:
            rng = rng or np.random.default_rng(0)
            image = np.clip(image + rng.normal(0.0, noise, image.shape), 0, 255).astype(np.uint8)
        return image

    def pose_for(self, page_point_mm, image_point_px, distance_mm: float, tilt_xyz_deg=(0.0, 0.0, 0.0)):
        """(rvec, tvec) putting ``page_point_mm`` at ``image_point_px``, ``distance_mm`` away,
        the page turned by the given angles (about the camera's x, y, z axes, degrees)."""
        rot = rotation_xyz(*tilt_xyz_deg)
        ray = cv2.undistortPoints(np.asarray(image_point_px, float).reshape(1, 1, 2), self.k, self.dist,
                                  criteria=(cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-9)).ravel()
        anchor = np.array([page_point_mm[0], page_point_mm[1], 0.0])
        tvec = distance_mm * np.array([ray[0], ray[1], 1.0]) - rot @ anchor
        return cv2.Rodrigues(rot)[0].ravel(), tvec


def rotation_xyz(ax_deg: float, ay_deg: float, az_deg: float) -> np.ndarray:
    """Rz @ Ry @ Rx (camera axes: x right, y down, z forward), angles in degrees."""
    ax, ay, az = np.radians([ax_deg, ay_deg, az_deg])
    rx = np.array([[1, 0, 0], [0, math.cos(ax), -math.sin(ax)], [0, math.sin(ax), math.cos(ax)]])
    ry = np.array([[math.cos(ay), 0, math.sin(ay)], [0, 1, 0], [-math.sin(ay), 0, math.cos(ay)]])
    rz = np.array([[math.cos(az), -math.sin(az), 0], [math.sin(az), math.cos(az), 0], [0, 0, 1]])
    return rz @ ry @ rx
