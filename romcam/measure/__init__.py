"""Measure: pure maths from landmarks to numbers. Owns the 2-D angle geometry (``angles``), the
head and trunk frames in 3-D (``head``), the joint definitions (``joints``), filtering
(``filters``), rep counting (``reps``), neck-circle turn counting (``turns``, wired in by
``circles``), the ankle's legs, heel and vertical (``legs``, ``ankle``), frame validity and the
angle series, offline and frame by frame (``series``), the whole-clip analysis (``analysis``)
and before/after with its uncertainty (``outcome``). No file, camera, window or database here.
It may import the base modules and ``romcam.capture`` (for the landmark types).
"""
