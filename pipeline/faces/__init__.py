"""Face stage: detect, count and recognise faces in photos and sampled video frames.

Only ``adapter.py`` imports face libraries; everything else works on ``FaceDetections`` and encodings.
"""
from pipeline.faces.errors import EnrollmentError, FaceError

__all__ = ["EnrollmentError", "FaceError"]
