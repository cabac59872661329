r"""Feedback for notebook 07, where the learner derives EM for two models the course has not shown.

Part A, a mixture of Poissons on a frequency table (Hasselblad's deaths):

- ``poisson_e_step(counts, weights, rates)``: the (m, K) responsibilities
  :math:`r_{jk} = p(z = k \mid u_j)` (eq. 7.3);
- ``poisson_m_step(counts, frequencies, resp)``: ``(weights, rates)`` (eq. 7.4), each of the two
  checked on its own with its own classic mistakes.

Part B, a Gaussian with missing entries (Old Faithful with holes):

- ``gaussian_missing_e_step(X, mean, cov)``: ``(expected_x, expected_xx)`` (eq. 7.7), the two
  checked on their own; the second moment is judged around the learner's own first moment, so a
  mistake in the conditional mean is charged once;
- ``gaussian_missing_m_step(expected_x, expected_xx)``: ``(mean, cov)`` (eq. 7.8), the covariance
  judged around the learner's own mean.

The references are :mod:`em_lib.poisson` and :mod:`em_lib.missing`. Each classic mistake is
written out as the wrong function it describes, so an answer that matches it is named in words.
Each exercise has ``self_check_<fn>(fn)`` (the visible self-check cell) and graded
``check_<fn>(fn, ...)`` functions for the test cells, which print a ✓ line when right.
"""

import functools

import numpy as np

from .. import datasets as _datasets
from ..missing import conditional as _conditional
from ..missing import gaussian_missing_e_step as reference_missing_e_step
from ..missing import gaussian_missing_m_step as reference_missing_m_step
from ..poisson import poisson_e_step as reference_poisson_e_step
from ..poisson import poisson_log_joint as _poisson_log_joint
from ..poisson import poisson_m_step as reference_poisson_m_step
from .core import (
    Misconception,
    Mistake,
    _copy,
    as_real_array,
    call_learner,
    check,
    close,
    finite_array,
    graded,
    kind_of,
    learner_tuple,
    parts_verdict,
    run_self_check,
    weights_sum_to_one,
)

#: The start of EM on Hasselblad's table used by the notebook's checks: (weights, rates).
POISSON_START = (np.array([0.3, 0.7]), np.array([1.0, 2.5]))


def _f(a):
    return np.asarray(a, dtype=float)


def _quiet(mistakes):
    """The mistakes with their answers computed under ``np.errstate(all="ignore")``: a wrong answer may
    overflow (that is what makes it wrong), and the learner should read the explanation, not NumPy's warning."""
    def silenced(answer):
        @functools.wraps(answer)
        def quiet_answer(**kwargs):
            with np.errstate(all="ignore"):
                return answer(**kwargs)
        return quiet_answer

    return tuple(m.with_answer(silenced(m.answer)) for m in mistakes)


# ==========================================================================
# Part A: poisson_e_step
# ==========================================================================


def _joint(counts, weights, rates):
    """p(u_j, z = k) itself, exponentiated (it underflows or overflows for large counts)."""
    return np.exp(_poisson_log_joint(counts, weights, rates))


def _normalise_rows(log_joint):
    top = log_joint.max(axis=1, keepdims=True)
    ratio = np.exp(log_joint - top)
    return ratio / ratio.sum(axis=1, keepdims=True)


def _e_not_normalised(counts, weights, rates):
    return _joint(counts, weights, rates)


def _e_over_counts(counts, weights, rates):
    joint = _joint(counts, weights, rates)
    return joint / joint.sum(axis=0, keepdims=True)


def _without_factorial(counts, weights, rates):
    """pi_k lambda_k^y e^(-lambda_k): the joint without 1/y!, which a learner may rightly drop (it cancels in rows)."""
    y, w, r = _f(counts), _f(weights), _f(rates)
    return np.exp(np.log(w) + y[:, None] * np.log(r) - r)


def _e_not_normalised_no_factorial(counts, weights, rates):
    return _without_factorial(counts, weights, rates)


def _e_over_counts_no_factorial(counts, weights, rates):
    joint = _without_factorial(counts, weights, rates)
    return joint / joint.sum(axis=0, keepdims=True)


def _e_log(counts, weights, rates):
    lj = _poisson_log_joint(counts, weights, rates)
    return np.log(_normalise_rows(lj))


def _e_weights_forgotten(counts, weights, rates):
    K = np.size(weights)
    return reference_poisson_e_step(counts, np.full(K, 1.0 / K), rates)


def _e_plus_rate(counts, weights, rates):
    y, w, r = _f(counts), _f(weights), _f(rates)
    return _normalise_rows(np.log(w) + y[:, None] * np.log(r) + r)


def _e_no_exp_factor(counts, weights, rates):
    y, w, r = _f(counts), _f(weights), _f(rates)
    return _normalise_rows(np.log(w) + y[:, None] * np.log(r))


def _e_exponential_density(counts, weights, rates):
    y, w, r = _f(counts), _f(weights), _f(rates)
    return _normalise_rows(np.log(w) + np.log(r) - y[:, None] * r)


def _e_transposed(counts, weights, rates):
    return reference_poisson_e_step(counts, weights, rates).T


def _e_prior(counts, weights, rates):
    return np.tile(_f(weights), (np.size(counts), 1))


def _e_hard(counts, weights, rates):
    lj = _poisson_log_joint(counts, weights, rates)
    return np.eye(lj.shape[1])[np.argmax(lj, axis=1)]


_NOT_NORMALISED = Misconception(
    "poisson_joint_not_normalised",
    "It returns the joint p(u_j, z = k) = pi_k lambda_k^u_j e^(-lambda_k) / u_j! itself (or without the u_j!): the "
    "rows are not normalised. The E-step is the posterior p(z = k | u_j): divide each row by its sum over "
    "k, p(u_j), so that each row is a distribution over the K kinds of day.",
)
_OVER_COUNTS = Misconception(
    "normalised_over_counts",
    "It normalises over the counts (axis 0) instead of over the components (axis 1): each COLUMN "
    "sums to 1. r_jk is a distribution over the hidden kind of a day with count u_j, so each ROW "
    "sums to 1 (sum over k, keepdims=True).",
)

POISSON_E_STEP_MISTAKES = (
    _NOT_NORMALISED.with_answer(_e_not_normalised),
    _NOT_NORMALISED.with_answer(_e_not_normalised_no_factorial),
    _OVER_COUNTS.with_answer(_e_over_counts),
    _OVER_COUNTS.with_answer(_e_over_counts_no_factorial),
    Mistake(
        "poisson_still_in_log_space",
        "It returns log r_jk: the normalisation is right, but the answer is still in log space. "
        "Take np.exp at the end.",
        _e_log,
    ),
    Mistake(
        "poisson_mixing_weights_missing",
        "The mixing weights are missing: it normalises p(u_j | z = k), the Poisson probabilities, not the "
        "joint. The joint is pi_k times the Poisson probability: add np.log(weights) before normalising.",
        _e_weights_forgotten,
    ),
    Mistake(
        "rate_sign_flipped",
        "The sign of lambda_k is wrong: it used e^(+lambda_k). The Poisson probability is "
        "lambda^y e^(-lambda) / y!, whose log is y log(lambda) - lambda - log(y!).",
        _e_plus_rate,
    ),
    Mistake(
        "exp_minus_rate_dropped",
        "The factor e^(-lambda_k) was left out: it used pi_k lambda_k^y only. Unlike y!, e^(-lambda_k) "
        "differs between the components, so it does not cancel in the posterior: "
        "log p(y, z = k) = log pi_k + y log(lambda_k) - lambda_k - log(y!).",
        _e_no_exp_factor,
    ),
    Mistake(
        "exponential_density_for_poisson",
        "It used the exponential density lambda e^(-lambda y) (of a waiting time) in the place of the "
        "Poisson probability lambda^y e^(-lambda) / y! (of a count).",
        _e_exponential_density,
    ),
    Mistake(
        "poisson_e_step_transposed",
        "It has shape (K, m): transposed. Rows are the distinct counts j, columns the components k.",
        _e_transposed,
    ),
    Mistake(
        "poisson_prior_not_posterior",
        "Every row equals the mixing weights: that is the prior p(z = k), before the count was seen. "
        "The posterior multiplies the prior by the Poisson probability of u_j under each component, then "
        "normalises.",
        _e_prior,
    ),
)

POISSON_HARD_ASSIGNMENT = Mistake(
    "poisson_hard_assignment",
    "It is a hard assignment: every row is one-hot, 1 for the likeliest kind of day and 0 for the other. "
    "EM keeps the doubt: r_jk = p(z = k | u_j) is a probability between 0 and 1 (a day with 2 deaths "
    "could be of either kind). Normalise the joint over k instead of taking its argmax.",
    _e_hard,
)
POISSON_E_STEP_MISTAKES = _quiet(POISSON_E_STEP_MISTAKES + (POISSON_HARD_ASSIGNMENT,))

#: Named by the checks themselves, on an answer with NaN or inf where em_lib's is finite.
OVERFLOW = Misconception(
    "poisson_overflow",
    "It gives NaN or inf for large counts. For counts in the hundreds, lambda**y and y! overflow "
    "float64 (171! is already inf) and e^(-lambda) underflows to 0, so the joint becomes inf/inf, 0/0 "
    "or 0 * inf. Work in log space: log p(y, z = k) = log pi_k + y log(lambda_k) - lambda_k - log(y!) "
    "(scipy.special.gammaln(y + 1) is log y!, and it cancels anyway), subtract each row's largest entry, "
    "and only then take np.exp.",
)


def _non_finite(value):
    arr = as_real_array(value)
    return arr is not None and bool((~np.isfinite(arr)).any())


def _exactly(answer, expected):
    arr = as_real_array(answer)
    return arr is not None and arr.shape == np.shape(expected) and bool(np.all(arr == expected))


def _judge_poisson_e_step(fn, inputs, what):
    """``check``, plus two diagnoses: NaN/inf where the reference is finite (overflow), and one-hot rows."""
    box = {}

    def recording(**kwargs):
        box["answer"] = fn(**kwargs)
        return box["answer"]

    recording.__name__ = getattr(fn, "__name__", "poisson_e_step")
    try:
        return check(recording, inputs, reference_poisson_e_step, POISSON_E_STEP_MISTAKES, what=what)
    except AssertionError as exc:
        if "answer" not in box:
            if "raised OverflowError" in str(exc):   # math.factorial(800) does not fit a float
                raise OVERFLOW.named_in(f"{exc}. {OVERFLOW.explanation}") from None
            raise
        answer = box["answer"]
        if _non_finite(answer) and np.isfinite(reference_poisson_e_step(**inputs)).all():
            raise OVERFLOW.found(what) from None
        if _exactly(answer, _e_hard(**inputs)) and not close(answer, reference_poisson_e_step(**inputs)):
            raise POISSON_HARD_ASSIGNMENT.found(what) from None
        raise exc from None


def _poisson_e_inputs(counts, weights, rates):
    return dict(counts=np.array(counts), weights=np.array(weights, dtype=float), rates=np.array(rates, dtype=float))


def _poisson_e_what(counts, weights, rates):
    return f"poisson_e_step(counts, weights={_list(weights)}, rates={_list(rates)})"


def _list(a):
    return [float(f"{v:.6g}") for v in np.asarray(a, dtype=float).ravel()]


@graded
def check_poisson_e_step(fn, counts, weights, rates):
    """One graded check of ``poisson_e_step`` against :func:`em_lib.poisson.poisson_e_step`, naming a mistake."""
    inputs = _poisson_e_inputs(counts, weights, rates)
    return _judge_poisson_e_step(fn, inputs, _poisson_e_what(counts, weights, rates))


def _rows_are_distributions(fn, inputs, what):
    """Shape (m, K), finite, >= 0, rows summing to 1: what any posterior over K components must be."""
    got = call_learner(fn, {name: _copy(value) for name, value in inputs.items()}, what)
    m, K = np.size(inputs["counts"]), np.size(inputs["weights"])
    arr = as_real_array(got)
    if arr is None:
        raise AssertionError(f"{what} should return a NumPy array of shape (m, K) = ({m}, {K}), got {kind_of(got)}")
    if arr.shape != (m, K):
        hint = " (transposed: rows are the distinct counts j, columns the components k)" if arr.shape == (K, m) else ""
        raise AssertionError(f"{what} should have shape (m, K) = ({m}, {K}), got {arr.shape}{hint}")
    if not np.isfinite(arr).all():
        raise OVERFLOW.found(what)
    if (arr < 0).any():
        raise AssertionError(f"{what} has negative entries, but probabilities are >= 0")
    with np.errstate(all="ignore"):        # huge entries overflow the sums: a wrong answer, said below
        sums, column_sums = arr.sum(axis=1), arr.sum(axis=0)
    if not np.allclose(sums, 1.0, rtol=0, atol=1e-9):
        if np.allclose(column_sums, 1.0, rtol=0, atol=1e-9):
            raise _OVER_COUNTS.found(what)
        j = int(np.argmax(np.abs(sums - 1.0)))
        raise AssertionError(
            f"row {j} of the result of {what} sums to {sums[j]:.6g}, not 1: each row is p(z = k | u_j), a "
            "distribution over the K components, so divide each row by its sum over k."
        )


@graded
def check_poisson_e_step_rows(fn, counts, weights, rates):
    """One graded check of the form alone: an (m, K) array of probabilities whose rows sum to 1."""
    inputs = _poisson_e_inputs(counts, weights, rates)
    what = _poisson_e_what(counts, weights, rates)
    _rows_are_distributions(fn, inputs, what)
    return f"{what}: an (m, K) array whose rows sum to 1"


#: Visible inputs of the poisson_e_step self-check.
POISSON_E_STEP_INPUTS = {
    "hasselblad": dict(counts=_datasets.hasselblad_deaths()[0], weights=POISSON_START[0], rates=POISSON_START[1]),
    "three components": dict(counts=np.array([0, 2, 5, 9, 14]), weights=np.array([0.2, 0.5, 0.3]),
                             rates=np.array([0.5, 4.0, 11.0])),
    # lambda**y overflows float64 for these counts and rates; e^(-900) underflows to 0
    "large counts": dict(counts=np.array([0, 350, 500, 800, 1000]), weights=np.array([0.6, 0.4]),
                         rates=np.array([400.0, 900.0])),
}


def self_check_poisson_e_step(fn):
    """The visible self-check of Exercise 7.4: one line per check, naming the mistake."""
    def against(key):
        inputs = POISSON_E_STEP_INPUTS[key]
        return lambda: _judge_poisson_e_step(fn, inputs, _poisson_e_what(**inputs))

    run_self_check([
        ("returns an (m, K) array whose rows sum to 1",
         lambda: _rows_are_distributions(fn, POISSON_E_STEP_INPUTS["hasselblad"], "poisson_e_step(...)")),
        ("matches em_lib on Hasselblad's table from weights (0.3, 0.7), rates (1.0, 2.5)", against("hasselblad")),
        ("works for K = 3 components", against("three components")),
        ("stays finite for counts in the hundreds (rates 400 and 900)", against("large counts")),
    ])


# ==========================================================================
# Part A: poisson_m_step
# ==========================================================================


def _expected_days(counts, frequencies, resp):
    return _f(frequencies) @ _f(resp)


def _weighted_total(counts, frequencies, resp):
    return (_f(frequencies) * _f(counts)) @ _f(resp)


POISSON_WEIGHTS_MISTAKES = (
    Mistake(
        "frequencies_forgotten_in_weights",
        "The frequencies were forgotten: every distinct count was counted once, as if each had been seen "
        "on one day (this is the mean of the rows of resp). Count j was seen on f_j days, so kind k has "
        "N_k = sum_j f_j r_jk expected days, and pi_k = N_k / n with n = sum_j f_j.",
        lambda counts, frequencies, resp: _f(resp).mean(axis=0),
    ),
    Mistake(
        "expected_days_not_weights",
        "These are the expected numbers of days N_k = sum_j f_j r_jk, not yet the weights: divide by the "
        "number of days n = sum_j f_j, so that the weights sum to 1.",
        _expected_days,
    ),
    Mistake(
        "divided_by_distinct_counts",
        "N_k was divided by m, the number of distinct counts (rows of the table), instead of n = sum_j f_j, "
        "the number of days: the weights do not sum to 1.",
        lambda counts, frequencies, resp: _expected_days(counts, frequencies, resp) / np.size(counts),
    ),
    Mistake(
        "poisson_weights_left_equal",
        "The weights were left equal (1/K). The M-step updates them: pi_k = N_k / n, derived with a "
        "Lagrange multiplier for sum_k pi_k = 1.",
        lambda counts, frequencies, resp: np.full(np.shape(resp)[1], 1.0 / np.shape(resp)[1]),
    ),
    Mistake(
        "poisson_resp_summed_over_wrong_axis",
        "resp was summed over the wrong axis: the result has one entry per COUNT (shape (m,)) instead of "
        "one per component (shape (K,)). N_k sums over the counts j: frequencies @ resp.",
        lambda counts, frequencies, resp: (_f(frequencies)[:, None] * _f(resp)).sum(axis=1) / _f(frequencies).sum(),
    ),
)

POISSON_RATES_MISTAKES = (
    Mistake(
        "frequencies_forgotten_in_rates",
        "The frequencies were forgotten: each distinct count was counted once. Count j stands for f_j days, "
        "so it enters both sums f_j times: lambda_k = sum_j f_j r_jk u_j / sum_j f_j r_jk.",
        lambda counts, frequencies, resp: _f(resp).T @ _f(counts) / _f(resp).sum(axis=0),
    ),
    Mistake(
        "frequencies_in_numerator_only",
        "The frequencies are in the numerator but not in the denominator: sum_j f_j r_jk u_j was divided "
        "by sum_j r_jk. Each count stands for f_j days in both: divide by N_k = sum_j f_j r_jk, the "
        "expected number of days of kind k.",
        lambda counts, frequencies, resp: _weighted_total(counts, frequencies, resp) / _f(resp).sum(axis=0),
    ),
    Mistake(
        "frequencies_in_denominator_only",
        "The frequencies are in the denominator but not in the numerator: sum_j r_jk u_j was divided by "
        "N_k = sum_j f_j r_jk. Each count stands for f_j days in both sums.",
        lambda counts, frequencies, resp: _f(resp).T @ _f(counts) / _expected_days(counts, frequencies, resp),
    ),
    Mistake(
        "rate_divided_by_all_days",
        "The expected total count of kind k was divided by n, all the days, instead of N_k = sum_j f_j r_jk, "
        "the expected days of kind k. A rate is the MEAN count of the days of kind k.",
        lambda counts, frequencies, resp: _weighted_total(counts, frequencies, resp) / _f(frequencies).sum(),
    ),
    Mistake(
        "rate_sums_not_divided",
        "These are the sums sum_j f_j r_jk u_j, not yet divided by N_k = sum_j f_j r_jk.",
        _weighted_total,
    ),
    Mistake(
        "rates_ignore_responsibilities",
        "Every component got the mean count of all the days: the responsibilities were not used. "
        "lambda_k is a weighted mean, each day counted for kind k with weight r_jk.",
        lambda counts, frequencies, resp: np.full(np.shape(resp)[1],
                                                  _f(frequencies) @ _f(counts) / _f(frequencies).sum()),
    ),
    Mistake(
        "rate_as_inverse_mean",
        "This is 1 / (mean count): the rate of an exponential waiting time is 1 / mean, but a Poisson's "
        "rate lambda IS its mean. Setting d/d lambda_k of sum_j f_j r_jk (u_j log lambda_k - lambda_k) to 0 "
        "gives lambda_k = sum_j f_j r_jk u_j / N_k.",
        lambda counts, frequencies, resp: (_expected_days(counts, frequencies, resp)
                                           / _weighted_total(counts, frequencies, resp)),
    ),
)

POISSON_WEIGHTS_MISTAKES, POISSON_RATES_MISTAKES = _quiet(POISSON_WEIGHTS_MISTAKES), _quiet(POISSON_RATES_MISTAKES)
_POISSON_M_ITEMS = (("weights", POISSON_WEIGHTS_MISTAKES), ("rates", POISSON_RATES_MISTAKES))


def _learner_pair(fn, inputs, what, names):
    """Call the learner's function once (on copies of the inputs) and insist on a tuple (or list) of the two
    items ``names``."""
    return learner_tuple(fn, {name: _copy(value) for name, value in inputs.items()}, what, names)


@graded
def check_poisson_m_step(fn, counts, frequencies, resp, parts=("weights", "rates")):
    """One graded check of ``poisson_m_step`` against :func:`em_lib.poisson.poisson_m_step`.

    ``parts`` names the arrays to check (both by default), so that the weights and the rates earn
    points of their own; the message names which one is wrong and the likely mistake.
    """
    inputs = dict(counts=np.array(counts), frequencies=np.array(frequencies), resp=np.array(resp, dtype=float))
    what = "poisson_m_step(...)"
    got = _learner_pair(fn, inputs, what, ("weights", "rates"))
    expected = reference_poisson_m_step(**inputs)
    for j, (name, mistakes) in enumerate(_POISSON_M_ITEMS):
        if name in parts:
            check(lambda j=j, **kw: got[j], inputs, lambda j=j, **kw: expected[j], mistakes,
                  what=f"the {name} array returned by poisson_m_step(...)")
    return parts_verdict("poisson_m_step(...)", parts, ("weights", "rates"))


def _hasselblad_resp():
    counts, _ = _datasets.hasselblad_deaths()
    return reference_poisson_e_step(counts, *POISSON_START)


#: Visible inputs of the poisson_m_step self-check.
POISSON_M_STEP_INPUTS = {
    "hasselblad": dict(counts=_datasets.hasselblad_deaths()[0], frequencies=_datasets.hasselblad_deaths()[1],
                       resp=_hasselblad_resp()),
    "three components": dict(counts=np.array([0, 2, 5, 9, 14]), frequencies=np.array([40, 25, 12, 30, 6]),
                             resp=reference_poisson_e_step([0, 2, 5, 9, 14], [0.2, 0.5, 0.3], [0.5, 4.0, 11.0])),
    "one-hot": dict(counts=np.array([0, 1, 2, 6, 7, 8]), frequencies=np.array([10, 20, 10, 5, 3, 2]),
                    resp=np.eye(2)[[0, 0, 0, 1, 1, 1]]),
}


def _weights_sum_to_one(fn):
    inputs = POISSON_M_STEP_INPUTS["hasselblad"]
    weights, _ = _learner_pair(fn, inputs, "poisson_m_step(...)", ("weights", "rates"))
    weights_sum_to_one(weights, inputs["resp"].shape[1],
                       "pi_k = N_k / n with N_k = sum_j f_j r_jk and n = sum_j f_j (the N_k add up to n because "
                       "each row of resp sums to 1).", kind="a NumPy array of numbers")


def self_check_poisson_m_step(fn):
    """The visible self-check of Exercise 7.5: one line per check, naming the wrong array and why."""
    run_self_check([
        ("returns (weights, rates), weights of shape (K,) summing to 1", lambda: _weights_sum_to_one(fn)),
        ("matches em_lib on Hasselblad's table (responsibilities at the start)",
         lambda: check_poisson_m_step.verdict(fn, **POISSON_M_STEP_INPUTS["hasselblad"])),
        ("works for K = 3 components",
         lambda: check_poisson_m_step.verdict(fn, **POISSON_M_STEP_INPUTS["three components"])),
        ("one-hot responsibilities give each group's share of the days and mean count",
         lambda: check_poisson_m_step.verdict(fn, **POISSON_M_STEP_INPUTS["one-hot"])),
    ])


# ==========================================================================
# Part B: gaussian_missing_e_step
# ==========================================================================


def _patterns(X):
    missing = np.isnan(X)
    patterns, which = np.unique(missing, axis=0, return_inverse=True)
    return [(patterns[p], np.flatnonzero(which.ravel() == p)) for p in range(patterns.shape[0])]


def _fill(X, mean, cov, rule):
    """expected_x with the missing entries filled by ``rule(mean, cov, missing, seen_values) -> (rows, |m|)``."""
    X, mean, cov = _f(X), _f(mean), _f(cov)
    out = X.copy()
    for missing, rows in _patterns(X):
        if missing.any():
            out[np.ix_(rows, missing)] = rule(mean, cov, missing, X[np.ix_(rows, ~missing)])
    return out


def _blocks(mean, cov, missing):
    m, o = missing, ~missing
    return cov[np.ix_(m, m)], cov[np.ix_(m, o)], cov[np.ix_(o, o)], mean[m], mean[o]


def _rule_mean(mean, cov, missing, seen):
    return np.broadcast_to(mean[missing], (seen.shape[0], int(missing.sum())))


def _rule_zero(mean, cov, missing, seen):
    return np.zeros((seen.shape[0], int(missing.sum())))


def _rule_reversed(mean, cov, missing, seen):
    cov_mm, cov_mo, _, mu_m, mu_o = _blocks(mean, cov, missing)
    return mu_m + (seen - mu_o) @ np.linalg.solve(cov_mm, cov_mo).T


def _rule_sign(mean, cov, missing, seen):
    regression, _ = _conditional(mean, cov, missing)
    _, _, _, mu_m, mu_o = _blocks(mean, cov, missing)
    return mu_m - (seen - mu_o) @ regression.T


def _rule_uncentred(mean, cov, missing, seen):
    regression, _ = _conditional(mean, cov, missing)
    return mean[missing] + seen @ regression.T


def _rule_no_inverse(mean, cov, missing, seen):
    _, cov_mo, _, mu_m, mu_o = _blocks(mean, cov, missing)
    return mu_m + (seen - mu_o) @ cov_mo.T


EXPECTED_X_MISTAKES = (
    Mistake(
        "mean_imputation",
        "The missing entries were filled with the mean mu_m (mean imputation), whatever the row's seen "
        "entries say. Given x_o, the missing part is N(mu_m + S_mo S_oo^-1 (x_o - mu_o), ...): a long "
        "eruption predicts a long wait, through the covariance.",
        lambda X, mean, cov: _fill(X, mean, cov, _rule_mean),
    ),
    Mistake(
        "zero_imputation",
        "The missing entries were filled with 0 (as np.nan_to_num does). E-step: replace each by its "
        "conditional mean mu_m + S_mo S_oo^-1 (x_o - mu_o).",
        lambda X, mean, cov: _fill(X, mean, cov, _rule_zero),
    ),
    Mistake(
        "regression_reversed",
        "The regression runs the wrong way: it used S_mm^-1 S_mo (x_o - mu_o). To predict the missing "
        "part from the seen part, divide by the covariance of what is SEEN: S_mo S_oo^-1 (x_o - mu_o).",
        lambda X, mean, cov: _fill(X, mean, cov, _rule_reversed),
    ),
    Mistake(
        "correction_sign_flipped",
        "The sign of the correction is wrong: mu_m - S_mo S_oo^-1 (x_o - mu_o). A positive covariance "
        "means a seen value above its mean predicts a missing value above ITS mean: mu_m + ... .",
        lambda X, mean, cov: _fill(X, mean, cov, _rule_sign),
    ),
    Mistake(
        "seen_values_not_centred",
        "The seen values were not centred: it used mu_m + S_mo S_oo^-1 x_o. The prediction moves with "
        "how far x_o is from its mean: mu_m + S_mo S_oo^-1 (x_o - mu_o).",
        lambda X, mean, cov: _fill(X, mean, cov, _rule_uncentred),
    ),
    Mistake(
        "inverse_covariance_missing",
        "S_oo^-1 is missing: it used mu_m + S_mo (x_o - mu_o). The regression coefficient is the "
        "covariance divided by the variance of the seen part: S_mo S_oo^-1 (a solve, not a product alone).",
        lambda X, mean, cov: _fill(X, mean, cov, _rule_no_inverse),
    ),
)

EXPECTED_X_MISTAKES = _quiet(EXPECTED_X_MISTAKES)

#: Named by the checks themselves (NaN matches nothing).
STILL_NAN = Misconception(
    "missing_entries_left_nan",
    "expected_x still holds NaN where entries are missing. The E-step replaces each missing entry by "
    "its conditional mean given the seen ones, mu_m + S_mo S_oo^-1 (x_o - mu_o), so expected_x has no NaN.",
)


def _outer(a):
    a = _f(a)
    return a[:, :, None] * a[:, None, :]


def _corrections(X, mean, cov, marginal=False):
    """(n, d, d): the conditional covariance C_i (or the marginal S_mm) in each row's missing block."""
    X, mean, cov = _f(X), _f(mean), _f(cov)
    out = np.zeros((X.shape[0], X.shape[1], X.shape[1]))
    for missing, rows in _patterns(X):
        if missing.any():
            block = cov[np.ix_(missing, missing)] if marginal else _conditional(mean, cov, missing)[1]
            out[np.ix_(rows, missing, missing)] = block
    return out


#: The second-moment mistakes, built on ``centre``: the expected_x they are taken around (the learner's own,
#: or em_lib's); :func:`_around` puts it in.
EXPECTED_XX_MISTAKES = _quiet((
    Mistake(
        "conditional_covariance_missing",
        "The conditional covariance is missing: this is E[x_i] E[x_i]^T, the outer product of the "
        "completed row, as if the filled-in values were known exactly. But E[x_m x_m^T | x_o] = "
        "E[x_m] E[x_m]^T + Cov(x_m | x_o): add C_i = S_mm - S_mo S_oo^-1 S_om in the missing block. "
        "Without it, the M-step's covariance comes out too small (the classic under-estimate of "
        "filling in and forgetting the uncertainty).",
        lambda X, mean, cov, centre: _outer(centre),
    ),
    Mistake(
        "marginal_covariance_added",
        "It added the MARGINAL covariance S_mm in the missing block instead of the CONDITIONAL one, "
        "C_i = S_mm - S_mo S_oo^-1 S_om. Once x_o is seen, x_m is less uncertain than S_mm says.",
        lambda X, mean, cov, centre: _outer(centre) + _corrections(X, mean, cov, marginal=True),
    ),
    Mistake(
        "conditional_covariance_subtracted",
        "The conditional covariance was subtracted instead of added: E[x x^T] = E[x] E[x]^T + Cov(x), "
        "and a covariance only adds (Var(x) = E[x^2] - E[x]^2 >= 0).",
        lambda X, mean, cov, centre: _outer(centre) - _corrections(X, mean, cov),
    ),
    Mistake(
        "only_conditional_covariance",
        "This is only the conditional covariance C_i (0 for complete rows): the second moment is "
        "E[x_i] E[x_i]^T + C_i, the outer product of the completed row plus C_i in its missing block.",
        lambda X, mean, cov, centre: _corrections(X, mean, cov),
    ),
))


def _around(mistakes, centre):
    """``mistakes`` (whose answers take a ``centre``) with ``centre`` put in."""
    return tuple(m.with_answer(functools.partial(m.answer, centre=centre)) for m in mistakes)


def _missing_inputs(X, mean, cov):
    return dict(X=np.array(X, dtype=float), mean=np.array(mean, dtype=float), cov=np.array(cov, dtype=float))


def _missing_what(X):
    X = np.asarray(X, dtype=float)
    return f"gaussian_missing_e_step(X of shape {X.shape} with {int(np.isnan(X).sum())} missing, ...)"


def _judged_around_own(answer, inputs, expected, own, around_own, mistakes, what, first):
    """The second item of the learner's pair, ``answer``, judged with ``mistakes`` (taken around a centre,
    see :func:`_around`) around the first item: em_lib's, ``expected = (centre, item)``, when the learner's own
    first item ``own`` is right or unusable (None) or ``answer`` is right anyway; else around ``own``,
    against ``around_own(own)``, so that a mistake in the first item (named ``first``) is charged once."""
    centre, item = expected
    if own is None or close(own, centre) or close(answer, item):
        check(lambda **kw: answer, inputs, lambda **kw: item, _around(mistakes, centre), what=what)
        return
    with np.errstate(all="ignore"):                # a first item far out: its square overflows, a wrong answer
        target = around_own(own)
    check(lambda **kw: answer, inputs, lambda **kw: target, _around(mistakes, own),
          what=f"{what} (around the {first} it returned)")


def _check_expected_xx(got, expected, inputs, what):
    """The second moment, judged around the learner's own expected_x when that one is wrong."""
    X = inputs["X"]
    n, d = X.shape
    own = finite_array(got[0], (n, d))
    arr = as_real_array(got[1])
    if arr is not None and arr.shape == (n, d):
        raise AssertionError(
            f"{what}: expected_xx should have shape (n, d, d) = ({n}, {d}, {d}), one (d, d) matrix "
            f"E[x_i x_i^T] per row, got (n, d) = {arr.shape}: x_i * x_i is elementwise; the outer product is "
            "expected_x[:, :, None] * expected_x[:, None, :]."
        )
    mean, cov = inputs["mean"], inputs["cov"]
    _judged_around_own(got[1], inputs, expected, own, lambda own: _outer(own) + _corrections(X, mean, cov),
                       EXPECTED_XX_MISTAKES, f"expected_xx of {what}", "expected_x")


@graded
def check_gaussian_missing_e_step(fn, X, mean, cov, parts=("expected_x", "expected_xx")):
    """One graded check of ``gaussian_missing_e_step`` against :func:`em_lib.missing.gaussian_missing_e_step`.

    ``parts`` names what to check: ``expected_x`` (the conditional means), ``expected_xx`` (the
    second moments, judged around the learner's own ``expected_x``), or both.
    """
    inputs = _missing_inputs(X, mean, cov)
    what = _missing_what(X)
    got = _learner_pair(fn, inputs, what, ("expected_x", "expected_xx"))
    expected = reference_missing_e_step(**inputs)
    if "expected_x" in parts:
        arr = as_real_array(got[0])
        if arr is not None and arr.shape == expected[0].shape and np.isnan(arr).any():
            raise STILL_NAN.found(what)
        check(lambda **kw: got[0], inputs, lambda **kw: expected[0], EXPECTED_X_MISTAKES,
              what=f"expected_x of {what}")
    if "expected_xx" in parts:
        _check_expected_xx(got, expected, inputs, what)
    return parts_verdict(what, parts, ("expected_x", "expected_xx"))


def _seen_entries_kept(fn, inputs, what):
    """Shapes (n, d) and (n, d, d); seen entries unchanged, no NaN left; complete rows give (x, x x^T)."""
    X = inputs["X"]
    n, d = X.shape
    got = _learner_pair(fn, inputs, what, ("expected_x", "expected_xx"))
    ex, exx = as_real_array(got[0]), as_real_array(got[1])
    if ex is None or ex.shape != (n, d):
        raise AssertionError(f"{what}: expected_x should be an array of shape (n, d) = ({n}, {d}), got "
                             + (f"shape {ex.shape}" if ex is not None else kind_of(got[0])))
    if exx is None or exx.shape != (n, d, d):
        hint = (": one (d, d) matrix E[x_i x_i^T] per row, the outer product, not x_i * x_i"
                if exx is not None and exx.shape == (n, d) else "")
        raise AssertionError(f"{what}: expected_xx should be an array of shape (n, d, d) = ({n}, {d}, {d}), got "
                             + (f"shape {exx.shape}" if exx is not None else kind_of(got[1])) + hint)
    seen = ~np.isnan(X)
    if np.isnan(ex).any():
        raise STILL_NAN.found(what)
    if not np.allclose(ex[seen], X[seen], rtol=1e-12, atol=0.0):
        i, j = (int(v) for v in np.argwhere(seen & ~np.isclose(ex, np.nan_to_num(X), rtol=1e-12, atol=0.0))[0])
        raise AssertionError(
            f"{what}: expected_x[{i}, {j}] = {ex[i, j]:.6g}, but that entry was seen, X[{i}, {j}] = {X[i, j]:.6g}. "
            "A seen entry is known: its conditional mean is itself. Only the missing entries are filled in."
        )
    complete = seen.all(axis=1)
    want = _outer(X[complete])
    if not np.allclose(exx[complete], want, rtol=1e-9, atol=1e-12):
        worst = np.abs(exx[complete] - want).reshape(complete.sum(), -1).max(axis=1)
        i = int(np.flatnonzero(complete)[np.argmax(worst)])
        raise AssertionError(
            f"{what}: row {i} has no missing entry, so E[x_i x_i^T] is x_i x_i^T itself (nothing uncertain, "
            f"nothing to add), but expected_xx[{i}] differs from np.outer(X[{i}], X[{i}])."
        )


@graded
def check_gaussian_missing_e_step_seen(fn, X, mean, cov):
    """One graded check of what needs no conditioning: shapes, seen entries kept, complete rows (x, x x^T)."""
    inputs = _missing_inputs(X, mean, cov)
    what = _missing_what(X)
    _seen_entries_kept(fn, inputs, what)
    return f"{what}: seen entries kept, complete rows give (x_i, x_i x_i^T)"


def old_faithful_start(X):
    """The start of EM used in notebook 07: the means of the seen values, and a diagonal covariance of
    their variances (no correlation)."""
    X = np.asarray(X, dtype=float)
    return np.nanmean(X, axis=0), np.diag(np.nanvar(X, axis=0))


def _faithful_rows():
    """Twelve rows of Old Faithful with holes: eight with a missing entry, four complete."""
    X = _datasets.old_faithful_missing()
    holes = np.flatnonzero(np.isnan(X).any(axis=1))[:8]
    full = np.flatnonzero(~np.isnan(X).any(axis=1))[:4]
    return X[np.sort(np.concatenate([holes, full]))]


_X3 = np.array([
    [1.0, np.nan, 3.0],
    [np.nan, np.nan, 0.5],
    [np.nan, np.nan, np.nan],
    [2.0, -1.0, 1.5],
    [0.0, 2.5, np.nan],
])
_MEAN3 = np.array([1.0, 0.5, 2.0])
_COV3 = np.array([[2.0, 0.6, -0.4], [0.6, 1.5, 0.3], [-0.4, 0.3, 1.0]])

#: Visible inputs of the gaussian_missing_e_step self-check.
MISSING_E_STEP_INPUTS = {
    "old faithful": dict(X=_faithful_rows(), mean=old_faithful_start(_datasets.old_faithful_missing())[0],
                         cov=np.array([[1.2, 13.0], [13.0, 180.0]])),
    "three dimensions": dict(X=_X3, mean=_MEAN3, cov=_COV3),
}


def self_check_gaussian_missing_e_step(fn):
    """The visible self-check of Exercise 7.8: one line per check, naming the mistake."""
    faithful, three = MISSING_E_STEP_INPUTS["old faithful"], MISSING_E_STEP_INPUTS["three dimensions"]
    run_self_check([
        ("shapes (n, d) and (n, d, d); seen entries kept; complete rows give (x_i, x_i x_i^T)",
         lambda: _seen_entries_kept(fn, faithful, _missing_what(faithful["X"]))),
        ("expected_x: the conditional means on twelve Old Faithful rows",
         lambda: check_gaussian_missing_e_step.verdict(fn, **faithful, parts=("expected_x",))),
        ("expected_xx: the second moments on the same rows",
         lambda: check_gaussian_missing_e_step.verdict(fn, **faithful, parts=("expected_xx",))),
        ("d = 3, rows missing one, two or all of their entries",
         lambda: check_gaussian_missing_e_step.verdict(fn, **three)),
    ])


# ==========================================================================
# Part B: gaussian_missing_m_step
# ==========================================================================


def _second_moment(expected_x, expected_xx):
    return _f(expected_xx).mean(axis=0)


MISSING_MEAN_MISTAKES = _quiet((
    Mistake(
        "mean_sum_not_divided",
        "This is the sum of the rows, not yet divided by n: mu = (1/n) sum_i E[x_i].",
        lambda expected_x, expected_xx: _f(expected_x).sum(axis=0),
    ),
    Mistake(
        "mean_over_wrong_axis",
        "It averaged over the wrong axis: one number per ROW (shape (n,)) instead of one per coordinate "
        "(shape (d,)). mu = expected_x.mean(axis=0).",
        lambda expected_x, expected_xx: _f(expected_x).mean(axis=1),
    ),
    Mistake(
        "mean_divided_by_n_minus_1",
        "The sum was divided by n - 1. Setting the derivative of the expected complete-data log-likelihood "
        "to 0 gives mu = (1/n) sum_i E[x_i].",
        lambda expected_x, expected_xx: _f(expected_x).sum(axis=0) / (np.shape(expected_x)[0] - 1),
    ),
))


def _centred_filled(expected_x, centre):
    """The covariance of the completed rows alone, around ``centre``, divisor n."""
    c = _f(expected_x) - centre
    return c.T @ c / np.shape(expected_x)[0]


def _n_over_n_minus_1(expected_x):
    n = np.shape(expected_x)[0]
    return n / (n - 1)


#: The covariance mistakes around ``centre``: the mean they are taken around (the learner's own, or em_lib's);
#: :func:`_around` puts it in.
COV_MISTAKES = _quiet((
    Mistake(
        "covariance_of_filled_rows",
        "It is the covariance of the completed rows expected_x alone: expected_xx was not used. The "
        "filled-in values are predictions, less spread than the values they stand for; the M-step "
        "needs the expected second moments, Sigma = (1/n) sum_i E[x_i x_i^T] - mu mu^T, whose "
        "conditional covariances put that spread back. Without them the covariance is too small.",
        lambda expected_x, expected_xx, centre: _centred_filled(expected_x, centre),
    ),
    Mistake(
        "np_cov_of_filled_rows",
        "It is the covariance of the completed rows with divisor n - 1 (np.cov's default), and "
        "expected_xx was not used: Sigma = (1/n) sum_i E[x_i x_i^T] - mu mu^T.",
        lambda expected_x, expected_xx, centre: _centred_filled(expected_x, centre) * _n_over_n_minus_1(expected_x),
    ),
    Mistake(
        "second_moment_not_centred",
        "This is the second moment (1/n) sum_i E[x_i x_i^T], not yet centred: subtract mu mu^T.",
        lambda expected_x, expected_xx, centre: _second_moment(expected_x, expected_xx),
    ),
    Mistake(
        "mean_squared_not_outer",
        "mu mu^T is the OUTER product np.outer(mu, mu), a (d, d) matrix; mu**2 (or mu * mu) subtracts "
        "mu_k^2 from every entry of column k.",
        lambda expected_x, expected_xx, centre: _second_moment(expected_x, expected_xx) - centre**2,
    ),
    Mistake(
        "covariance_divided_by_n_minus_1",
        "The divisor is n - 1 (a 'sample covariance' correction). The maximiser of the expected "
        "complete-data log-likelihood divides by n: Sigma = (1/n) sum_i E[x_i x_i^T] - mu mu^T.",
        lambda expected_x, expected_xx, centre: (_second_moment(expected_x, expected_xx) - np.outer(centre, centre))
        * _n_over_n_minus_1(expected_x),
    ),
    Mistake(
        "covariance_sums_not_divided",
        "The sums were not divided by n: Sigma = (1/n) sum_i E[x_i x_i^T] - mu mu^T.",
        lambda expected_x, expected_xx, centre: (_f(expected_xx).sum(axis=0)
                                                 - np.shape(expected_x)[0] * np.outer(centre, centre)),
    ),
    Mistake(
        "off_diagonal_dropped",
        "Only the variances are there: the off-diagonal covariances were set to 0. The M-step "
        "estimates the full matrix, and the covariance is what lets the seen value of a row predict "
        "its missing one.",
        lambda expected_x, expected_xx, centre: np.diag(np.diag(_second_moment(expected_x, expected_xx)
                                                                - np.outer(centre, centre))),
    ),
    Mistake(
        "only_average_conditional_covariance",
        "This is only the average conditional covariance, (1/n) sum_i (E[x_i x_i^T] - E[x_i] E[x_i]^T): "
        "the spread of the completed rows around mu is missing. Sigma = (1/n) sum_i E[x_i x_i^T] - mu mu^T.",
        lambda expected_x, expected_xx, centre: (_f(expected_xx) - _outer(expected_x)).mean(axis=0),
    ),
))


@graded
def check_gaussian_missing_m_step(fn, expected_x, expected_xx, parts=("mean", "cov")):
    """One graded check of ``gaussian_missing_m_step`` against :func:`em_lib.missing.gaussian_missing_m_step`.

    ``parts`` names what to check; the covariance is judged around the learner's own mean, so a
    mistake in the mean is charged in the mean's cell only.
    """
    inputs = dict(expected_x=np.array(expected_x, dtype=float), expected_xx=np.array(expected_xx, dtype=float))
    what = "gaussian_missing_m_step(...)"
    got = _learner_pair(fn, inputs, what, ("mean", "cov"))
    expected = reference_missing_m_step(**inputs)
    if "mean" in parts:
        check(lambda **kw: got[0], inputs, lambda **kw: expected[0], MISSING_MEAN_MISTAKES,
              what=f"the mean array returned by {what}")
    if "cov" in parts:
        own = finite_array(got[0], (inputs["expected_x"].shape[1],))
        _judged_around_own(got[1], inputs, expected, own, lambda own: _second_moment(**inputs) - np.outer(own, own),
                           COV_MISTAKES, f"the cov matrix returned by {what}", "mean")
    return parts_verdict(what, parts, ("mean", "cov"))


def _statistics_of(X, mean, cov):
    return reference_missing_e_step(X, mean, cov)


#: Visible inputs of the gaussian_missing_m_step self-check: (expected_x, expected_xx).
_COMPLETE = _datasets.old_faithful()[:15]
MISSING_M_STEP_INPUTS = {
    "complete": dict(expected_x=_COMPLETE, expected_xx=_outer(_COMPLETE)),
    "old faithful": dict(zip(("expected_x", "expected_xx"), _statistics_of(**MISSING_E_STEP_INPUTS["old faithful"]))),
    "three dimensions": dict(zip(("expected_x", "expected_xx"),
                                 _statistics_of(**MISSING_E_STEP_INPUTS["three dimensions"]))),
}


def _returns_mean_and_symmetric_cov(fn):
    inputs = MISSING_M_STEP_INPUTS["old faithful"]
    what = "gaussian_missing_m_step(...)"
    mean, cov = _learner_pair(fn, inputs, what, ("mean", "cov"))
    d = inputs["expected_x"].shape[1]
    m, c = as_real_array(mean), as_real_array(cov)
    if m is None or m.shape != (d,):
        raise AssertionError(f"the mean should be an array of shape (d,) = ({d},), got "
                             + (f"shape {m.shape}" if m is not None else kind_of(mean)))
    if c is None or c.shape != (d, d):
        raise AssertionError(f"cov should be an array of shape (d, d) = ({d}, {d}), got "
                             + (f"shape {c.shape}" if c is not None else kind_of(cov)))
    if not np.allclose(c, c.T, rtol=1e-9, atol=1e-12):
        raise AssertionError("cov is not symmetric: a covariance has cov[j, k] == cov[k, j]")


def self_check_gaussian_missing_m_step(fn):
    """The visible self-check of Exercise 7.9: one line per check, naming the mistake."""
    run_self_check([
        ("returns (mean, cov) of shapes (d,) and (d, d), cov symmetric", lambda: _returns_mean_and_symmetric_cov(fn)),
        ("complete rows (expected_xx = x x^T): the sample mean and the covariance with divisor n",
         lambda: check_gaussian_missing_m_step.verdict(fn, **MISSING_M_STEP_INPUTS["complete"])),
        ("matches em_lib on the E-step's statistics of twelve Old Faithful rows",
         lambda: check_gaussian_missing_m_step.verdict(fn, **MISSING_M_STEP_INPUTS["old faithful"])),
        ("works for d = 3",
         lambda: check_gaussian_missing_m_step.verdict(fn, **MISSING_M_STEP_INPUTS["three dimensions"])),
    ])
