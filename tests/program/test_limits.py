"""program/limits.py: size, nesting and expansion limits, with the counts worked by hand."""

import yaml

from punchcard.program import limits


def _root(text: str) -> yaml.Node:
    return yaml.compose(text, Loader=yaml.SafeLoader)


TEXT = "a: &a [1, 2]\nb: [*a, *a]\n"
# expanded values: the root mapping 1 + key a 1 + [1, 2] 3 + key b 1 + [*a, *a] (1 + 3 + 3) 7 = 13
# levels: root → b's list → a's list = 3


def test_expansion_counts_every_alias_as_its_copy(monkeypatch):
    monkeypatch.setattr(limits, "MAX_NODES", 13)
    assert limits.expansion_problem(_root(TEXT)) is None
    monkeypatch.setattr(limits, "MAX_NODES", 12)
    assert "expand to more than 12 values" in limits.expansion_problem(_root(TEXT)).message


def test_expansion_depth_follows_aliases(monkeypatch):
    monkeypatch.setattr(limits, "MAX_DEPTH", 3)
    assert limits.expansion_problem(_root(TEXT)) is None
    monkeypatch.setattr(limits, "MAX_DEPTH", 2)
    assert "more than 2 levels deep" in limits.expansion_problem(_root(TEXT)).message


def test_nesting_is_counted_on_events(monkeypatch):
    monkeypatch.setattr(limits, "MAX_DEPTH", 3)
    assert limits.nesting_problem("a: [[1]]\n") is None  # mapping, list, list: 3
    problem = limits.nesting_problem("a: [[[1]]]\n")  # the fourth level opens at column 6
    assert (problem.line, problem.column) == (1, 6)


def test_size_in_bytes_not_characters(monkeypatch):
    monkeypatch.setattr(limits, "MAX_BYTES", 4)
    assert limits.size_problem("øø") is None  # 2 characters, 4 bytes
    assert "5 bytes" in limits.size_problem("øøa").message


def test_self_reference_is_found():
    problem = limits.expansion_problem(_root("a: &x [1, *x]\n"))
    assert "refers to the value that contains it" in problem.message
