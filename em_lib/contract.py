"""The exercise contract: the functions each assignment's learner writes, and what they may call.

When a notebook is graded, the learner's code runs without em_lib (the course's reference
answers): only the functions listed in ``may_call`` are served to it, by the grader, from
outside the sandbox (``course_grading``). The learner's self-check in JupyterLab reads the
same list, so it fails a function that calls anything else of em_lib before the grader would.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Assignment:
    name: str
    exercises: tuple          #: the functions the learner writes, in the notebook's order
    may_call: tuple = ()      #: em_lib's top-level functions a graded answer may call


ASSIGNMENTS = {a.name: a for a in (
    Assignment("01_latent_variables", ("log_joint", "log_likelihood")),
    Assignment("02_jensens_inequality", ("jensen_gap", "elbo"), may_call=("log_joint",)),
    Assignment("03_tight_bound", ("posterior",), may_call=("log_joint",)),
    Assignment("04_e_and_m_steps", ("m_step", "em_iteration", "fit_em"),
               may_call=("log_joint", "log_likelihood", "e_step", "elbo")),
    Assignment("05_em_in_practice", ("n_gmm_params", "kmeans_step")),
    Assignment("06_beyond_gaussians", ("two_coins_em", "three_coins_em")),
    Assignment("07_deriving_em", ("poisson_e_step", "poisson_m_step", "gaussian_missing_e_step",
                                  "gaussian_missing_m_step")),
)}

#: Libraries a graded answer may use, said to learners in each notebook's first exercise.
ALLOWED_LIBRARIES = "NumPy, SciPy, math and the rest of Python's standard library"


def may_call(exercise):
    """em_lib's functions the assignment holding ``exercise`` lets its answers call (``()`` if none)."""
    for assignment in ASSIGNMENTS.values():
        if exercise in assignment.exercises:
            return assignment.may_call
    return ()
