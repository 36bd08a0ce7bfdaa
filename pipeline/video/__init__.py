"""Video evidence: probe recordings, sample frames in one pass, find blank and reused footage,
measure coverage of the schedule. Records only; the RECORDING_* findings are made in pipeline/rules."""
