"""Attendance: which session each check-in belongs to, and each trainee's hours per session."""
