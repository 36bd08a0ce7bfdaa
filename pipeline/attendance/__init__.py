"""Attendance: the class-level stage between the per-recording analyses and the rules. `build` turns one
class's archive and its recordings' analyses into its evidence (frames, presence, check-ins by session,
hours per trainee); it opens no file.

- evidence.py: the frames, and `build`;
- presence.py: unknown faces clustered across the class, presence intervals, robust headcount;
- checkin_sessions.py: which session each check-in belongs to; hours.py, requirements.py: hours;
- timeline.py: intervals in wall-clock time.
"""


def build(*args, **kwargs):
    """pipeline.attendance.evidence.build (imported on use: the package itself stays light)."""
    from pipeline.attendance.evidence import build as build_evidence

    return build_evidence(*args, **kwargs)
