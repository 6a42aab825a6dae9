"""romcam: joint range of motion from an ordinary webcam."""

__version__ = "0.1.0"
