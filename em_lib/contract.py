"""The exercise contract: the one place that says what each assignment's learner writes.

Per assignment, in the course's order, the functions the learner writes (each an
:class:`Exercise`: its name, its parameters in order and the em_lib module that holds
the reference answer) and the em_lib functions a graded answer may call. Everything
else reads this table:

- ``em_lib/__init__.py`` exports exactly the exercises, plus :data:`EXTRAS`
  (``tests/test_packaging.py`` checks its ``__all__`` and imports against the table);
- ``tests/test_packaging.py`` checks each reference's signature, and the ``def`` of each
  answer cell in ``solutions/<assignment>/<assignment>.ipynb``, against the table, and
  the README's list of exercises too;
- ``tests/course.py`` takes the list of assignments from here;
- the grader (``course_grading``) and the self-checks (``em_lib.feedback``) read
  ``may_call``.

When a notebook is graded, the learner's code runs without em_lib (the course's reference
answers): only the functions listed in ``may_call`` are served to it, by the grader, from
outside the sandbox (``course_grading``). The learner's self-check in JupyterLab reads the
same list, so it fails a function that calls anything else of em_lib before the grader would.

Every parameter is positional-or-keyword and has no default; arrays are NumPy, named
as in the notation table (``docs/notation.md``): ``x`` (n,), ``weights``, ``means``,
``variances`` (K,), ``q`` and ``resp`` (n, K). Variances, not standard deviations.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Exercise:
    """A function the learner writes, and where its reference answer lives."""

    name: str
    parameters: tuple  #: the parameter names, in order; none has a default
    module: str  #: the em_lib module holding the reference, e.g. ``"em_lib.mixture1d"``
    returns: str  #: what it returns, in a line


@dataclass(frozen=True)
class Assignment:
    """An assignment (a notebook): the functions its learner writes, and what they may call."""

    name: str
    functions: tuple  #: the :class:`Exercise` records, in the notebook's order
    may_call: tuple = ()  #: em_lib's top-level functions a graded answer may call

    @property
    def exercises(self):
        """The names of the functions the learner writes, in the notebook's order."""
        return tuple(e.name for e in self.functions)


def _e(name, parameters, module, returns):
    return Exercise(name, tuple(parameters.split()), f"em_lib.{module}", returns)


ASSIGNMENTS = {a.name: a for a in (
    Assignment("01_latent_variables", (
        _e("log_joint", "x weights means variances", "mixture1d",
           "(n, K) array: log p(x_i, z_i = k) = log pi_k + log N(x_i; mu_k, sigma_k^2)"),
        _e("log_likelihood", "x weights means variances", "mixture1d",
           "float: sum_i log sum_k p(x_i, z_i = k), finite where the densities underflow"),
    )),
    Assignment("02_jensens_inequality", (
        _e("jensen_gap", "values q", "bound", "float: log(sum_k q_k v_k) - sum_k q_k log v_k"),
        _e("elbo", "x q weights means variances", "bound",
           "float: sum_i sum_k q_ik (log p(x_i, z_i = k) - log q_ik), with 0 log 0 = 0"),
    ), may_call=("log_joint",)),
    Assignment("03_tight_bound", (
        _e("posterior", "x weights means variances", "mixture1d", "(n, K) array: p(z_i = k | x_i); rows sum to 1"),
    ), may_call=("log_joint",)),
    Assignment("04_e_and_m_steps", (
        _e("m_step", "x resp", "mixture1d", "(weights, means, variances) maximising the bound for fixed resp"),
        _e("em_iteration", "x weights means variances", "bound",
           "(weights, means, variances, chain): one iteration and its chain of four numbers"),
        _e("fit_em", "x weights means variances n_iter", "mixture1d",
           "(weights, means, variances, log_likelihoods), one never-decreasing entry per iteration"),
    ), may_call=("log_joint", "log_likelihood", "e_step", "elbo")),
    Assignment("05_em_in_practice", (
        _e("n_gmm_params", "K d", "mixture_nd", "int: the free parameters of a full-covariance mixture"),
        _e("kmeans_step", "X centres", "mixture_nd", "(labels (n,), new_centres (K, d)): one k-means iteration"),
    )),
    Assignment("06_beyond_gaussians", (
        _e("two_coins_em", "heads n_tosses theta_a theta_b n_iter", "coins",
           "(theta_a, theta_b) after n_iter EM iterations"),
        _e("three_coins_em", "y pi p q n_iter", "coins", "(pi, p, q) after n_iter EM iterations"),
    )),
    Assignment("07_deriving_em", (
        _e("poisson_e_step", "counts weights rates", "poisson", "(m, K) responsibilities, one row per distinct count"),
        _e("poisson_m_step", "counts frequencies resp", "poisson", "(weights, rates) maximising the bound"),
        _e("gaussian_missing_e_step", "X mean cov", "missing",
           "(expected_x (n, d), expected_xx (n, d, d)): the conditional moments of each row"),
        _e("gaussian_missing_m_step", "expected_x expected_xx", "missing",
           "(mean, cov) maximising the expected complete-data log-likelihood"),
    )),
)}

#: em_lib's top-level functions that are no exercise: ``e_step`` is notebook 03's
#: ``posterior`` under notebook 04's name (04's answers may call it).
EXTRAS = (
    _e("e_step", "x weights means variances", "mixture1d", "(n, K) responsibilities gamma_ik"),
)

#: Every exercise by name, in the course's order.
EXERCISES = {e.name: e for a in ASSIGNMENTS.values() for e in a.functions}

#: Libraries a graded answer may use, said to learners in each notebook's first exercise.
ALLOWED_LIBRARIES = "NumPy, SciPy, math and the rest of Python's standard library"


def exported():
    """The names em_lib exports at its top level: the exercises in order, then :data:`EXTRAS`."""
    return [*EXERCISES, *(e.name for e in EXTRAS)]


def may_call(exercise):
    """em_lib's functions the assignment holding ``exercise`` lets its answers call (``()`` if none)."""
    for assignment in ASSIGNMENTS.values():
        if exercise in assignment.exercises:
            return assignment.may_call
    return ()
