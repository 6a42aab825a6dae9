"""Measure: pure maths from landmarks to numbers. Owns the angle geometry (``angles``), the joint
definitions (``joints``), filtering (``filters``), rep counting (``reps``), frame validity and
the angle series, offline and frame by frame (``series``), the whole-clip analysis
(``analysis``) and before/after with its uncertainty (``outcome``). No file, camera, window or
database here. It may import the base modules and ``romcam.capture`` (for the landmark types);
the coming 3-D head frame (``head``), neck-circle turn counter (``turns``) and ankle heel-rise /
leg identity (``legs``) belong here too.
"""
