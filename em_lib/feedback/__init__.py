"""Feedback for the exercises: checks that name the likely misconception in words.

``core`` holds the machinery (compare with em_lib's reference, then with the
answers the classic mistakes give); one module per notebook's exercises holds
those mistakes and the ready-made checks the notebooks call.
"""

from .core import Misconception, Mistake, MistakeFound, check, judge, mistake_catalogue, run_self_check

__all__ = ["Misconception", "Mistake", "MistakeFound", "check", "judge", "mistake_catalogue", "run_self_check"]
