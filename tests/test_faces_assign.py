"""Frame-level identity assignment: the strict threshold, the relaxed rule with its margin, one person
per frame. Encodings here are chosen vectors (the rule is arithmetic on distances); the encoder itself is
tested on real photos in test_faces_recognition.py and test_faces_resnet.py."""
from __future__ import annotations

import numpy as np
import pytest

from pipeline.faces.gallery import Gallery


def _at(base: np.ndarray, direction: np.ndarray, distance: float) -> np.ndarray:
    return (base + direction / np.linalg.norm(direction) * distance).astype(np.float32)


def _between(a: np.ndarray, b: np.ndarray, from_a: float, from_b: float) -> np.ndarray:
    """A point `from_a` away from a and `from_b` away from b (off the line through them)."""
    gap = float(np.linalg.norm(b - a))
    u = (b - a) / gap
    v = np.eye(128, dtype=np.float32)[7] - u * u[7]
    v /= np.linalg.norm(v)
    x = (from_a ** 2 - from_b ** 2 + gap ** 2) / (2 * gap)
    point = (a + x * u + np.sqrt(from_a ** 2 - x ** 2) * v).astype(np.float32)
    assert np.linalg.norm(point - a) == pytest.approx(from_a, abs=1e-3)
    assert np.linalg.norm(point - b) == pytest.approx(from_b, abs=1e-3)
    return point


@pytest.fixture()
def gallery():
    rng = np.random.default_rng(3)
    people = rng.normal(size=(3, 128)).astype(np.float32)
    people *= 0.6 / np.linalg.norm(people[0] - people[1])  # A and B 0.6 apart, C somewhere else
    return Gallery(("A", "B", "C"), people, np.arange(3), 0.55), people


def test_strict_match_is_unchanged(gallery):
    g, people = gallery
    probe = _at(people[0], np.ones(128), 0.3)
    assert [m.identity for m in g.assign(probe[None], relaxed=0.6, margin=0.1)] == ["A"]


def test_relaxed_match_needs_the_margin(gallery):
    g, people = gallery
    away_from_b = people[0] - people[1]  # moving away from B keeps B far
    far_from_all = _at(people[0], away_from_b, 0.58)
    m = g.assign(far_from_all[None], relaxed=0.6, margin=0.1)[0]
    assert m.identity == "A" and 0.55 < m.distance <= 0.6
    assert g.match(far_from_all[None])[0].identity is None  # the plain match keeps it unknown
    # as far from A, but B only 0.04 farther: not a relaxed match
    between = _between(people[0], people[1], 0.58, 0.62)
    assert g.assign(between[None], relaxed=0.6, margin=0.1)[0].identity is None


@pytest.mark.parametrize("distance, relaxed", [
    (0.65, 0.6),   # beyond the relaxed threshold
    (0.58, 0.55),  # relaxed = match_threshold: the rule is off
])
def test_relaxed_match_unknown(gallery, distance, relaxed):
    g, people = gallery
    probe = _at(people[0], people[0] - people[1], distance)
    assert g.assign(probe[None], relaxed=relaxed, margin=0.1)[0].identity is None


def test_relaxed_match_not_when_the_person_is_already_in_the_frame(gallery):
    g, people = gallery
    near_a = _at(people[0], people[0] - people[1], 0.58)
    assert g.assign(near_a[None], present={"A"}, relaxed=0.6, margin=0.1)[0].identity is None
    # two relaxed candidates for A in one frame: only the closer one is A
    closer = _at(people[0], people[0] - people[1], 0.57)
    got = g.assign(np.stack([near_a, closer]), relaxed=0.6, margin=0.1)
    assert [m.identity for m in got] == [None, "A"]
    # a strict match elsewhere in the frame blocks a relaxed one
    strict = _at(people[0], people[0] - people[1], 0.2)
    assert [m.identity for m in g.assign(np.stack([near_a, strict]), relaxed=0.6, margin=0.1)] == [None, "A"]


def test_one_person_once_per_frame_nearest_first(gallery):
    g, people = gallery
    # face 1 is A (0.2); face 2 is 0.52 from A but 0.54 from B: A is taken by the nearer face, so B
    face2 = _between(people[0], people[1], 0.52, 0.54)
    face1 = _at(people[0], np.ones(128), 0.2)
    assert [m.identity for m in g.match(np.stack([face2, face1]))] == ["A", "A"]  # plain matching: twice
    got = g.assign(np.stack([face2, face1]))
    assert [m.identity for m in got] == ["B", "A"]
    # A already placed in the frame (a carried track): the near face goes to B as well
    assert g.assign(face2[None], present={"A"})[0].identity == "B"
    # at threshold 0.53 B is out of reach: the second face is unknown, not A again
    tight = Gallery(g.identities, g.encodings, g.owner, 0.53)
    assert [m.identity for m in tight.assign(np.stack([face2, face1]))] == [None, "A"]
