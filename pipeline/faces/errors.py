"""Typed errors of the face stage (the CLI maps them to exit codes; the library never exits)."""
from __future__ import annotations


class FaceError(Exception):
    """Base class of face-stage errors."""


class EnrollmentError(FaceError):
    """An enrollment photo that cannot give one face encoding: names the file and what was found."""

    def __init__(self, path: str, found: str, identity: str | None = None):
        self.path, self.found, self.identity = str(path), found, identity
        who = f" for {identity!r}" if identity else ""
        super().__init__(f"{path}: enrollment photo{who}: expected exactly one face, found {found}")

    def __reduce__(self):
        # Galleries carry their enrollment problems into worker processes: rebuild from the fields.
        return (type(self), (self.path, self.found, self.identity))
