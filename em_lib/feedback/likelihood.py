r"""Feedback for notebook 01: ``log_joint`` and ``log_likelihood``.

Each exercise has a tuple of classic mistakes, written as the wrong answer a
function with that mistake returns, and two kinds of entry point:

- ``self_check_<fn>(fn)``: the visible self-check cell; prints a line per check;
- ``check_<fn>(fn, **inputs)``: one graded check on the given inputs; prints a
  confirmation when right, raises ``AssertionError`` naming the mistake when wrong.

The reference answers are em_lib's (:func:`em_lib.mixture1d.log_joint`,
:func:`em_lib.mixture1d.log_likelihood`).

The learner's ``log_likelihood`` calls their own ``log_joint``. Each function is graded
on its own: the graded cells of ``log_likelihood`` run inside
``using_reference(globals(), log_joint=em_lib.log_joint)``, and its self-check, given
the notebook's ``globals()``, says when the fault lies in ``log_joint`` instead.
"""

import numpy as np

from ..datasets import HEIGHTS_TRUE
from ..mixture1d import LOG_2PI, log_joint, log_likelihood, logsumexp_rows
from .core import (Mistake, as_real_array, call_learner, check, describe_difference, graded, kind_of, run_self_check,
                   shape_of)
from .namespace import blame, using_reference  # noqa: F401  (using_reference: for the graded cells)


# --------------------------------------------------------------------------
# The inputs of the visible checks (the notebook uses the same ones).
# --------------------------------------------------------------------------

#: Five people's heights in cm: the lecture's 1.90 m and 1.55 m people and three more.
EXAMPLE_X = np.array([190.0, 155.0, 170.0, 162.5, 181.0])

#: One height typed in millimetres instead of centimetres: 1753 "cm" is about 210
#: standard deviations from either mean, so its densities underflow to exactly 0.
TYPO_X = np.array([172.0, 158.5, 1753.0])

#: A three-component model with unequal weights, to tell apart mistakes that
#: coincide when the weights are equal.
THREE_COMPONENTS = (
    np.array([0.2, 0.5, 0.3]),
    np.array([150.0, 165.0, 185.0]),
    np.array([16.0, 36.0, 81.0]),
)


def heights_model():
    """Copies of the true heights parameters ``(weights, means, variances)``."""
    return tuple(a.copy() for a in HEIGHTS_TRUE)


def _inputs(x, weights, means, variances):
    """Fresh float copies, so a learner's function that edits its inputs changes nothing here."""
    return {
        "x": np.array(x, dtype=float),
        "weights": np.array(weights, dtype=float),
        "means": np.array(means, dtype=float),
        "variances": np.array(variances, dtype=float),
    }


def _describe_inputs(name, x, weights, **_):
    n, K = np.size(x), np.size(weights)
    return f"{name}(x, weights, means, variances) with n = {n}, K = {K}"


def _called(name, x, weights, means, variances, what):
    """Fresh float copies of the inputs, and what the messages call ``name`` on them: ``what``, or the call described."""
    kwargs = _inputs(x, weights, means, variances)
    return kwargs, what or _describe_inputs(name, **kwargs)


def _values(name, reference, mistakes, fn, x, weights, means, variances, what):
    """``fn``, the learner's ``name``, checked against ``reference`` and its classic ``mistakes`` on these inputs."""
    kwargs, what = _called(name, x, weights, means, variances, what)
    with np.errstate(invalid="ignore"):
        return check(fn, kwargs, reference, mistakes, what)


# --------------------------------------------------------------------------
# Pieces the wrong answers are built from.
# --------------------------------------------------------------------------

def _log_normal(x, means, variances):
    """(n, K) log N(x_i; mu_k, sigma_k^2), right."""
    x = np.asarray(x, dtype=float)[:, None]
    return -0.5 * (LOG_2PI + np.log(variances)) - 0.5 * (x - means) ** 2 / variances


def _density(x, weights, means, variances):
    """(n, K) pi_k N(x_i; mu_k, sigma_k^2) computed directly: underflows to 0 in the far tails."""
    x = np.asarray(x, dtype=float)[:, None]
    return weights * np.exp(-0.5 * (x - means) ** 2 / variances) / np.sqrt(2 * np.pi * variances)


def _safe_log(a):
    with np.errstate(divide="ignore"):
        return np.log(a)


# --------------------------------------------------------------------------
# log_joint
# --------------------------------------------------------------------------

LOG_JOINT_MISTAKES = (
    Mistake(
        "conditional_not_joint",
        "It returns log N(x_i; mu_k, sigma_k^2) = log p(x_i | z_i = k), the CONDITIONAL density: "
        "the mixing weights are forgotten. The joint is p(x_i, z_i = k) = p(z_i = k) p(x_i | z_i = k) "
        "= pi_k N(x_i; mu_k, sigma_k^2), so add log(weights) to every row. "
        "Revisit the section 'Joint versus conditional'.",
        lambda x, weights, means, variances: _log_normal(x, means, variances),
    ),
    Mistake(
        "weights_not_logged",
        "The weights are added as pi_k instead of log pi_k. In log space the product "
        "pi_k * N(...) becomes the sum log pi_k + log N(...): take the log of the weights too.",
        lambda x, weights, means, variances: weights + _log_normal(x, means, variances),
    ),
    Mistake(
        "weights_times_log_density",
        "The weights multiply the log density (pi_k * log N). The joint is the product "
        "pi_k * N(...); its log is log pi_k + log N(...), a sum, not pi_k times the log.",
        lambda x, weights, means, variances: weights * _log_normal(x, means, variances),
    ),
    Mistake(
        "standard_deviation_for_variance",
        "The standard deviation is used where the variance belongs: the parameters are variances "
        "sigma_k^2, so log N = -1/2 log(2 pi sigma_k^2) - (x - mu_k)^2 / (2 sigma_k^2) uses "
        "`variances` directly, with no square root.",
        lambda x, weights, means, variances: np.log(weights) + _log_normal(x, means, np.sqrt(variances)),
    ),
    Mistake(
        "variances_squared",
        "The variances are used as if they were standard deviations (so they end up squared). "
        "If you called scipy.stats.norm, its `scale` is the standard deviation: pass "
        "np.sqrt(variances), or write the formula with `variances` directly.",
        lambda x, weights, means, variances: np.log(weights) + _log_normal(x, means, variances**2),
    ),
    Mistake(
        "normalising_constant_missing",
        "The normalising constant of the Gaussian is missing: log N(x; mu, sigma^2) = "
        "-1/2 log(2 pi sigma^2) - (x - mu)^2 / (2 sigma^2). Without the first term the densities "
        "of components with different variances are not comparable.",
        lambda x, weights, means, variances: np.log(weights) - 0.5 * (np.asarray(x, float)[:, None] - means) ** 2 / variances,
    ),
    Mistake(
        "half_missing_in_exponent",
        "The square in the exponent lost its 1/2: log N(x; mu, sigma^2) = -1/2 log(2 pi sigma^2) "
        "- (x - mu)^2 / (2 sigma^2).",
        lambda x, weights, means, variances: np.log(weights) - 0.5 * (LOG_2PI + np.log(variances))
        - (np.asarray(x, float)[:, None] - means) ** 2 / variances,
    ),
    Mistake(
        "density_not_log",
        "It returns the density pi_k N(x_i; mu_k, sigma_k^2) itself, not its log. "
        "log_joint must return log p(x_i, z_i = k).",
        lambda x, weights, means, variances: _density(x, weights, means, variances),
    ),
    Mistake(
        "log_of_underflowed_density",
        "It computes the density pi_k N(...) first and takes the log afterwards. The density of a "
        "far-tail point underflows to 0 and log(0) = -inf. Write the log density directly: "
        "log pi_k - 1/2 log(2 pi sigma_k^2) - (x_i - mu_k)^2 / (2 sigma_k^2) (section 'Log-sum-exp').",
        lambda x, weights, means, variances: _safe_log(_density(x, weights, means, variances)),
    ),
    Mistake(
        "log_joint_transposed",
        "The result is transposed: it has shape (K, n), one row per component. The contract is "
        "(n, K): row i is sample x_i, column k is component k (use x[:, None] against means[None, :]).",
        lambda x, weights, means, variances: log_joint(x, weights, means, variances).T,
    ),
)
LOG_JOINT_TRANSPOSED = LOG_JOINT_MISTAKES[-1]


@graded
def check_log_joint(fn, x, weights, means, variances, what=None):
    """Graded check: ``fn`` gives em_lib's log joint on these inputs; explain the mistake if not."""
    return _values("log_joint", log_joint, LOG_JOINT_MISTAKES, fn, x, weights, means, variances, what)


@graded
def check_log_joint_shape(fn, x, weights, means, variances, what=None):
    """Graded check of the shape only: an (n, K) array, whatever its values."""
    kwargs, what = _called("log_joint", x, weights, means, variances, what)
    got = call_learner(fn, kwargs, what)
    expected = (kwargs["x"].size, kwargs["weights"].size)
    shape = shape_of(got)  # None for a ragged list: no shape at all
    if shape != expected:
        if shape == expected[::-1]:
            raise LOG_JOINT_TRANSPOSED.found(what)
        raise AssertionError(
            f"{what} is not right: "
            + describe_difference(got, np.zeros(expected), "the result")
            + ". Return one row per sample and one column per component."
        )
    return f"{what}: shape (n, K) = {expected}"


_log_joint_values, _log_joint_shape = check_log_joint.verdict, check_log_joint_shape.verdict


def self_check_log_joint(fn):
    """The visible self-check of exercise 1.1: prints one line per check."""
    heights = heights_model()
    run_self_check([
        (
            "shape: 5 heights, K = 2 gives a (5, 2) array",
            lambda: _log_joint_shape(fn, EXAMPLE_X, *heights),
        ),
        (
            "values: 5 heights under the true heights model",
            lambda: _log_joint_values(fn, EXAMPLE_X, *heights),
        ),
        (
            "values: K = 3 components with unequal weights",
            lambda: _log_joint_values(fn, EXAMPLE_X, *THREE_COMPONENTS),
        ),
        (
            "far tail: a height typed in mm (1753) must give finite logs",
            lambda: _log_joint_values(fn, TYPO_X, *heights),
        ),
    ])


# --------------------------------------------------------------------------
# log_likelihood
# --------------------------------------------------------------------------

def _naive_log_likelihood(x, weights, means, variances):
    with np.errstate(divide="ignore"):
        return float(np.log(_density(x, weights, means, variances).sum(axis=1)).sum())


def _shift_not_added_back(x, weights, means, variances):
    lj = log_joint(x, weights, means, variances)
    top = lj.max(axis=1, keepdims=True)
    return float(np.log(np.exp(lj - top).sum(axis=1)).sum())


LOG_LIKELIHOOD_MISTAKES = (
    Mistake(
        "sum_of_logs",
        "It is the sum of the logs, sum_i sum_k log p(x_i, z_i = k), not the log of the sum. "
        "The hidden z is summed out INSIDE the log: l(theta) = sum_i log sum_k p(x_i, z_i = k). "
        "The log of a sum is not a sum of logs; that is exactly why this likelihood is hard "
        "(section 'The log-likelihood with z summed out').",
        lambda x, weights, means, variances: float(log_joint(x, weights, means, variances).sum()),
    ),
    Mistake(
        "sum_of_densities_underflows",
        "The sum of densities underflows: a far-tail point has p(x_i, z_i = k) = 0.0 in floating "
        "point for every k, and log(0) = -inf. Work in log space with log-sum-exp: subtract the "
        "row maximum m_i of log p(x_i, z_i = k) before exp, and add it back after the log "
        "(section 'Log-sum-exp').",
        _naive_log_likelihood,
    ),
    Mistake(
        "weights_forgotten_in_sum",
        "The mixing weights are forgotten: it sums N(x_i; mu_k, sigma_k^2) over k instead of "
        "pi_k N(x_i; mu_k, sigma_k^2). Sum the JOINT p(x_i, z_i = k) over k, i.e. log_joint.",
        lambda x, weights, means, variances: float(logsumexp_rows(_log_normal(x, means, variances)).sum()),
    ),
    Mistake(
        "weights_counted_twice",
        "The weights are counted twice: log_joint already contains log pi_k, so sum exp(log_joint) "
        "over k as it is, without multiplying by the weights again.",
        lambda x, weights, means, variances: float(
            logsumexp_rows(np.log(weights) + log_joint(x, weights, means, variances)).sum()
        ),
    ),
    Mistake(
        "logsumexp_shift_not_added_back",
        "In log-sum-exp the shift is not added back: log sum_k exp(a_ik) = m_i + log sum_k "
        "exp(a_ik - m_i). After the log, add the maximum m_i of each row again.",
        _shift_not_added_back,
    ),
    Mistake(
        "max_instead_of_logsumexp",
        "It keeps only the largest term, sum_i max_k log p(x_i, z_i = k): that assigns each person "
        "to one group for sure. The likelihood sums over ALL values of the hidden z, so use "
        "log-sum-exp over k, not the maximum.",
        lambda x, weights, means, variances: float(log_joint(x, weights, means, variances).max(axis=1).sum()),
    ),
    Mistake(
        "mean_over_samples_not_sum",
        "It is the MEAN over samples. The samples are independent, so the likelihood is a product "
        "over i and its log a SUM over i: l(theta) = sum_i log p(x_i).",
        lambda x, weights, means, variances: float(logsumexp_rows(log_joint(x, weights, means, variances)).mean()),
    ),
    Mistake(
        "one_number_per_sample",
        "It returns one number per sample, log p(x_i). The log-likelihood is their sum over i, a "
        "single float.",
        lambda x, weights, means, variances: logsumexp_rows(log_joint(x, weights, means, variances)),
    ),
)


@graded
def check_log_likelihood(fn, x, weights, means, variances, what=None):
    """Graded check: ``fn`` gives em_lib's log-likelihood on these inputs; explain the mistake if not."""
    return _values("log_likelihood", log_likelihood, LOG_LIKELIHOOD_MISTAKES, fn, x, weights, means, variances, what)


@graded
def check_log_likelihood_is_number(fn, x, weights, means, variances, what=None):
    """Graded check of the type: a single finite number (a float or a 0-d array), whatever its value."""
    kwargs, what = _called("log_likelihood", x, weights, means, variances, what)
    got = call_learner(fn, kwargs, what)
    shape = shape_of(got)
    if shape is not None and shape != ():
        raise AssertionError(
            f"{what} is not right: it should return one number, got shape {shape}. "
            "The log-likelihood sums log p(x_i) over all the samples."
        )
    number = as_real_array(got)
    if number is None or shape is None:
        raise AssertionError(f"{what} should return a number, got {kind_of(got)}")
    value = float(number)
    if not np.isfinite(value):
        raise AssertionError(
            f"{what} is not right: it returned {value}. On these heights every log p(x_i) is finite."
        )
    return f"{what}: a single finite number"


_log_likelihood_value, _log_likelihood_number = check_log_likelihood.verdict, check_log_likelihood_is_number.verdict


def self_check_log_likelihood(fn, namespace=None):
    """The visible self-check of exercise 1.2: prints one line per check.

    Pass the notebook's ``globals()`` as ``namespace``: when ``fn`` is wrong with the
    learner's own ``log_joint`` but right with em_lib's, the check says that
    ``log_joint`` is the function to fix.
    """
    heights = heights_model()

    def alone(thunk):
        return lambda: blame(thunk, "log_likelihood", namespace, log_joint=log_joint)

    run_self_check([
        (
            "a single number for 5 heights",
            alone(lambda: _log_likelihood_number(fn, EXAMPLE_X, *heights)),
        ),
        (
            "value: 5 heights under the true heights model",
            alone(lambda: _log_likelihood_value(fn, EXAMPLE_X, *heights)),
        ),
        (
            "value: K = 3 components with unequal weights",
            alone(lambda: _log_likelihood_value(fn, EXAMPLE_X, *THREE_COMPONENTS)),
        ),
        (
            "far tail: a height typed in mm (1753) must give a finite log-likelihood",
            alone(lambda: _log_likelihood_value(fn, TYPO_X, *heights)),
        ),
    ])
