"""What every learner's self-check must do, for the tests of em_lib.feedback (tests/test_feedback_*.py).

A self-check (``self_check_<exercise>`` of em_lib.feedback) runs a few checks on the learner's
function and prints one line per check. A test module lists its exercises in a table
``SELF_CHECKS = {exercise: SelfCheck(...)}``: the self-check, wrong functions written as a learner
would write them (each with a phrase of its mistake's explanation) and correct ones. Then

    test_self_check_names_each_mistake, test_self_check_passes_correct_code, test_stub_is_not_written_yet = (
        self_check_tests(SELF_CHECKS))

gives it three tests, parametrized over the table (ids ``exercise-function``):

- the self-check fails for each wrong function, names its mistake and marks a check ✗;
- it passes em_lib's reference and a learner's correct version: "All n checks passed.", no ✗;
- for the release's stub it says "not written yet" once per check.
"""

from dataclasses import dataclass
from typing import Callable

import pytest


def stub(*args, **kwargs):
    """The release's answer cell, not yet written by the learner."""
    raise NotImplementedError()


def self_check_output(self_check, fn, capsys):
    """What ``self_check(fn)`` prints, once it has failed (some of its checks failed)."""
    with pytest.raises(AssertionError, match="checks failed"):
        self_check(fn)
    return capsys.readouterr().out


@dataclass(frozen=True)
class SelfCheck:
    """An exercise's self-check and the learner's functions it is tried on."""

    run: Callable  #: em_lib.feedback's ``self_check_<exercise>``
    wrong: list  #: (wrong function, phrase its self-check must print)
    right: tuple  #: correct functions: em_lib's reference, a learner's version
    n_checks: int  #: how many checks the self-check runs


def _name(fn, phrase=None):
    """A test id for ``fn``: its name; "reference" for em_lib's; the phrase for a lambda."""
    if fn.__module__.startswith("em_lib"):
        return "reference"
    return phrase if fn.__name__ == "<lambda>" else fn.__name__


def self_check_tests(table):
    """The three tests of the self-checks in ``table`` ({exercise: SelfCheck}), for a test module to collect."""
    mistakes = [pytest.param(case.run, wrong, phrase, id=f"{exercise}-{_name(wrong, phrase)}")
                for exercise, case in table.items() for wrong, phrase in case.wrong]
    rights = [pytest.param(case.run, fn, case.n_checks, id=f"{exercise}-{_name(fn)}")
              for exercise, case in table.items() for fn in case.right]
    stubs = [pytest.param(case.run, case.n_checks, id=exercise) for exercise, case in table.items()]

    @pytest.mark.parametrize("self_check, wrong, phrase", mistakes)
    def test_self_check_names_each_mistake(self_check, wrong, phrase, capsys):
        out = self_check_output(self_check, wrong, capsys)
        assert phrase in out, out
        assert "✗" in out, out

    @pytest.mark.parametrize("self_check, fn, n_checks", rights)
    def test_self_check_passes_correct_code(self_check, fn, n_checks, capsys):
        self_check(fn)
        out = capsys.readouterr().out
        assert f"All {n_checks} checks passed." in out, out
        assert "✗" not in out, out

    @pytest.mark.parametrize("self_check, n_checks", stubs)
    def test_stub_is_not_written_yet(self_check, n_checks, capsys):
        out = self_check_output(self_check, stub, capsys)
        assert out.count("not written yet") == n_checks, out

    return test_self_check_names_each_mistake, test_self_check_passes_correct_code, test_stub_is_not_written_yet
