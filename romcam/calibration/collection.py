"""Collecting board views for a calibration: coverage of the image, the guided collector and its overlay."""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Iterable

import cv2
import numpy as np
from romcam.calibration.board import BoardSpec, BoardView, detect_board, view_descriptor


RECOMMENDED_VIEWS = 15
COVERAGE_GRID = (8, 6)                  # cells across, down, for the coverage map


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
