"""Calibration: printable targets, lens intrinsics, camera profiles, undistortion, camera level,
angle check. Wide-angle webcams bend straight limbs near the image edges and a tilted camera adds
its tilt to every angle; this package makes both measurable and correctable, one small module per
job: ``printing`` (pages in millimetres -> vector PDF or raster), ``board`` (the ChArUco board and
finding it), ``collection`` (views and their coverage), ``intrinsics`` (the fit), ``profiles``
(named camera profiles on disk), ``undistort`` (correcting landmark coordinates with a profile),
``level`` (camera roll), ``angle_sheet`` (markers at known angles) and ``synthetic`` (a known
camera and lens, for tests), with ``jsonfile`` for their JSON files. It may import the base
modules, ``romcam.capture`` and ``romcam.measure`` (angle helpers); the session and cli stages
import it. Image points are pixels, x right, y down; page points millimetres from the top-left
corner; angles in degrees, counter-clockwise positive as seen (as in ``romcam.measure.angles``).
The names below are the package's public surface, so ``from romcam import calibration as cal``
reaches every job.
"""

from romcam.calibration.angle_sheet import (SHEET_DICTIONARY, SHEET_FORMAT, SheetMarker, AngleSheet,
                                            default_angle_sheet, sheet_layout, write_angle_sheet,
                                            load_angle_sheet, detect_markers, marker_angle_deg, MarkerAngle,
                                            SheetMeasurement, measure_angle_sheet)
from romcam.calibration.board import (BOARD_DICTIONARY, MIN_CORNERS_PER_VIEW, BLUR_LIMIT_PX, BOARD_FORMAT,
                                      to_gray, BoardSpec, parse_squares, load_board, board_layout,
                                      write_board, board_texture, BoardView, edge_blur_px, detect_board,
                                      board_homography, view_descriptor)
from romcam.calibration.collection import (RECOMMENDED_VIEWS, COVERAGE_GRID, coverage_map, missing_regions,
                                           ViewCollector, draw_collection_overlay)
from romcam.calibration.intrinsics import (MIN_VIEWS, MAX_RMS_PX, CalibrationResult, calibrate_views,
                                           calibrate_images)
from romcam.calibration.level import (RollMeasurement, roll_from_homography, roll_from_board,
                                      roll_from_vertical_line)
from romcam.calibration.printing import (PAPER_MM, PT_PER_MM, aruco_dictionary, CellGrid, PageLayout,
                                         marker_bits, rasterize_page, page_figure, write_page_pdf,
                                         scale_bars)
from romcam.calibration.profiles import (PROFILE_FORMAT, PROFILES_SUBDIR, REPO_PROFILES, NAME_PATTERN,
                                         CameraProfile, profile_from_calibration, check_profile_name,
                                         profile_dirs, find_profile_path, load_profile, store_roll,
                                         save_profile)
from romcam.calibration.synthetic import SyntheticCamera, rotation_xyz
from romcam.calibration.undistort import (TILT_LIMIT_DEG, UNDISTORT_CRITERIA, UNDISTORT_RESIDUAL_PX,
                                          scaled_camera_matrix, undistort_points, distort_points,
                                          level_points, level_face_matrix, correct_points, undistort_series,
                                          tilt_warning)
from romcam.measure.angles import visual_rotation
from romcam.timestamps import now_iso
