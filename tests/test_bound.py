"""Tests of em_lib.bound: Jensen's inequality and the lower bound (notebooks 02 and 03).

The lecture's claims, checked for any valid input: the bound L(Q, theta) lies below
l(theta) for every Q, touches it when Q is the posterior, and the gap is a sum of KL
divergences; Jensen's gap is never negative and vanishes when the "stars" coincide.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import logsumexp
from scipy.stats import entropy as scipy_entropy
from scipy.stats import norm

from em_lib import elbo, jensen_gap, log_joint, log_likelihood, posterior
from em_lib.bound import bound_gap, entropy, expected_complete_log_likelihood, kl_divergence
from em_lib.datasets import HEIGHTS_TRUE

from strategies import distribution_rows, fit_problems, problems, problems_with_q


def _scale(x, q, weights, means, variances):
    """The size of the numbers summed in elbo and l: rounding tolerances are relative to it."""
    lj = log_joint(x, weights, means, variances)
    return float(np.abs(np.where(q > 0, q * lj, 0.0)).sum() + np.abs(logsumexp(lj, axis=1)).sum() + 1.0)


# ---------------------------------------------------------------------------
# The bound and its gap
# ---------------------------------------------------------------------------

@given(problems_with_q())
def test_elbo_lies_below_the_log_likelihood_for_any_q(case):
    x, q, *theta = case
    bound, ll = elbo(x, q, *theta), log_likelihood(x, *theta)
    assert np.isfinite(bound)
    assert bound <= ll + 1e-13 * _scale(*case)


@given(problems())
def test_elbo_equals_the_log_likelihood_at_the_posterior(problem):
    x, *theta = problem
    q = posterior(x, *theta)
    assert elbo(x, q, *theta) == pytest.approx(log_likelihood(x, *theta), rel=1e-12, abs=1e-13 * _scale(x, q, *theta))


@given(problems_with_q())
def test_the_gap_is_the_sum_of_kl_divergences_to_the_posterior(case):
    """l(theta) - L(Q, theta) = sum_i KL(Q_i || p(z | x_i)) (notebook 03; CS229, Bishop 9.4)."""
    x, q, *theta = case
    gap = log_likelihood(x, *theta) - elbo(x, q, *theta)
    tol = 1e-12 * _scale(*case)
    assert bound_gap(x, q, *theta) == pytest.approx(gap, abs=tol)
    assert bound_gap(x, q, *theta) >= -tol
    kl = kl_divergence(q, posterior(x, *theta))
    # In the far tails the posterior of some components underflows to 0 while q may put
    # mass there: KL is then +inf in floating point, though the bound gap is finite.
    if np.all(np.isfinite(kl)):
        assert kl.sum() == pytest.approx(gap, abs=tol)


@given(problems_with_q(tails=False))
def test_elbo_agrees_with_the_formula_written_with_scipy(case):
    """sum_i sum_k q_ik (log pi_k + log N(x_i; mu_k, s_k^2) - log q_ik), with 0 log 0 = 0."""
    x, q, weights, means, variances = case
    lj = np.log(weights) + norm.logpdf(x[:, None], loc=means, scale=np.sqrt(variances))
    expected = (q * lj).sum() + scipy_entropy(q, axis=1).sum()
    assert elbo(*case) == pytest.approx(expected, rel=1e-12, abs=1e-12 * _scale(*case))


def test_elbo_with_one_hot_q_is_the_log_joint_of_the_chosen_components():
    """0 log 0 = 0: a one-hot Q_i has entropy 0 and picks out one log p(x_i, z_i = k)."""
    x = np.array([150.0, 190.0, 1e4])
    z = np.array([1, 0, 1])
    q = np.eye(2)[z]
    bound = elbo(x, q, *HEIGHTS_TRUE)
    assert np.isfinite(bound)
    expected = (np.log(HEIGHTS_TRUE[0][z]) + norm.logpdf(x, HEIGHTS_TRUE[1][z], np.sqrt(HEIGHTS_TRUE[2][z]))).sum()
    assert bound == pytest.approx(expected, rel=1e-12)


def test_q_may_ignore_a_component_with_zero_weight():
    """A column of -inf in the log joint costs nothing where q is 0 (0 * -inf counts as 0)."""
    x = np.array([160.0, 175.0])
    theta = ([1.0, 0.0], [170.0, 150.0], [50.0, 50.0])
    q = np.array([[1.0, 0.0], [1.0, 0.0]])
    assert elbo(x, q, *theta) == pytest.approx(log_likelihood(x, *theta), rel=1e-12)
    assert bound_gap(x, q, *theta) == 0.0


def test_the_bound_is_q_function_plus_entropy():
    """Li Hang's Q(theta, theta_old) plus H(Q) is the course's L(Q, theta)."""
    x = np.array([150.0, 165.0, 172.0, 190.0])
    q = posterior(x, [0.4, 0.6], [180.0, 155.0], [80.0, 60.0])  # the posterior at an old theta
    theta = HEIGHTS_TRUE
    total = expected_complete_log_likelihood(x, q, *theta) + entropy(q).sum()
    assert elbo(x, q, *theta) == pytest.approx(total, rel=1e-14)
    assert elbo(x, q, *theta) < log_likelihood(x, *theta)  # q is not the posterior at theta


def test_the_bound_touches_the_likelihood_only_at_the_theta_it_was_built_at():
    """Notebook 03's picture: L(Q_old, theta) below l(theta) for every mean, touching at the old one."""
    x = np.array([150.0, 158.0, 165.0, 172.0, 180.0, 190.0])
    weights, means, variances = HEIGHTS_TRUE
    q_old = posterior(x, weights, means, variances)
    shifts = np.linspace(-10, 10, 21)
    gaps = []
    for s in shifts:
        moved = means + np.array([s, 0.0])
        gaps.append(log_likelihood(x, weights, moved, variances) - elbo(x, q_old, weights, moved, variances))
    gaps = np.array(gaps)
    assert gaps[shifts == 0][0] == pytest.approx(0.0, abs=1e-12)
    assert np.all(gaps[shifts != 0] > 1e-6)


# ---------------------------------------------------------------------------
# entropy and KL against SciPy
# ---------------------------------------------------------------------------

@given(st.integers(1, 30).flatmap(lambda n: st.integers(1, 5).flatmap(lambda K: distribution_rows(n, K))))
def test_entropy_agrees_with_scipy(q):
    np.testing.assert_allclose(entropy(q), scipy_entropy(q, axis=1), rtol=1e-12, atol=1e-15)


@given(st.integers(1, 5).flatmap(lambda K: st.tuples(distribution_rows(8, K), distribution_rows(8, K))))
def test_kl_divergence_agrees_with_scipy(pair):
    q, p = pair
    expected = scipy_entropy(q, p, axis=1)  # scipy: sum q log(q/p), inf where p = 0 < q
    np.testing.assert_allclose(kl_divergence(q, p), expected, rtol=1e-12, atol=1e-15)


def test_entropy_of_one_distribution_and_of_rows():
    assert entropy([0.5, 0.5]) == pytest.approx(np.log(2), rel=1e-15)
    np.testing.assert_array_equal(entropy([[1.0, 0.0], [0.0, 1.0]]), [0.0, 0.0])
    assert not np.signbit(entropy([1.0, 0.0]))  # 0.0, not -0.0


@pytest.mark.parametrize("fn, args, name", [
    (entropy, ([-0.5, 1.5],), "q"),
    (entropy, ([[0.3, 0.3]],), "q"),
    (entropy, ([np.nan, 1.0],), "q"),
    (entropy, (np.ones((2, 2, 2)) / 2,), "q"),
    (kl_divergence, ([0.5, 0.5], [-0.5, 1.5]), "p"),
    (kl_divergence, ([0.5, 0.6], [0.5, 0.5]), "q"),
    (kl_divergence, ([0.5, 0.5], [1.0, 0.0, 0.0]), "q and p"),
])
def test_entropy_and_kl_refuse_what_is_not_a_distribution(fn, args, name):
    """No silent NaN or a negative 'entropy' from a q that is not a distribution."""
    with pytest.raises(ValueError, match=rf"^(each row of )?{name}\b"):
        fn(*args)


# ---------------------------------------------------------------------------
# Jensen's gap
# ---------------------------------------------------------------------------

positive_values = st.floats(1e-6, 1e6)


@st.composite
def values_and_q(draw, K=None):
    K = K or draw(st.integers(1, 6))
    values = np.array(draw(st.lists(positive_values, min_size=K, max_size=K)))
    q = draw(distribution_rows(1, K))[0]
    return values, q


@given(values_and_q())
def test_jensen_gap_is_log_of_average_minus_average_of_log(case):
    values, q = case
    expected = np.log(np.dot(q, values)) - np.dot(q, np.log(values))
    assert jensen_gap(values, q) == pytest.approx(expected, abs=1e-12 * (1 + np.abs(np.log(values)).max()))


@given(values_and_q())
def test_jensen_gap_is_never_negative_log_then_average_is_below(case):
    """The lecturer's chord: the average of the logs lies below the log of the average."""
    values, q = case
    gap = jensen_gap(values, q)
    assert gap >= 0.0
    assert np.dot(q, np.log(values)) <= np.log(np.dot(q, values)) + 1e-12 * (1 + np.abs(np.log(values)).max())


@given(st.floats(1e-6, 1e6), st.integers(1, 6).flatmap(lambda K: distribution_rows(1, K)))
def test_jensen_gap_is_zero_when_all_values_are_equal(value, q):
    """Equality: the two stars coincide (p(x, z) / Q(z) is a constant)."""
    values = np.full(q.shape[1], value)
    assert jensen_gap(values, q[0]) == pytest.approx(0.0, abs=1e-12 * (1 + abs(np.log(value))))


def test_jensen_gap_ignores_values_with_zero_weight():
    """Only values that q weights matter: equal where q > 0 means no gap at all."""
    assert jensen_gap([2.0, 2.0, 50.0], [0.5, 0.5, 0.0]) == pytest.approx(0.0, abs=1e-15)
    assert jensen_gap([2.0, 3.0, 50.0], [0.5, 0.5, 0.0]) > 0


def test_jensen_gap_of_the_lecturers_two_stars():
    """0.8/0.2 between two stars: log(0.8*1 + 0.2*e^2) - (0.8*0 + 0.2*2), worked by hand."""
    values = np.array([1.0, np.e**2])
    by_hand = np.log(0.8 + 0.2 * np.e**2) - 0.4
    assert jensen_gap(values, [0.8, 0.2]) == pytest.approx(by_hand, rel=1e-14)
    assert by_hand > 0.3  # a visible gap, not rounding


def test_jensen_gap_with_the_heights_models_stars():
    """The stars of notebook 02: p(x, z) / Q(z) for x = 190 cm with Q = (0.8, 0.2)."""
    q = np.array([0.8, 0.2])
    stars = np.exp(log_joint([190.0], *HEIGHTS_TRUE)[0]) / q
    gap = jensen_gap(stars, q)
    assert gap > 0
    # The gap is the KL divergence of Q from the posterior, for this one point.
    assert gap == pytest.approx(kl_divergence(q[None, :], posterior([190.0], *HEIGHTS_TRUE))[0], rel=1e-10)


# ---------------------------------------------------------------------------
# One EM iteration and its chain (notebook 04, eq. 4.6)
# ---------------------------------------------------------------------------

from hypothesis import reject  # noqa: E402

from em_lib import e_step, em_iteration, fit_em, m_step  # noqa: E402


def _iterate_or_reject(x, *theta):
    """em_iteration, or reject an example where a component lost every point or collapsed onto one
    (the M-step is undefined there; tests/test_mixture1d.py covers those cases)."""
    try:
        return em_iteration(x, *theta)
    except ValueError as exc:
        if "no responsibility" in str(exc) or "strictly positive" in str(exc):
            reject()
        raise


@given(fit_problems())
def test_the_chain_of_one_iteration_is_in_order(case):
    x, *theta = case
    *new, chain = _iterate_or_reject(x, *theta)
    scale = _scale(x, e_step(x, *theta), *theta)
    l_old, bound_old, bound_new, l_new = chain
    assert abs(l_old - bound_old) <= 1e-12 * scale          # tight at the posterior
    assert bound_old <= bound_new + 1e-12 * scale            # the M-step cannot lower the bound
    assert bound_new <= l_new + 1e-12 * scale                # the bound lies below l everywhere


@given(fit_problems())
def test_one_iteration_is_an_e_step_then_an_m_step(case):
    x, *theta = case
    *new, chain = _iterate_or_reject(x, *theta)
    for got, expected in zip(new, m_step(x, e_step(x, *theta))):
        assert np.allclose(got, expected, rtol=1e-12, atol=0)
    assert chain[3] == pytest.approx(log_likelihood(x, *new), rel=1e-12)


def test_the_chain_agrees_with_fit_em_on_the_heights():
    x = np.linspace(150.0, 195.0, 40)
    start = (np.array([0.5, 0.5]), np.array([185.0, 150.0]), np.array([100.0, 100.0]))
    *new, chain = em_iteration(x, *start)
    *fitted, history = fit_em(x, *start, 1)
    assert np.allclose(new, fitted, rtol=1e-10)
    assert chain[3] == pytest.approx(history[0], rel=1e-12)
    assert chain[0] < chain[3]


def test_em_iteration_refuses_bad_input_by_name():
    with pytest.raises(ValueError, match="variances"):
        em_iteration([1.0, 2.0], [0.5, 0.5], [0.0, 1.0], [1.0, -1.0])
