"""Session: the live, guided measurement. Owns the protocol state machine (``protocol``), the
per-frame engine that feeds it (``engine``), the setup check (``setup_check``) and the app's camera
check built on it (``camera_check``), the live window
overlay (``overlay``) and the runner that wires camera, models, engine, window and the session
database together (``runner``), and the speed benchmark of that loop and of the offline
pipeline (``bench``). It may import the base modules, ``romcam.capture``,
``romcam.measure``, ``romcam.calibration`` and ``romcam.storage`` (the runner records into the
store), never ``romcam.report``, ``romcam.app`` or ``romcam.cli``.
"""
