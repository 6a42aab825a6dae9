"""Printable pages: black cell grids placed on a page in millimetres, written as a vector PDF
at exact physical size or rasterised for synthetic tests, so what is printed is what the tests
render. Page points are millimetres from the top-left corner, x right, y down."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from romcam.errors import RomcamError
from romcam.files import atomic_write
from romcam.measure import angles

PAPER_MM = {"A4": (210.0, 297.0), "A3": (297.0, 420.0), "letter": (215.9, 279.4)}
PT_PER_MM = 72.0 / 25.4


def aruco_dictionary(name: str):
    """An OpenCV predefined ArUco dictionary by name, e.g. "DICT_4X4_50"."""
    key = name if name.startswith("DICT_") else f"DICT_{name}"
    if not hasattr(cv2.aruco, key):
        raise RomcamError(f"unknown ArUco dictionary {name!r}; use one such as DICT_4X4_50 or DICT_5X5_100")
    return cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, key))


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
        rot = angles.visual_rotation(self.angle_deg) * self.cell_mm
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
    with matplotlib.rc_context({"pdf.fonttype": 42}):
        atomic_write(path, lambda tmp: fig.savefig(tmp, format="pdf", metadata={
            "CreationDate": None, "Title": title or None, "Creator": "romcam"}))
    return path


def scale_bars(layout: PageLayout, x_mm: float, y_mm: float, length_mm: float = 100.0) -> None:
    """A horizontal and a vertical bar of ``length_mm`` with end ticks, to check the print scale."""
    tick = 3.0
    h0, h1 = (x_mm, y_mm), (x_mm + length_mm, y_mm)
    layout.lines += [(h0, h1, 0.3), ((h0[0], y_mm - tick), (h0[0], y_mm + tick), 0.3),
                     ((h1[0], y_mm - tick), (h1[0], y_mm + tick), 0.3)]
    layout.texts.append((x_mm + length_mm / 2 - 9, y_mm - 2.0, f"{length_mm:.0f} mm", 8))
