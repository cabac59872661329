"""Tests of em_lib.poisson: the Poisson mixture on a frequency table of notebook 07, Part A.

The published numbers are the R package SQUAREM's record of the maximum-likelihood fit of
Hasselblad's (1969) table (tests/Hasselblad1969.R: 0.6401146029910, 2.6634043566619,
1.2560951012662, checked there to 1e-5), written here by hand. The other expectations come
from SciPy (scipy.stats.poisson, scipy.optimize) or from the definitions written out.
"""

import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy import optimize, stats

import em_lib
from em_lib import poisson
from em_lib.datasets import hasselblad_deaths

COUNTS, DAYS = hasselblad_deaths()
START = (np.array([0.3, 0.7]), np.array([1.0, 2.5]))


def _loglik_written_out(counts, frequencies, weights, rates):
    """sum_j f_j log sum_k pi_k Poisson(u_j; lambda_k), with SciPy's Poisson probabilities."""
    pmf = stats.poisson.pmf(np.asarray(counts)[:, None], np.asarray(rates)[None, :])
    return float(np.asarray(frequencies) @ np.log(pmf @ np.asarray(weights)))


# ---------------------------------------------------------------------------
# Hasselblad's table: the published fit
# ---------------------------------------------------------------------------


def test_em_reproduces_the_published_fit_of_hasselblads_table():
    weights, rates, _ = poisson.fit_poisson_mixture(COUNTS, DAYS, *START, n_iter=3000)
    np.testing.assert_allclose(weights, [1 - 0.6401146029910, 0.6401146029910], atol=1e-5)
    np.testing.assert_allclose(rates, [1.2560951012662, 2.6634043566619], atol=1e-5)
    # to the four decimals usually quoted
    assert np.round(weights, 4).tolist() == [0.3599, 0.6401]
    assert np.round(rates, 4).tolist() == [1.2561, 2.6634]


def test_the_published_fit_is_a_maximum_of_the_likelihood_by_direct_optimisation():
    """scipy.optimize on the log-likelihood itself (no EM) finds the same point and the same value."""
    def negative(params):
        w = 1 / (1 + np.exp(-params[0]))
        return -_loglik_written_out(COUNTS, DAYS, [w, 1 - w], np.exp(params[1:]))

    best = optimize.minimize(negative, x0=[0.0, 0.0, 1.0], method="Nelder-Mead",
                             options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000})
    w = 1 / (1 + np.exp(-best.x[0]))
    found = sorted(zip(np.exp(best.x[1:]), [w, 1 - w]))
    np.testing.assert_allclose([r for r, _ in found], [1.2560951, 2.6634044], atol=1e-4)
    np.testing.assert_allclose([p for _, p in found], [0.3598854, 0.6401146], atol=1e-4)
    weights, rates, history = poisson.fit_poisson_mixture(COUNTS, DAYS, *START, n_iter=3000)
    assert history[-1] == pytest.approx(-best.fun, abs=1e-7)


def test_two_poissons_beat_one_by_the_notebooks_margin():
    mean = DAYS @ COUNTS / DAYS.sum()
    one = poisson.poisson_log_likelihood(COUNTS, DAYS, [1.0], [mean])
    _, _, history = poisson.fit_poisson_mixture(COUNTS, DAYS, *START, n_iter=3000)
    assert one == pytest.approx(-2001.3978, abs=1e-3)
    assert history[-1] == pytest.approx(-1989.9459, abs=1e-3)


def test_em_on_hasselblad_is_slow_and_linear():
    """The gap to the top shrinks by a nearly constant factor ~0.991 per iteration (notebook 07's claim)."""
    _, _, history = poisson.fit_poisson_mixture(COUNTS, DAYS, *START, n_iter=2000)
    gap = history[-1] - history[:-1]
    ratios = gap[501:1001] / gap[500:1000]
    assert 0.985 < np.median(ratios) < 0.995
    assert 1000 < np.argmax(gap < 1e-6) < 1600


# ---------------------------------------------------------------------------
# The E-step
# ---------------------------------------------------------------------------


def test_e_step_is_bayes_rule_with_scipys_poisson():
    weights, rates = np.array([0.2, 0.5, 0.3]), np.array([0.5, 4.0, 11.0])
    counts = np.array([0, 2, 5, 9, 14])
    joint = weights * stats.poisson.pmf(counts[:, None], rates)
    np.testing.assert_allclose(poisson.poisson_e_step(counts, weights, rates),
                               joint / joint.sum(axis=1, keepdims=True), rtol=1e-12)


def test_e_step_stays_finite_where_the_joint_overflows():
    counts = np.array([0, 350, 500, 800, 1000])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resp = poisson.poisson_e_step(counts, [0.6, 0.4], [400.0, 900.0])
    assert np.isfinite(resp).all()
    np.testing.assert_allclose(resp.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    # the log-odds written out: log(0.6/0.4) + y log(400/900) - (400 - 900)
    log_odds = np.log(0.6 / 0.4) + counts * np.log(400 / 900) + 500
    np.testing.assert_allclose(np.log(resp[:, 0]) - np.log(resp[:, 1]), log_odds, rtol=1e-9)


@st.composite
def tables(draw):
    """(counts, frequencies, weights, rates): a frequency table and a mixture, K in 1..4."""
    m = draw(st.integers(1, 12))
    counts = np.array(draw(st.lists(st.integers(0, 60), min_size=m, max_size=m, unique=True)))
    frequencies = np.array(draw(st.lists(st.integers(0, 50), min_size=m, max_size=m)))
    assume(frequencies.sum() > 0)
    K = draw(st.integers(1, 4))
    raw = np.array(draw(st.lists(st.floats(0.05, 1.0), min_size=K, max_size=K)))
    rates = np.array(draw(st.lists(st.floats(0.05, 40.0), min_size=K, max_size=K)))
    return counts, frequencies, raw / raw.sum(), rates


@given(tables())
def test_e_step_rows_are_distributions(table):
    counts, _, weights, rates = table
    resp = poisson.poisson_e_step(counts, weights, rates)
    assert resp.shape == (counts.size, weights.size)
    assert (resp >= 0).all()
    np.testing.assert_allclose(resp.sum(axis=1), 1.0, rtol=0, atol=1e-12)


@given(tables(), st.permutations(range(4)))
def test_e_step_relabelling_the_components_permutes_the_columns(table, order):
    counts, _, weights, rates = table
    order = [k for k in order if k < weights.size]
    np.testing.assert_allclose(poisson.poisson_e_step(counts, weights[order], rates[order]),
                               poisson.poisson_e_step(counts, weights, rates)[:, order], rtol=1e-10, atol=1e-300)


# ---------------------------------------------------------------------------
# The M-step maximises the bound
# ---------------------------------------------------------------------------


def _expected_complete(counts, frequencies, resp, weights, rates):
    """sum_j f_j sum_k r_jk (log pi_k + log Poisson(u_j; lambda_k)): the theta-dependent part of the bound."""
    log_joint = np.log(weights) + stats.poisson.logpmf(np.asarray(counts)[:, None], rates)
    return float(np.asarray(frequencies) @ (resp * log_joint).sum(axis=1))


@given(tables(), st.integers(0, 2**32 - 1))
def test_m_step_maximises_the_bound_for_fixed_responsibilities(table, seed):
    counts, frequencies, weights, rates = table
    resp = poisson.poisson_e_step(counts, weights, rates)
    assume((frequencies @ resp > 1e-6).all())
    new_weights, new_rates = poisson.poisson_m_step(counts, frequencies, resp)
    assume((new_rates > 0).all())
    best = _expected_complete(counts, frequencies, resp, new_weights, new_rates)
    rng = np.random.default_rng(seed)
    for _ in range(20):
        other_weights = rng.dirichlet(np.ones(weights.size))
        other_rates = new_rates * np.exp(rng.normal(0, 0.3, size=rates.size))
        assert _expected_complete(counts, frequencies, resp, other_weights, other_rates) <= best + 1e-9 * abs(best)
    # and small moves around it do not help either (a maximum, not only better than random points)
    for k in range(rates.size):
        for step in (1e-4, -1e-4):
            moved = new_rates.copy()
            moved[k] *= 1 + step
            assert _expected_complete(counts, frequencies, resp, new_weights, moved) <= best + 1e-12 * abs(best)


def test_m_step_with_one_hot_responsibilities_is_the_complete_data_answer():
    counts, frequencies = np.array([0, 1, 2, 6, 7, 8]), np.array([10, 20, 10, 5, 3, 2])
    weights, rates = poisson.poisson_m_step(counts, frequencies, np.eye(2)[[0, 0, 0, 1, 1, 1]])
    np.testing.assert_allclose(weights, [40 / 50, 10 / 50])
    np.testing.assert_allclose(rates, [(20 + 20) / 40, (30 + 21 + 16) / 10])


def test_m_step_on_a_table_equals_the_m_step_on_the_days_written_out():
    """Grouping is only bookkeeping: a table and its n days, one row each, give the same M-step."""
    resp = poisson.poisson_e_step(COUNTS, *START)
    days = np.repeat(COUNTS, DAYS)
    per_day = poisson.poisson_m_step(days, np.ones(days.size), np.repeat(resp, DAYS, axis=0))
    for grouped, single in zip(poisson.poisson_m_step(COUNTS, DAYS, resp), per_day):
        np.testing.assert_allclose(grouped, single, rtol=1e-12)


@given(tables())
def test_after_an_m_step_the_mixture_has_the_tables_mean(table):
    """Question 1 of notebook 07: sum_k pi_k lambda_k is the mean of the table, whatever resp."""
    counts, frequencies, weights, rates = table
    resp = poisson.poisson_e_step(counts, weights, rates)
    assume((frequencies @ resp > 1e-9).all())
    new_weights, new_rates = poisson.poisson_m_step(counts, frequencies, resp)
    assert new_weights @ new_rates == pytest.approx(frequencies @ counts / frequencies.sum(), rel=1e-9, abs=1e-12)


# ---------------------------------------------------------------------------
# EM never decreases the log-likelihood
# ---------------------------------------------------------------------------


@given(tables(), st.integers(1, 15))
def test_em_never_decreases_the_log_likelihood(table, n_iter):
    counts, frequencies, weights, rates = table
    try:
        _, _, history = poisson.fit_poisson_mixture(counts, frequencies, weights, rates, n_iter)
    except ValueError as exc:       # a component given no day at all: refused by design, not a NaN
        assert "none of the observed days" in str(exc) or "impossible" in str(exc)
        return
    values = np.concatenate([[poisson.poisson_log_likelihood(counts, frequencies, weights, rates)], history])
    assert np.all(np.diff(values) >= -1e-9 * np.abs(values[:-1]))


@given(tables())
def test_log_likelihood_matches_the_sum_written_out_with_scipy(table):
    counts, frequencies, weights, rates = table
    assert poisson.poisson_log_likelihood(counts, frequencies, weights, rates) == pytest.approx(
        _loglik_written_out(counts, frequencies, weights, rates), rel=1e-10, abs=1e-10)


def test_fit_records_the_log_likelihood_after_each_iteration():
    weights, rates, history = poisson.fit_poisson_mixture(COUNTS, DAYS, *START, n_iter=3)
    assert history.shape == (3,)
    assert history[-1] == pytest.approx(poisson.poisson_log_likelihood(COUNTS, DAYS, weights, rates), rel=1e-14)
    w, r = START
    for t in range(3):
        w, r = poisson.poisson_m_step(COUNTS, DAYS, poisson.poisson_e_step(COUNTS, w, r))
        assert history[t] == pytest.approx(poisson.poisson_log_likelihood(COUNTS, DAYS, w, r), rel=1e-14)


# ---------------------------------------------------------------------------
# Edge cases and validation
# ---------------------------------------------------------------------------


def test_a_rate_of_zero_is_a_point_mass_at_zero():
    resp = poisson.poisson_e_step([0, 3], [0.5, 0.5], [0.0, 2.0])
    np.testing.assert_allclose(resp[1], [0.0, 1.0])
    assert resp[0, 0] == pytest.approx(1 / (1 + np.exp(-2.0)))
    assert poisson.poisson_log_likelihood([0, 3], [4, 0], [1.0], [0.0]) == 0.0     # never-seen 3 adds nothing


def test_the_contract_names_are_the_modules():
    assert em_lib.poisson_e_step is poisson.poisson_e_step
    assert em_lib.poisson_m_step is poisson.poisson_m_step


@pytest.mark.parametrize("call, message", [
    (lambda: poisson.poisson_e_step([0, 1.5], [0.5, 0.5], [1.0, 2.0]), r"^counts must be whole numbers >= 0.*1\.5 at index 1"),
    (lambda: poisson.poisson_e_step([0, -1], [0.5, 0.5], [1.0, 2.0]), r"^counts must be whole numbers"),
    (lambda: poisson.poisson_e_step([[0, 1]], [0.5, 0.5], [1.0, 2.0]), r"^counts must be a non-empty 1-D array"),
    (lambda: poisson.poisson_e_step([], [0.5, 0.5], [1.0, 2.0]), r"^counts must be a non-empty 1-D array"),
    (lambda: poisson.poisson_e_step([0, np.nan], [0.5, 0.5], [1.0, 2.0]), r"^counts must be finite"),
    (lambda: poisson.poisson_e_step([0, 1], [0.5, 0.6], [1.0, 2.0]), r"^weights must sum to 1"),
    (lambda: poisson.poisson_e_step([0, 1], [0.5, 0.5], [1.0, 2.0, 3.0]), r"^rates must have shape \(K,\) = \(2,\)"),
    (lambda: poisson.poisson_e_step([0, 1], [0.5, 0.5], [1.0, -2.0]), r"^rates must be >= 0.*component 1"),
    (lambda: poisson.poisson_e_step([0, 1], [0.5, 0.5], [1.0, np.inf]), r"^rates must be finite"),
    (lambda: poisson.poisson_e_step([0, 4], [0.5, 0.5], [0.0, 0.0]), r"^counts\[1\] = 4 is impossible under every component"),
    (lambda: poisson.poisson_m_step([0, 1], [3, 4, 5], [[1.0, 0.0], [0.0, 1.0]]), r"^frequencies must have shape \(m,\) = \(2,\)"),
    (lambda: poisson.poisson_m_step([0, 1], [3, -4], [[1.0, 0.0], [0.0, 1.0]]), r"^frequencies must be >= 0"),
    (lambda: poisson.poisson_m_step([0, 1], [0, 0], [[1.0, 0.0], [0.0, 1.0]]), r"^frequencies are all 0"),
    (lambda: poisson.poisson_m_step([0, 1, 2], [1, 1, 1], np.eye(3)[:2]), r"^resp must have shape \(m, K\).*\(transposed\?"),
    (lambda: poisson.poisson_m_step([0, 1], [1, 1], [[0.7, 0.7], [0.5, 0.5]]), r"^each row of resp must sum to 1"),
    (lambda: poisson.poisson_m_step([0, 1], [1, 1], [[1.0, 0.0], [1.0, 0.0]]), r"^resp gives component 1 none of the observed days"),
    (lambda: poisson.fit_poisson_mixture([0, 1], [1, 1], [0.5, 0.5], [1.0, 2.0], 0), r"^n_iter must be at least 1"),
])
def test_bad_input_raises_a_value_error_naming_the_parameter(call, message):
    with pytest.raises(ValueError, match=message):
        call()
