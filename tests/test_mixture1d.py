"""Tests of em_lib.mixture1d: the 1-D Gaussian mixture of notebooks 01, 03 and 04.

Three kinds of evidence: properties that must hold for any valid input (Hypothesis),
agreement with SciPy and scikit-learn on the same data and the same start, and the
far-tail cases where a naive implementation breaks.
"""

import warnings

import numpy as np
import pytest
from hypothesis import assume, given, reject
from hypothesis import strategies as st
from scipy.special import logsumexp
from scipy.stats import norm
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from em_lib import e_step, elbo, fit_em, log_joint, log_likelihood, m_step, posterior
from em_lib.datasets import HEIGHTS_TRUE, heights, old_faithful

from strategies import fit_problems, positive_distribution_rows, problems, samples


def scipy_log_joint(x, weights, means, variances):
    """log pi_k + log N(x_i; mu_k, sigma_k^2) from SciPy, as an (n, K) array."""
    return np.log(weights) + norm.logpdf(np.asarray(x)[:, None], loc=means, scale=np.sqrt(variances))


# ---------------------------------------------------------------------------
# log_joint and log_likelihood against SciPy
# ---------------------------------------------------------------------------

@given(problems())
def test_log_joint_agrees_with_scipy_logpdf_plus_log_weight(problem):
    x, weights, means, variances = problem
    got = log_joint(x, weights, means, variances)
    assert got.shape == (x.size, weights.size)
    np.testing.assert_allclose(got, scipy_log_joint(*problem), rtol=1e-12, atol=1e-12)


@given(problems())
def test_log_likelihood_agrees_with_scipy_logsumexp(problem):
    expected = logsumexp(scipy_log_joint(*problem), axis=1).sum()
    got = log_likelihood(*problem)
    assert isinstance(got, float)
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-9)


def test_log_joint_is_the_joint_not_the_conditional():
    """The lecture's item 7: p(1.90 m AND male), which includes the weight pi_k."""
    x = np.array([190.0])
    weights, means, variances = np.array([0.3, 0.7]), np.array([175.3, 161.3]), np.array([56.25, 49.0])
    joint = np.exp(log_joint(x, weights, means, variances))[0]
    conditional = norm.pdf(190.0, loc=means, scale=np.sqrt(variances))
    np.testing.assert_allclose(joint, weights * conditional, rtol=1e-12)


def test_a_component_with_zero_weight_gets_minus_infinity_and_changes_nothing():
    x = np.array([160.0, 175.0])
    lj = log_joint(x, [1.0, 0.0], [170.0, 150.0], [50.0, 50.0])
    assert np.all(lj[:, 1] == -np.inf)
    assert log_likelihood(x, [1.0, 0.0], [170.0, 150.0], [50.0, 50.0]) == pytest.approx(
        norm.logpdf(x, 170.0, np.sqrt(50.0)).sum(), rel=1e-12
    )
    np.testing.assert_array_equal(posterior(x, [1.0, 0.0], [170.0, 150.0], [50.0, 50.0]), [[1, 0], [1, 0]])


def test_inputs_may_be_lists_and_are_not_modified():
    x = [150.0, 170.0, 190.0]
    weights, means, variances = np.array([0.5, 0.5]), np.array([175.3, 161.3]), np.array([56.25, 49.0])
    copies = [a.copy() for a in (weights, means, variances)]
    lists = log_likelihood(x, list(weights), list(means), list(variances))
    assert lists == log_likelihood(np.array(x), weights, means, variances)
    fit_em(np.array(x), weights, means, variances, 3)
    for a, c in zip((weights, means, variances), copies):
        np.testing.assert_array_equal(a, c)


# ---------------------------------------------------------------------------
# Far out in the tails: the naive sum of densities underflows, em_lib must not
# ---------------------------------------------------------------------------

TAIL_X = np.array([1e4, -1e4, 170.0])
TAIL_PARAMS = (np.array([0.5, 0.5]), np.array([175.3, 161.3]), np.array([7.5**2, 7.0**2]))


def naive_log_likelihood(x, weights, means, variances):
    """The textbook formula evaluated literally: sum_i log sum_k pi_k N(x_i; ...)."""
    densities = weights * norm.pdf(np.asarray(x)[:, None], loc=means, scale=np.sqrt(variances))
    with np.errstate(divide="ignore"):
        return float(np.log(densities.sum(axis=1)).sum())


def test_naive_log_likelihood_underflows_in_the_tail():
    """The premise of the next tests: at x = 1e4 every density is exactly 0.0 in float64."""
    assert naive_log_likelihood(TAIL_X, *TAIL_PARAMS) == -np.inf
    # ...while in the bulk the naive formula is fine and agrees with em_lib.
    bulk = np.array([150.0, 170.0, 185.0])
    assert log_likelihood(bulk, *TAIL_PARAMS) == pytest.approx(naive_log_likelihood(bulk, *TAIL_PARAMS), rel=1e-12)


def test_log_likelihood_is_finite_and_right_in_the_tail():
    got = log_likelihood(TAIL_X, *TAIL_PARAMS)
    assert np.isfinite(got)
    assert got == pytest.approx(logsumexp(scipy_log_joint(TAIL_X, *TAIL_PARAMS), axis=1).sum(), rel=1e-12)


def test_log_likelihood_in_the_tail_matches_the_closed_form_for_one_component():
    """K = 1: l = -n/2 log(2 pi s^2) - sum (x - mu)^2 / (2 s^2), no mixture at all."""
    x, mu, s2 = np.array([1e4, 2e4]), 170.0, 50.0
    closed_form = -0.5 * x.size * np.log(2 * np.pi * s2) - ((x - mu) ** 2).sum() / (2 * s2)
    assert log_likelihood(x, [1.0], [mu], [s2]) == pytest.approx(closed_form, rel=1e-13)


def test_posterior_is_finite_in_the_tail_and_picks_the_wider_component():
    """Far from both means the wider component (sd 7.5 > 7.0) is overwhelmingly more probable."""
    with np.errstate(divide="raise", invalid="raise"):  # no 0/0 or log(0) hidden behind a warning
        post = posterior(TAIL_X, *TAIL_PARAMS)
    assert np.all(np.isfinite(post))
    np.testing.assert_allclose(post[:2], [[1.0, 0.0], [1.0, 0.0]], atol=1e-300)
    np.testing.assert_allclose(post.sum(axis=1), 1.0, rtol=1e-14)


def test_posterior_rows_sum_to_one_exactly_enough_even_where_log_joints_are_huge():
    """At x = 1e6 the log joints are about -1e12; the rows must still be distributions that
    elbo accepts as q (a row sum off by eps * 1e12 = 2e-4 would be refused)."""
    x = np.array([1e6, -1e6, 170.0])
    theta = ([0.3, 0.7], [170.0, 170.0], [0.5, 0.5])  # the same shape: posterior = weights
    post = posterior(x, *theta)
    # Each log joint is -1e12 +- eps * 1e12, so the ratios themselves carry ~1e-4 of error...
    np.testing.assert_allclose(post, [[0.3, 0.7]] * 3, rtol=1e-3)
    # ...but each row is still a distribution to the last bit.
    np.testing.assert_allclose(post.sum(axis=1), 1.0, rtol=0, atol=1e-15)
    assert elbo(x, post, *theta) == pytest.approx(log_likelihood(x, *theta), rel=1e-15)


@given(problems(tails=True))
def test_log_likelihood_and_posterior_are_finite_for_any_valid_input(problem):
    assert np.isfinite(log_likelihood(*problem))
    assert np.all(np.isfinite(posterior(*problem)))


# ---------------------------------------------------------------------------
# posterior and e_step
# ---------------------------------------------------------------------------

@given(problems())
def test_posterior_rows_are_distributions(problem):
    x, weights, means, variances = problem
    post = posterior(*problem)
    assert post.shape == (x.size, weights.size)
    assert np.all(post >= 0)
    np.testing.assert_allclose(post.sum(axis=1), 1.0, rtol=0, atol=1e-12)


@given(problems())
def test_e_step_is_the_posterior(problem):
    np.testing.assert_array_equal(e_step(*problem), posterior(*problem))


@given(problems(tails=False))
def test_posterior_is_bayes_rule_with_scipy_densities(problem):
    """In the bulk, where densities do not underflow: p(z=k|x) = pi_k N_k(x) / sum_j pi_j N_j(x)."""
    x, weights, means, variances = problem
    joint = weights * norm.pdf(x[:, None], loc=means, scale=np.sqrt(variances))
    assume(np.all(joint.sum(axis=1) > 1e-250))
    post, bayes = posterior(*problem), joint / joint.sum(axis=1, keepdims=True)
    # Densities below ~1e-290 are subnormal or 0 in float64 and carry few digits: there
    # Bayes' rule written with densities is itself inexact, so only the size is checked.
    exact = joint > 1e-290
    np.testing.assert_allclose(post[exact], bayes[exact], rtol=1e-9)
    assert np.all(post[~exact] < 1e-250)


def test_posterior_of_the_lectures_two_people():
    """Item 4 of the lecture: a tall person is most likely male, a short one most likely female."""
    post = posterior([190.0, 155.0], *HEIGHTS_TRUE)
    assert post[0, 0] > 0.9  # 1.90 m: male
    assert post[1, 1] > 0.8  # 1.55 m: female


# ---------------------------------------------------------------------------
# m_step: the maximiser of the bound for fixed resp
# ---------------------------------------------------------------------------

@st.composite
def data_and_resp(draw):
    x = draw(samples(min_size=2, max_size=30, tails=False))
    assume(np.ptp(x) > 1.0)
    K = draw(st.integers(1, 5))
    resp = draw(positive_distribution_rows(x.size, K))
    return x, resp


@given(data_and_resp())
def test_m_step_matches_weighted_statistics_from_numpy(case):
    """pi_k = N_k / n, mu_k and sigma_k^2 the resp-weighted mean and (biased) variance."""
    x, resp = case
    weights, means, variances = m_step(x, resp)
    K = resp.shape[1]
    assert weights.shape == means.shape == variances.shape == (K,)
    np.testing.assert_allclose(weights, resp.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(weights.sum(), 1.0, rtol=1e-12)
    for k in range(K):
        assert means[k] == pytest.approx(np.average(x, weights=resp[:, k]), rel=1e-12)
        assert variances[k] == pytest.approx(np.cov(x, aweights=resp[:, k], bias=True), rel=1e-8)


PERTURBATIONS = st.sampled_from(["mean up", "mean down", "variance up", "variance down", "weight"])


@given(data_and_resp(), st.data())
def test_m_step_maximises_the_bound_for_its_resp(case, data):
    """Perturbing any output of m_step (weights kept on the simplex) never raises elbo(x, resp, ...)."""
    x, resp = case
    best = m_step(x, resp)
    best_bound = elbo(x, resp, *best)
    K = resp.shape[1]
    for _ in range(5):
        weights, means, variances = (a.copy() for a in best)
        kind = data.draw(PERTURBATIONS)
        k = data.draw(st.integers(0, K - 1))
        size = data.draw(st.floats(1e-3, 0.9))
        if kind == "mean up":
            means[k] += size * np.sqrt(variances[k])
        elif kind == "mean down":
            means[k] -= size * np.sqrt(variances[k])
        elif kind == "variance up":
            variances[k] *= 1 + size
        elif kind == "variance down":
            variances[k] *= 1 - size
        else:
            if K == 1:
                continue
            j = data.draw(st.integers(0, K - 1).filter(lambda j: j != k))
            moved = size * weights[j]
            weights[j] -= moved
            weights[k] += moved
        assert elbo(x, resp, weights, means, variances) <= best_bound + 1e-12 * abs(best_bound)


def test_m_step_with_hard_assignments_gives_each_groups_own_statistics():
    """One-hot resp (k-means style): each component is fitted to its own points only."""
    x = np.array([150.0, 155.0, 160.0, 170.0, 180.0, 190.0, 185.0])
    z = np.array([1, 1, 1, 0, 0, 0, 0])
    resp = np.eye(2)[z]
    weights, means, variances = m_step(x, resp)
    np.testing.assert_allclose(weights, [4 / 7, 3 / 7])
    np.testing.assert_allclose(means, [x[z == 0].mean(), x[z == 1].mean()])
    np.testing.assert_allclose(variances, [x[z == 0].var(), x[z == 1].var()])


def test_m_step_refuses_a_component_with_no_responsibility():
    x = np.array([150.0, 160.0, 170.0])
    resp = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match=r"resp.*component 1"):
        m_step(x, resp)


# ---------------------------------------------------------------------------
# fit_em: the loop
# ---------------------------------------------------------------------------

def _fit_or_reject(x, weights, means, variances, n_iter):
    """fit_em, treating a collapsing component (a ValueError by design) as an input to skip."""
    try:
        return fit_em(x, weights, means, variances, n_iter)
    except ValueError as exc:
        if "collapsed" in str(exc) or "lost all its responsibility" in str(exc):
            reject()
        raise


@given(fit_problems(), st.integers(1, 25))
def test_fit_em_log_likelihood_never_decreases(problem, n_iter):
    x, weights, means, variances = problem
    *params, history = _fit_or_reject(x, weights, means, variances, n_iter)
    assert history.shape == (n_iter,)
    assert np.all(np.isfinite(history))
    start = log_likelihood(x, weights, means, variances)
    steps = np.diff(np.concatenate([[start], history]))
    scale = np.abs(np.concatenate([[start], history[:-1]]))
    assert np.all(steps >= -1e-10 * scale), f"decreases by {steps.min()}"


@given(fit_problems(), st.integers(1, 25))
def test_fit_em_last_history_entry_is_the_log_likelihood_of_what_it_returns(problem, n_iter):
    x = problem[0]
    weights, means, variances, history = _fit_or_reject(*problem, n_iter)
    np.testing.assert_allclose(weights.sum(), 1.0, rtol=1e-12)
    assert np.all(variances > 0)
    assert history[-1] == pytest.approx(log_likelihood(x, weights, means, variances), rel=1e-10)


@given(fit_problems(tails=False), st.integers(1, 8))
def test_fit_em_is_e_step_then_m_step_repeated(problem, n_iter):
    """The fast fused loop of fit_em gives what the readable e_step/m_step loop gives."""
    x, *theta = problem
    weights, means, variances, history = _fit_or_reject(x, *theta, n_iter)
    # A component squeezed onto one point (sd a millionth of the data's spread) is a
    # collapse in the making: both loops then return rounding noise, which need not agree.
    assume(variances.min() > 1e-12 * x.var())
    slow_history = []
    for _ in range(n_iter):
        theta = m_step(x, e_step(x, *theta))
        slow_history.append(log_likelihood(x, *theta))
    np.testing.assert_allclose(weights, theta[0], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(means, theta[1], rtol=1e-7, atol=1e-6)
    np.testing.assert_allclose(variances, theta[2], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(history, slow_history, rtol=1e-9)


def test_fit_em_recovers_the_heights_model_from_a_rough_start():
    """100 000 simulated heights: EM from a rough start lands near NHANES's means.

    The two groups overlap (means 2 sd apart), so the estimates scatter by about
    0.2 cm from seed to seed at this n; 1 cm is a margin of several of those.
    """
    x, _ = heights(n=100_000, seed=1)
    weights, means, variances, history = fit_em(x, [0.5, 0.5], [180.0, 150.0], [100.0, 100.0], 400)
    np.testing.assert_allclose(means, HEIGHTS_TRUE[1], atol=1.0)
    np.testing.assert_allclose(np.sqrt(variances), np.sqrt(HEIGHTS_TRUE[2]), atol=0.5)
    np.testing.assert_allclose(weights, HEIGHTS_TRUE[0], atol=0.05)
    assert history[-1] - history[-2] < 1e-6 * abs(history[-1])  # settled


def test_fit_em_is_exact_for_a_narrow_cluster_far_from_the_data_mean():
    """One far point drags the data's mean to ~1300 while a component sits at 51 with sd ~0.8.
    Measuring spreads from the data's mean would cancel away the digits of that variance;
    found by Hypothesis (fit_em returned a variance of 2.3e-10 where the M-step gives 0)."""
    x = np.array([1e4, 51.0, 52.0, 53.0, 50.0, 49.0, 51.5, 50.5])
    start = ([2 / 3, 1 / 3], [100.0, 100.0], [20.0, 16.0])
    weights, means, variances, history = fit_em(x, *start, 3)
    theta = start
    for _ in range(3):
        theta = m_step(x, e_step(x, *theta))
    np.testing.assert_allclose(variances, theta[2], rtol=1e-10)
    np.testing.assert_allclose(means, theta[1], rtol=1e-12)
    assert history[-1] == pytest.approx(log_likelihood(x, weights, means, variances), rel=1e-12)


def test_fit_em_calls_identical_points_a_collapse():
    """Seven equal heights and one far point: component 1 takes the seven, its variance is 0."""
    x = np.array([1e4] + [51.0] * 7)
    with pytest.raises(ValueError, match="component 1 collapsed"):
        fit_em(x, [2 / 3, 1 / 3], [100.0, 100.0], [20.0, 16.0], 1)


def test_fit_em_refuses_a_collapsing_component_instead_of_returning_nan():
    """A component that ends up on one point has variance 0: a ValueError, not NaN or inf."""
    x = np.array([0.0, 5.0, 6.0, 7.0])
    with pytest.raises(ValueError, match="component 0"):
        fit_em(x, [0.5, 0.5], [0.0, 6.0], [1e-4, 1.0], 5)


# ---------------------------------------------------------------------------
# Agreement with scikit-learn, same data, same start
# ---------------------------------------------------------------------------

def _sklearn_fit(x, weights, means, variances, n_iter):
    gm = GaussianMixture(
        n_components=len(weights), covariance_type="full", reg_covar=0.0, tol=0.0, max_iter=n_iter,
        weights_init=np.asarray(weights), means_init=np.asarray(means)[:, None],
        precisions_init=(1.0 / np.asarray(variances))[:, None, None], random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(x[:, None])
    return gm


def _faithful_durations():
    return old_faithful()[:, 0]


def _heights_500():
    return heights(n=500, seed=7)[0]


def _three_groups():
    rng = np.random.default_rng(3)
    return np.concatenate([rng.normal(150, 5, 200), rng.normal(170, 4, 150), rng.normal(190, 8, 100)])


SKLEARN_CASES = [
    pytest.param(_heights_500, ([0.5, 0.5], [180.0, 150.0], [100.0, 100.0]), id="heights-K2"),
    pytest.param(_faithful_durations, ([0.5, 0.5], [2.0, 4.0], [1.0, 1.0]), id="faithful-K2"),
    pytest.param(_three_groups, ([0.2, 0.3, 0.5], [140.0, 165.0, 200.0], [50.0, 50.0, 50.0]), id="synthetic-K3"),
]


@pytest.mark.parametrize("n_iter", [1, 10, 60])
@pytest.mark.parametrize("make_x, start", SKLEARN_CASES)
def test_fit_em_agrees_with_sklearn_from_the_same_start(make_x, start, n_iter):
    x = make_x()
    weights, means, variances, history = fit_em(x, *start, n_iter)
    gm = _sklearn_fit(x, *start, n_iter)
    assert gm.n_iter_ == n_iter
    # sklearn's lower_bound_ is measured before its last M-step; score() is at the final parameters.
    sklearn_log_likelihood = gm.score(x[:, None]) * x.size
    assert history[-1] == pytest.approx(sklearn_log_likelihood, rel=1e-8)
    np.testing.assert_allclose(weights, gm.weights_, rtol=1e-6)
    np.testing.assert_allclose(means, gm.means_[:, 0], rtol=1e-6)
    np.testing.assert_allclose(variances, gm.covariances_[:, 0, 0], rtol=1e-6)


@pytest.mark.parametrize("make_x, start", SKLEARN_CASES)
def test_one_e_step_and_m_step_agree_with_one_sklearn_iteration(make_x, start):
    """sklearn's public route to one E-step plus one M-step: fit with max_iter=1 from our start."""
    x = make_x()
    weights, means, variances = m_step(x, e_step(x, *start))
    gm = _sklearn_fit(x, *start, 1)
    np.testing.assert_allclose(weights, gm.weights_, rtol=1e-10)
    np.testing.assert_allclose(means, gm.means_[:, 0], rtol=1e-10)
    np.testing.assert_allclose(variances, gm.covariances_[:, 0, 0], rtol=1e-8)
