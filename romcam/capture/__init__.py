"""Capture: where frames and landmarks come from. Owns the frame sources (webcam, video file,
image folder), the MediaPipe model bundles and their cache, the landmark detector, the live
camera thread and the replayed camera (``camera``), the offline recording pipeline that turns a
video into a landmark series (``pipeline``), and synthetic landmark streams (``synthetic``).
It may import only the base modules (``romcam.errors``, ``romcam.dirs``, ``romcam.files``,
``romcam.timestamps``); every other stage may import it.
"""
