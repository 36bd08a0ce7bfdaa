"""IDENTITY_SHARED's pair search (rules/identity._distinct_pairs) finds exactly the pairs that comparing every
pair with _same_person finds, in the same order, on random rosters mixing numbered and unnumbered entries,
repeated numbers and names, and several entries of one class."""

import itertools
import random

from pipeline.rules.identity import _distinct_pairs, _same_person


def _brute(persons):
    return [(i, j) for i, j in itertools.combinations(range(len(persons)), 2) if not _same_person(persons[i], persons[j])]


def test_distinct_pairs_equal_every_pair_compared():
    rng = random.Random(19)
    for _ in range(300):
        n = rng.randrange(0, 40)
        persons = [(f"C{rng.randrange(6)}", rng.choice([None, None, "A1", "B2", "C3", "D4"]),
                    rng.choice(["张三", "李四", "王五"])) for _ in range(n)]
        assert _distinct_pairs(persons) == _brute(persons), persons


def test_two_hundred_classes_enrolling_one_person_make_no_pair():
    persons = [(f"C{i:03d}", "370101199001011234", "张三") for i in range(200)]
    assert _distinct_pairs(persons) == []
    persons.append(("C000", "370101199001011234", "张三"))  # the same number twice in one class: a pair
    assert _distinct_pairs(persons) == [(0, 200)]
