"""Tests of em_lib.mixture_nd: properties (Hypothesis), agreement with SciPy and scikit-learn, errors.

Data are drawn from a seed that Hypothesis chooses, and parameters from Hypothesis' own
floats, so failures shrink to small, readable cases. Everything stays small (n <= 60,
d <= 5) so that the file runs in seconds.
"""

import dataclasses
import warnings

import numpy as np
import pytest
from hypothesis import given, reject
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from em_lib import datasets, mixture1d
from em_lib import mixture_nd as nd

# --------------------------------------------------------------------------
# Strategies: d-dimensional mixtures and data.
# --------------------------------------------------------------------------


@st.composite
def gmm_params(draw, K, d):
    """``(weights, means, covariances)``: weights > 0, means in a box, SPD covariances A A^T + s I."""
    raw = draw(arrays(np.float64, K, elements=st.floats(0.05, 1.0)))
    means = draw(arrays(np.float64, (K, d), elements=st.floats(-10.0, 10.0)))
    factors = draw(arrays(np.float64, (K, d, d), elements=st.floats(-2.0, 2.0)))
    ridge = draw(arrays(np.float64, K, elements=st.floats(0.05, 3.0)))
    covariances = factors @ factors.transpose(0, 2, 1) + ridge[:, None, None] * np.eye(d)
    return raw / raw.sum(), means, covariances


@st.composite
def problems(draw, max_K=4, max_d=4, max_n=40, tails=True):
    """``(X, weights, means, covariances)``: data (n, d) with some far-tail rows, and parameters."""
    K = draw(st.integers(1, max_K))
    d = draw(st.integers(1, max_d))
    n = draw(st.integers(1, max_n))
    params = draw(gmm_params(K, d))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    X = rng.normal(0.0, 5.0, size=(n, d))
    if tails and draw(st.booleans()):
        X[0] = draw(st.sampled_from([1e4, -1e4, 3e5]))   # densities underflow to 0 out here
    return (X, *params)


def sample_mixture(n, weights, means, covariances, seed):
    """(n, d) draws from the given mixture."""
    rng = np.random.default_rng(seed)
    z = rng.choice(len(weights), size=n, p=weights)
    chol = np.linalg.cholesky(covariances)
    return means[z] + np.einsum("nij,nj->ni", chol[z], rng.normal(size=(n, means.shape[1])))


@st.composite
def fitting_problems(draw, max_K=3, max_d=3):
    """``(X, K, seed)``: data from a random mixture, K components to fit, an init seed."""
    K = draw(st.integers(1, max_K))
    d = draw(st.integers(1, max_d))
    n = draw(st.integers(4 * K * (d + 1), 60))
    weights, means, covariances = draw(gmm_params(K, d))
    X = sample_mixture(n, weights, means, covariances, draw(st.integers(0, 2**32 - 1)))
    return X, K, draw(st.integers(0, 1000))


def expected_complete_log_likelihood(X, resp, params):
    r""":math:`\sum_i\sum_k\gamma_{ik}\log p(x_i, z_i = k)`, the function the M-step maximises."""
    return float((resp * nd.log_joint_nd(X, *params)).sum())


def sklearn_from(params, max_iter, floor, tol=0.0):
    weights, means, covariances = params
    return GaussianMixture(
        n_components=len(weights), covariance_type="full", tol=tol, max_iter=max_iter,
        reg_covar=floor, init_params="random_from_data", weights_init=weights,
        means_init=means, precisions_init=np.linalg.inv(covariances),
    )


# --------------------------------------------------------------------------
# The plain E-step and M-step.
# --------------------------------------------------------------------------


@given(problems())
def test_log_joint_equals_scipy_logpdf_plus_log_weight(problem):
    X, weights, means, covariances = problem
    got = nd.log_joint_nd(X, weights, means, covariances)
    assert got.shape == (X.shape[0], len(weights))
    for k in range(len(weights)):
        expected = np.log(weights[k]) + np.atleast_1d(
            multivariate_normal(means[k], covariances[k]).logpdf(X)
        )
        np.testing.assert_allclose(got[:, k], expected, rtol=1e-10, atol=1e-9)


@given(problems())
def test_log_likelihood_is_logsumexp_of_log_joint_and_finite_in_the_tails(problem):
    X, *params = problem
    value = nd.log_likelihood_nd(X, *params)
    assert np.isfinite(value)
    expected = logsumexp(nd.log_joint_nd(X, *params), axis=1).sum()
    assert value == pytest.approx(expected, rel=1e-12, abs=1e-9)


@given(problems())
def test_e_step_rows_are_distributions(problem):
    X, *params = problem
    resp = nd.e_step_nd(X, *params)
    assert resp.shape == (X.shape[0], len(params[0]))
    assert np.isfinite(resp).all() and (resp >= 0).all()
    np.testing.assert_allclose(resp.sum(axis=1), 1.0, rtol=0, atol=1e-12)


def test_zero_weight_component_gets_minus_infinity_and_no_responsibility():
    X = np.array([[0.0, 0.0], [1.0, 2.0]])
    params = (np.array([1.0, 0.0]), np.zeros((2, 2)), np.array([np.eye(2), np.eye(2)]))
    assert np.isneginf(nd.log_joint_nd(X, *params)[:, 1]).all()
    np.testing.assert_array_equal(nd.e_step_nd(X, *params), [[1.0, 0.0], [1.0, 0.0]])


@given(fitting_problems(), st.integers(0, 2**32 - 1))
def test_m_step_is_the_maximiser_of_the_expected_complete_log_likelihood(problem, seed):
    """Perturbing the M-step's answer in any direction never raises the bound (floor 0: exact ML)."""
    X, K, _ = problem
    rng = np.random.default_rng(seed)
    resp = rng.dirichlet(np.ones(K), size=X.shape[0])
    best = nd.m_step_nd(X, resp, covariance_floor=0.0)
    top = expected_complete_log_likelihood(X, resp, best)
    weights, means, covariances = best
    d = X.shape[1]
    for scale in (1e-1, 1e-3):
        for _ in range(4):
            w = weights * np.exp(scale * rng.normal(size=K))
            m = means + scale * rng.normal(size=means.shape) * np.sqrt(np.diagonal(covariances, axis1=1, axis2=2))
            sym = rng.normal(size=(K, d, d))
            sym = scale * (sym + sym.transpose(0, 2, 1)) / 2        # Sigma^1/2 exp(S) Sigma^1/2 stays SPD
            chol = np.linalg.cholesky(covariances)
            vals, vecs = np.linalg.eigh(sym)
            expo = vecs @ (np.exp(vals)[:, :, None] * vecs.transpose(0, 2, 1))
            c = chol @ expo @ chol.transpose(0, 2, 1)
            c = (c + c.transpose(0, 2, 1)) / 2
            for candidate in ((w / w.sum(), means, covariances), (weights, m, covariances),
                              (weights, means, c), (w / w.sum(), m, c)):
                assert expected_complete_log_likelihood(X, resp, candidate) <= top + 1e-9 * abs(top)


@given(fitting_problems(), st.integers(0, 2**32 - 1), st.floats(1e-6, 1.0))
def test_covariance_floor_adds_lambda_to_the_diagonal(problem, seed, floor):
    X, K, _ = problem
    resp = np.random.default_rng(seed).dirichlet(np.ones(K), size=X.shape[0])
    w0, m0, c0 = nd.m_step_nd(X, resp, covariance_floor=0.0)
    w1, m1, c1 = nd.m_step_nd(X, resp, covariance_floor=floor)
    np.testing.assert_array_equal(w0, w1)
    np.testing.assert_array_equal(m0, m1)
    np.testing.assert_allclose(c1, c0 + floor * np.eye(X.shape[1]), rtol=1e-12, atol=1e-14)
    assert (np.linalg.eigvalsh(c1) >= floor * (1 - 1e-9)).all()


def test_m_step_with_one_hot_resp_gives_group_statistics():
    X = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [10.0, 10.0], [12.0, 10.0]])
    resp = np.array([[1, 0], [1, 0], [1, 0], [0, 1], [0, 1]], dtype=float)
    weights, means, covariances = nd.m_step_nd(X, resp, covariance_floor=0.0)
    np.testing.assert_allclose(weights, [0.6, 0.4])
    np.testing.assert_allclose(means, [X[:3].mean(axis=0), X[3:].mean(axis=0)])
    np.testing.assert_allclose(covariances[0], np.cov(X[:3].T, bias=True))
    np.testing.assert_allclose(covariances[1], np.cov(X[3:].T, bias=True), atol=1e-15)


# --------------------------------------------------------------------------
# fit_em_nd: the fused loop.
# --------------------------------------------------------------------------


@given(fitting_problems())
def test_one_fused_iteration_equals_e_step_then_m_step(problem):
    X, K, seed = problem
    start = nd.init_random(X, K, seed=seed)
    fit = nd.fit_em_nd(X, K, init=start, tol=0.0, max_iter=1)
    weights, means, covariances = nd.m_step_nd(X, nd.e_step_nd(X, *start))
    np.testing.assert_allclose(fit.weights, weights, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fit.means, means, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(fit.covariances, covariances, rtol=1e-7, atol=1e-9)
    expected = nd.log_likelihood_nd(X, fit.weights, fit.means, fit.covariances)
    assert fit.log_likelihoods[0] == pytest.approx(expected, rel=1e-10, abs=1e-8)


def test_fit_em_nd_is_the_same_over_many_blocks_and_with_features_rebuilt(monkeypatch):
    """Block boundaries and the low-memory path (features rebuilt each sweep) change nothing."""
    X = datasets.old_faithful()
    start = nd.init_random(X, 3, seed=2)
    whole = nd.fit_em_nd(X, 3, init=start, tol=0.0, max_iter=10)
    monkeypatch.setattr(nd, "BLOCK_BYTES", 8 * 12 * 10)            # blocks of 256 rows: 2 blocks
    assert nd._block_rows(2, 3) == 256
    blocked = nd.fit_em_nd(X, 3, init=start, tol=0.0, max_iter=10)
    monkeypatch.setattr(nd, "MAX_FEATURE_BYTES", 0)
    rebuilt = nd.fit_em_nd(X, 3, init=start, tol=0.0, max_iter=10)
    for other in (blocked, rebuilt):
        np.testing.assert_allclose(other.log_likelihoods, whole.log_likelihoods, rtol=1e-13)
        np.testing.assert_allclose(other.covariances, whole.covariances, rtol=1e-10)


@given(fitting_problems(), st.sampled_from(["kmeans++", "random"]))
def test_fit_em_nd_log_likelihood_never_decreases(problem, init):
    """Exact EM (covariance_floor=0): the theorem of notebook 04, in d dimensions.

    The start comes from the (floored) initialisations; a run that then collapses raises
    ValueError without a floor, and such draws are discarded.
    """
    X, K, seed = problem
    start = {"kmeans++": nd.init_kmeans_pp, "random": nd.init_random}[init](X, K, seed=seed)
    try:
        fit = nd.fit_em_nd(X, K, init=start, tol=0.0, max_iter=30, covariance_floor=0.0)
    except ValueError as err:
        assert "collapsed" in str(err)
        reject()
    history = fit.log_likelihoods
    assert fit.n_iter == history.size == 30 and not fit.converged
    assert np.isfinite(history).all()
    assert (np.diff(history) >= -1e-9 * np.abs(history[1:])).all()


@pytest.mark.parametrize("K", [1, 2, 3, 4])
def test_fit_em_nd_with_the_default_floor_never_decreases_on_old_faithful(K):
    """With a floor the M-step is not the exact maximiser; at 1e-6 the difference is below rounding here."""
    X = datasets.old_faithful()
    for seed in range(3):
        history = nd.fit_em_nd(X, K, seed=seed, tol=0.0, max_iter=60).log_likelihoods
        assert (np.diff(history) >= -1e-9 * np.abs(history[1:])).all()


def test_fit_result_shapes_and_stopping():
    X = datasets.old_faithful()
    fit = nd.fit_em_nd(X, 2)
    assert dataclasses.is_dataclass(fit)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fit.n_iter = 0
    assert fit.weights.shape == (2,) and fit.means.shape == (2, 2) and fit.covariances.shape == (2, 2, 2)
    assert fit.converged and fit.n_iter == fit.log_likelihoods.size < 200
    # stopped by tol: the last increase per sample is below it, the one before is not
    steps = np.diff(fit.log_likelihoods) / X.shape[0]
    assert steps[-1] < 1e-6 and (steps[:-1] >= 1e-6).all()
    short = nd.fit_em_nd(X, 2, init="random", max_iter=2, tol=1e-12)
    assert not short.converged and short.n_iter == 2
    # the two clusters of Old Faithful: short eruptions (about 2 min) and long ones (about 4.3 min)
    np.testing.assert_allclose(np.sort(fit.means[:, 0]), [2.04, 4.29], atol=0.01)
    assert fit.log_likelihoods[-1] == pytest.approx(nd.log_likelihood_nd(X, fit.weights, fit.means, fit.covariances))


def test_fit_em_nd_in_one_dimension_agrees_with_the_1d_fit_em():
    x, _ = datasets.heights(500, seed=3)
    start = (np.array([0.5, 0.5]), np.array([150.0, 190.0]), np.array([100.0, 100.0]))
    weights, means, variances, history = mixture1d.fit_em(x, *start, 15)
    fit = nd.fit_em_nd(x[:, None], 2, init=(start[0], start[1][:, None], start[2][:, None, None]),
                     tol=0.0, max_iter=15, covariance_floor=0.0)
    np.testing.assert_allclose(fit.log_likelihoods, history, rtol=1e-12)
    np.testing.assert_allclose(fit.means[:, 0], means, rtol=1e-10)
    np.testing.assert_allclose(fit.covariances[:, 0, 0], variances, rtol=1e-9)


@pytest.mark.parametrize("d, K, n", [(2, 3, 400), (5, 3, 500)])
def test_fit_em_nd_agrees_with_sklearn_from_the_same_start(d, K, n):
    rng = np.random.default_rng(d)
    true = (np.full(K, 1.0 / K), rng.normal(0.0, 2.0, size=(K, d)),
            np.array([np.eye(d) + 0.3 * np.ones((d, d)) * rng.uniform() for _ in range(K)]))
    X = sample_mixture(n, *true, seed=d) * 3.0 + 40.0            # off the origin, other units
    start = nd.init_random(X, K, seed=1)
    n_iter, floor = 25, 1e-6
    fit = nd.fit_em_nd(X, K, init=start, tol=0.0, max_iter=n_iter, covariance_floor=floor)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk = sklearn_from(start, n_iter, floor).fit(X)
    assert fit.n_iter == sk.n_iter_ == n_iter
    # sklearn's lower_bounds_[t] is the mean log-likelihood at the start of its iteration t,
    # so lower_bounds_[1:] are our log_likelihoods[:-1]; the last one is its score
    np.testing.assert_allclose(fit.log_likelihoods[:-1], np.array(sk.lower_bounds_[1:]) * n, rtol=1e-8)
    assert fit.log_likelihoods[-1] == pytest.approx(sk.score(X) * n, rel=1e-8)
    np.testing.assert_allclose(fit.weights, sk.weights_, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(fit.means, sk.means_, rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(fit.covariances, sk.covariances_, rtol=1e-6, atol=1e-7)


def test_covariance_floor_keeps_a_component_collapsing_on_a_far_point_finite():
    """A component started on a lone far point shrinks onto it; the floor stops it at lambda I."""
    X = np.vstack([datasets.old_faithful(), [[30.0, 500.0]]])
    start = (np.array([0.5, 0.45, 0.05]), np.array([[2.0, 55.0], [4.5, 80.0], [30.0, 500.0]]),
             np.array([np.diag([0.1, 30.0]), np.diag([0.2, 40.0]), np.eye(2)]))
    floor = 1e-6
    fit = nd.fit_em_nd(X, 3, init=start, tol=0.0, max_iter=20, covariance_floor=floor)
    assert np.isfinite(fit.log_likelihoods).all()
    np.testing.assert_allclose(fit.means[2], [30.0, 500.0])
    np.testing.assert_allclose(fit.covariances[2], floor * np.eye(2), rtol=1e-6, atol=1e-12)
    assert fit.weights[2] == pytest.approx(1.0 / X.shape[0])
    # the lone point's own density (2 pi lambda)^-1 now dominates, and stays finite
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk = sklearn_from(start, 20, floor).fit(X)
    assert fit.log_likelihoods[-1] == pytest.approx(sk.score(X) * X.shape[0], rel=1e-10)
    assert fit.log_likelihoods[-1] == pytest.approx(
        nd.log_likelihood_nd(X, fit.weights, fit.means, fit.covariances), rel=1e-12)
    with pytest.raises(ValueError, match="covariances must be positive definite.*component 2.*collapsed"):
        nd.fit_em_nd(X, 3, init=start, tol=0.0, max_iter=20, covariance_floor=0.0)


def test_far_narrow_component_log_likelihood_is_exact():
    """A collapsed component 1e5 away from the rest: the fused sweep must not lose digits."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(200, 2)), [[1e5, 1e5]]])
    start = (np.array([0.9, 0.1]), np.array([[0.0, 0.0], [1e5, 1e5]]), np.array([np.eye(2), np.eye(2)]))
    fit = nd.fit_em_nd(X, 2, init=start, tol=0.0, max_iter=5)
    exact = [nd.log_likelihood_nd(X, fit.weights, fit.means, fit.covariances)]
    assert fit.log_likelihoods[-1] == pytest.approx(exact[0], rel=1e-12)
    np.testing.assert_allclose(fit.covariances[1], 1e-6 * np.eye(2), rtol=1e-6)


def test_tight_cluster_far_away_keeps_its_covariance_digits():
    """A cluster of spread 1e-3 at 1e4 from the rest: sum(gamma x x^T)/N - mu mu^T would lose
    about 8 of its 16 digits; the fit measures that spread again about the new mean."""
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(size=(100, 2)), 1e4 + 1e-3 * rng.normal(size=(20, 2))])
    start = (np.array([0.5, 0.5]), np.array([[0.0, 0.0], [1e4, 1e4]]), np.array([np.eye(2), np.eye(2)]))
    fit = nd.fit_em_nd(X, 2, init=start, tol=0.0, max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk = sklearn_from(start, 5, 1e-6).fit(X)
    np.testing.assert_allclose(fit.covariances, sk.covariances_, rtol=1e-9, atol=1e-15)
    # scikit-learn's own score() loses digits here (it whitens x and mu separately, then
    # subtracts), so both fits are evaluated the slow exact way, with SciPy
    def scipy_log_likelihood(weights, means, covariances):
        joint = [np.log(w) + multivariate_normal(m, c).logpdf(X) for w, m, c in zip(weights, means, covariances)]
        return logsumexp(np.stack(joint, axis=1), axis=1).sum()

    exact = scipy_log_likelihood(sk.weights_, sk.means_, sk.covariances_)
    assert fit.log_likelihoods[-1] == pytest.approx(exact, rel=1e-12)
    assert scipy_log_likelihood(fit.weights, fit.means, fit.covariances) == pytest.approx(exact, rel=1e-12)


# --------------------------------------------------------------------------
# Initialisation, k-means and BIC.
# --------------------------------------------------------------------------


def test_init_kmeans_pp_is_seeded_and_uses_data_points():
    X = datasets.old_faithful()
    first = nd.init_kmeans_pp(X, 3, seed=7)
    again = nd.init_kmeans_pp(X, 3, seed=7)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    weights, means, covariances = first
    assert all((X == m).all(axis=1).any() for m in means)
    assert len({tuple(m) for m in means}) == 3
    assert weights.sum() == pytest.approx(1.0) and (weights > 0).all()
    assert (np.linalg.eigvalsh(covariances) >= 1e-6 * (1 - 1e-9)).all()
    starts = {tuple(nd.init_kmeans_pp(X, 3, seed=s)[1].ravel()) for s in range(10)}
    assert len(starts) > 1


def test_init_kmeans_pp_samples_far_clusters_by_squared_distance():
    """With one tight cluster far away, D^2 sampling puts the second seed there (probability ~1 - 1e-8)."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(100, 2)), rng.normal(size=(5, 2)) + 1000.0])
    for seed in range(20):
        _, means, _ = nd.init_kmeans_pp(X, 2, seed=seed)
        assert sorted(np.linalg.norm(means, axis=1) > 500) == [False, True]


def test_init_random_is_seeded_distinct_and_shares_the_data_covariance():
    X = np.vstack([datasets.old_faithful(), datasets.old_faithful()[:50]])   # duplicated rows
    weights, means, covariances = nd.init_random(X, 4, seed=3)
    again = nd.init_random(X, 4, seed=3)
    np.testing.assert_array_equal(means, again[1])
    np.testing.assert_allclose(weights, 0.25)
    assert len({tuple(m) for m in means}) == 4
    assert all((X == m).all(axis=1).any() for m in means)
    shared = np.cov(X.T, bias=True) + 1e-6 * np.eye(2)
    np.testing.assert_allclose(covariances, np.repeat(shared[None], 4, axis=0))
    tiny = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]])                      # 2 distinct points
    assert len({tuple(m) for m in nd.init_random(tiny, 2, seed=0)[1]}) == 2


def test_kmeans_is_hard_em_seeded_by_kmeans_pp_and_agrees_with_sklearn():
    X = datasets.old_faithful()
    centres, labels, inertia = nd.kmeans(X, 3, seed=5)
    again = nd.kmeans(X, 3, seed=5)
    np.testing.assert_array_equal(centres, again[0])
    assert (np.diff(inertia) <= 1e-9 * inertia[:-1]).all()
    # labels are the nearest centres; inertia is the within-cluster sum of squares
    distances = ((X[:, None, :] - centres[None]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(labels, distances.argmin(axis=1))
    assert inertia[-1] == pytest.approx(distances.min(axis=1).sum())
    seeds = nd.init_kmeans_pp(X, 3, seed=5)[1]
    sk = KMeans(3, init=seeds, n_init=1, algorithm="lloyd", tol=0.0).fit(X)
    np.testing.assert_allclose(np.sort(centres, axis=0), np.sort(sk.cluster_centers_, axis=0), rtol=1e-10)
    assert inertia[-1] == pytest.approx(sk.inertia_, rel=1e-10)


def test_n_params_counts_weights_means_and_symmetric_covariances():
    assert nd.n_gmm_params(1, 1) == 2                      # a mean and a variance
    assert nd.n_gmm_params(2, 1) == 5                      # the heights model
    assert nd.n_gmm_params(2, 2) == 11                     # 1 + 4 + 2 * 3
    assert nd.n_gmm_params(4, 10) == 3 + 40 + 4 * 55
    assert isinstance(nd.n_gmm_params(np.int64(3), np.int64(2)), int)
    for K in range(1, 6):
        for d in range(1, 6):
            free_weights, means = K - 1, K * d
            upper_triangle = sum(1 for a in range(d) for b in range(d) if a <= b)
            assert nd.n_gmm_params(K, d) == free_weights + means + K * upper_triangle


def test_kmeans_step_by_hand():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [6.0, 5.0], [5.0, 6.0], [6.0, 6.0], [12.0, 0.0]])
    centres = np.array([[1.0, 1.0], [5.0, 5.0], [10.0, 1.0]])
    before = centres.copy()
    labels, new = nd.kmeans_step(X, centres)
    assert labels.tolist() == [0, 0, 0, 1, 1, 1, 2]
    np.testing.assert_allclose(new, [[1 / 3, 1 / 3], [17 / 3, 17 / 3], [12.0, 0.0]])
    np.testing.assert_array_equal(centres, before)                  # not modified
    assert new is not centres


def test_kmeans_step_keeps_an_empty_centre_and_breaks_ties_to_the_lower_index():
    X = np.array([[0.0, 0.0], [2.0, 0.0], [1.0, 5.0]])
    # [1, 0] is as far from [0, 0] as from [2, 0]: each point nearest; the far centre gets nothing
    labels, new = nd.kmeans_step(X, [[0.0, 0.0], [2.0, 0.0], [40.0, 40.0]])
    assert labels.tolist() == [0, 1, 0]
    np.testing.assert_array_equal(new[2], [40.0, 40.0])
    tie = np.array([[1.0, 0.0]])
    for centres in ([[0.0, 0.0], [2.0, 0.0]], [[2.0, 0.0], [0.0, 0.0]]):
        assert nd.kmeans_step(tie, centres)[0].tolist() == [0]       # the lower index, either way round
    labels, new = nd.kmeans_step(X, [[5.0, 5.0], [5.0, 5.0]])         # identical centres: all to 0
    assert labels.tolist() == [0, 0, 0]
    np.testing.assert_array_equal(new[1], [5.0, 5.0])


def test_kmeans_step_works_in_blocks_like_in_one_piece(monkeypatch):
    rng = np.random.default_rng(3)
    X, centres = rng.normal(size=(101, 3)), rng.normal(size=(4, 3))
    whole = nd.kmeans_step(X, centres)
    monkeypatch.setattr(nd, "_KMEANS_BLOCK_VALUES", 7 * 4 * 3)       # blocks of 7 rows
    blocks = nd.kmeans_step(X, centres)
    np.testing.assert_array_equal(whole[0], blocks[0])
    np.testing.assert_array_equal(whole[1], blocks[1])


@pytest.mark.parametrize("K, seed", [(2, 0), (3, 1), (4, 2), (6, 7)])
def test_kmeans_step_iterated_from_the_seeds_is_kmeans_exactly(K, seed):
    X = datasets.old_faithful()
    _, centres, _ = nd.init_kmeans_pp(X, K, seed=seed)
    labels = None
    for _ in range(100):
        new_labels, centres = nd.kmeans_step(X, centres)
        if labels is not None and np.array_equal(new_labels, labels):
            break
        labels = new_labels
    km_centres, km_labels, inertia = nd.kmeans(X, K, seed=seed)
    np.testing.assert_array_equal(centres, km_centres)
    np.testing.assert_array_equal(labels, km_labels)
    assert inertia.size >= 1


def test_kmeans_with_max_iter_returns_the_labels_of_the_centres_it_returns():
    X = datasets.old_faithful()
    for max_iter in (1, 2, 3):
        centres, labels, inertia = nd.kmeans(X, 4, seed=2, max_iter=max_iter)
        assert inertia.size <= max_iter
        np.testing.assert_array_equal(labels, nd.kmeans_step(X, centres)[0])
        assert inertia[-1] == pytest.approx(((X - centres[labels]) ** 2).sum(), rel=1e-12)


def test_bic_matches_its_formula_and_prefers_two_clusters_on_old_faithful():
    X = datasets.old_faithful()
    n = X.shape[0]
    fits = {K: nd.fit_em_nd(X, K, seed=0) for K in (1, 2)}
    for K, fit in fits.items():
        n_gmm_params = (K - 1) + 2 * K + 3 * K                         # weights, means, covariances (d = 2)
        expected = -2 * nd.log_likelihood_nd(X, fit.weights, fit.means, fit.covariances) + n_gmm_params * np.log(n)
        assert nd.bic(X, fit) == pytest.approx(expected, rel=1e-12)
        assert nd.bic(X, (fit.weights, fit.means, fit.covariances)) == pytest.approx(expected, rel=1e-12)
    assert nd.bic(X, fits[2]) < nd.bic(X, fits[1])


# --------------------------------------------------------------------------
# Validation: one bad input per test, the message names the parameter.
# --------------------------------------------------------------------------

GOOD_X = np.array([[0.0, 0.0], [1.0, 0.5], [2.0, 2.0], [3.0, 1.0]])
GOOD = (np.array([0.5, 0.5]), np.array([[0.0, 0.0], [2.0, 2.0]]), np.array([np.eye(2), np.eye(2)]))
GOOD_RESP = np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0], [0.3, 0.7]])


def with_param(index, value):
    params = list(GOOD)
    params[index] = value
    return tuple(params)


NOT_SYMMETRIC = np.array([np.eye(2), [[1.0, 0.5], [0.0, 1.0]]])
NOT_POSITIVE_DEFINITE = np.array([np.eye(2), [[1.0, 2.0], [2.0, 1.0]]])
NAN_X = GOOD_X.copy()
NAN_X[1, 1] = np.nan
INF_X = GOOD_X.copy()
INF_X[2, 0] = np.inf

BAD_CALLS = {
    "X 1-D": (lambda: nd.log_joint_nd(np.arange(4.0), *GOOD), r"X must be a 2-D array of shape \(n, d\).*reshape\(-1, 1\).*mixture1d"),
    "X 3-D": (lambda: nd.e_step_nd(np.zeros((2, 2, 2)), *GOOD), r"X must be a 2-D array.*\(2, 2, 2\)"),
    "X empty": (lambda: nd.log_likelihood_nd(np.zeros((0, 2)), *GOOD), r"X is empty.*\(0, 2\)"),
    "X no columns": (lambda: nd.fit_em_nd(np.zeros((3, 0)), 1), r"X has no columns.*\(3, 0\)"),
    "X NaN": (lambda: nd.log_joint_nd(NAN_X, *GOOD), r"X must be finite.*NaN or inf.*\(1, 1\)"),
    "X inf": (lambda: nd.fit_em_nd(INF_X, 2), r"X must be finite.*\(2, 0\)"),
    "X not numeric": (lambda: nd.fit_em_nd([["a", "b"]], 1), r"X must be numeric"),
    "weights negative": (lambda: nd.log_joint_nd(GOOD_X, *with_param(0, [1.5, -0.5])), r"weights must be non-negative.*-0.5"),
    "weights sum": (lambda: nd.e_step_nd(GOOD_X, *with_param(0, [0.5, 0.6])), r"weights must sum to 1.*1.1"),
    "weights NaN": (lambda: nd.e_step_nd(GOOD_X, *with_param(0, [np.nan, 0.5])), r"weights must be finite"),
    "means K mismatch": (lambda: nd.log_joint_nd(GOOD_X, *with_param(1, np.zeros((3, 2)))), r"means must have shape \(K, d\) = \(2, 2\).*\(3, 2\)"),
    "means d mismatch": (lambda: nd.log_joint_nd(GOOD_X, *with_param(1, np.zeros((2, 3)))), r"means must have shape \(K, d\) = \(2, 2\).*\(2, 3\)"),
    "means inf": (lambda: nd.log_joint_nd(GOOD_X, *with_param(1, [[0.0, np.inf], [0.0, 0.0]])), r"means must be finite"),
    "covariances shape": (lambda: nd.log_joint_nd(GOOD_X, *with_param(2, np.ones((2, 2)))), r"covariances must have shape \(K, d, d\) = \(2, 2, 2\).*\(2, 2\)"),
    "covariances NaN": (lambda: nd.log_joint_nd(GOOD_X, *with_param(2, np.full((2, 2, 2), np.nan))), r"covariances must be finite"),
    "covariances not symmetric": (lambda: nd.log_joint_nd(GOOD_X, *with_param(2, NOT_SYMMETRIC)), r"covariances must be symmetric.*component 1.*0.5"),
    "covariances not PD": (lambda: nd.log_likelihood_nd(GOOD_X, *with_param(2, NOT_POSITIVE_DEFINITE)), r"covariances must be positive definite.*component 1.*-1.0"),
    "resp 1-D": (lambda: nd.m_step_nd(GOOD_X, np.ones(4)), r"resp must be a 2-D array of shape \(n, K\) with n = 4.*\(4,\)"),
    "resp rows": (lambda: nd.m_step_nd(GOOD_X, GOOD_RESP[:3]), r"resp must have shape \(n, K\) = \(4, 2\).*\(3, 2\)"),
    "resp sum": (lambda: nd.m_step_nd(GOOD_X, GOOD_RESP * 0.9), r"each row of resp must sum to 1.*row 0 sums to .*0.9"),
    "resp negative": (lambda: nd.m_step_nd(GOOD_X, [[1.5, -0.5]] + GOOD_RESP[1:].tolist()), r"resp must be non-negative.*-0.5.*row 0"),
    "resp NaN": (lambda: nd.m_step_nd(GOOD_X, np.full((4, 2), np.nan)), r"resp must be finite"),
    "resp empty column": (lambda: nd.m_step_nd(GOOD_X, np.tile([1.0, 0.0], (4, 1))), r"resp gives component 1 no responsibility"),
    "covariance_floor negative": (lambda: nd.m_step_nd(GOOD_X, GOOD_RESP, covariance_floor=-1e-6), r"covariance_floor must be a finite number >= 0.*-1e-06"),
    "covariance_floor NaN": (lambda: nd.fit_em_nd(GOOD_X, 2, covariance_floor=np.nan), r"covariance_floor must be a finite number >= 0.*nan"),
    "K zero": (lambda: nd.fit_em_nd(GOOD_X, 0), r"K must be at least 1, got 0"),
    "K not int": (lambda: nd.init_random(GOOD_X, 2.0), r"K must be an integer, got 2.0"),
    "K too large": (lambda: nd.init_kmeans_pp(GOOD_X, 5), r"K must be at most the number of distinct samples in X \(4\), got K = 5"),
    "K mismatch with init": (lambda: nd.fit_em_nd(GOOD_X, 3, init=GOOD), r"init has 2 components.*K = 3"),
    "init unknown": (lambda: nd.fit_em_nd(GOOD_X, 2, init="kmeans"), r"init must be 'kmeans\+\+', 'random' or a tuple.*'kmeans'"),
    "init zero weight": (lambda: nd.fit_em_nd(GOOD_X, 2, init=with_param(0, [1.0, 0.0])), r"init weights must be strictly positive.*component 1"),
    "init d mismatch": (lambda: nd.fit_em_nd(GOOD_X[:, :1], 2, init=GOOD), r"means must have shape \(K, d\) = \(2, 1\).*\(2, 2\)"),
    "tol negative": (lambda: nd.fit_em_nd(GOOD_X, 2, tol=-1.0), r"tol must be a finite number >= 0.*-1.0"),
    "max_iter zero": (lambda: nd.fit_em_nd(GOOD_X, 2, max_iter=0), r"max_iter must be at least 1, got 0"),
    "seed negative": (lambda: nd.init_kmeans_pp(GOOD_X, 2, seed=-1), r"seed must be a non-negative integer.*-1"),
    "seed float": (lambda: nd.fit_em_nd(GOOD_X, 2, seed=0.5), r"seed must be a non-negative integer.*0.5"),
    "kmeans max_iter": (lambda: nd.kmeans(GOOD_X, 2, max_iter=0), r"max_iter must be at least 1, got 0"),
    "kmeans_step centres 1-D": (lambda: nd.kmeans_step(GOOD_X, [0.0, 1.0]), r"centres must be a 2-D array of shape \(K, d\) with K >= 1 and d = 2.*\(2,\)"),
    "kmeans_step centres d": (lambda: nd.kmeans_step(GOOD_X, np.zeros((2, 3))), r"centres must be a 2-D array of shape \(K, d\).*d = 2.*\(2, 3\)"),
    "kmeans_step no centres": (lambda: nd.kmeans_step(GOOD_X, np.zeros((0, 2))), r"centres must be a 2-D array.*\(0, 2\)"),
    "kmeans_step centres NaN": (lambda: nd.kmeans_step(GOOD_X, [[0.0, np.nan]]), r"centres must be finite"),
    "kmeans_step X 1-D": (lambda: nd.kmeans_step(np.arange(4.0), [[0.0]]), r"X must be a 2-D array of shape \(n, d\)"),
    "n_gmm_params K zero": (lambda: nd.n_gmm_params(0, 2), r"K must be at least 1, got 0"),
    "n_gmm_params d float": (lambda: nd.n_gmm_params(2, 1.5), r"d must be an integer, got 1.5"),
    "bic object": (lambda: nd.bic(GOOD_X, {"weights": GOOD[0]}), r"fit_or_params must be a MixtureFit or a tuple.*dict"),
    "bic params": (lambda: nd.bic(GOOD_X, with_param(2, NOT_POSITIVE_DEFINITE)), r"covariances must be positive definite"),
}


@pytest.mark.parametrize("case", sorted(BAD_CALLS))
def test_bad_input_raises_value_error_naming_the_parameter(case):
    call, message = BAD_CALLS[case]
    with pytest.raises(ValueError, match=message):
        call()


def test_good_inputs_of_the_validation_table_are_accepted():
    """The bad cases above differ from these good ones in one input only."""
    assert np.isfinite(nd.log_likelihood_nd(GOOD_X, *GOOD))
    nd.m_step_nd(GOOD_X, GOOD_RESP)
    assert nd.fit_em_nd(GOOD_X, 2, init=GOOD).n_iter >= 1


# Data close to a draw Hypothesis found: with covariance_floor=0 a component squeezes onto
# a line of points. Such a run must end in a "collapsed" ValueError (before the condition
# check, a nearly flat covariance let the likelihood oscillate, or surfaced as a bare
# "not positive definite" from a later step); with the default floor it fits.
_FLATTENING = np.array([
    [2.25867545e-01, 2.35030744e-02],
    [-1.85874812e-01, -1.85779689e+00],
    [-1.14431456e-01, 4.43817460e-01],
    [-2.52404546e-01, -4.21606850e-01],
    [-3.98062525e-02, 1.35211396e-01],
    [5.36647806e-02, 8.88431773e-02],
    [-1.63457152e-01, -3.24034084e-02],
    [1.95993868e-01, 3.73357786e-01],
    [-3.14766383e-01, 3.78480944e-01],
    [3.36468856e-01, 1.95327850e-01],
    [6.61139076e-02, -7.84807036e-02],
    [3.64505171e-01, 3.95102695e+00],
    [4.50408717e-01, 3.28775941e-01],
    [8.93451027e-02, -2.43544406e+00],
    [-1.11353328e-03, 1.64118734e-01],
    [-3.22090366e-01, 7.96393973e-01],
    [1.07465924e-01, 1.74010681e-01],
    [-2.96029492e-01, -1.65425643e-01],
    [-1.09108812e-01, -2.35781112e+00],
    [4.34841969e-01, -9.99540028e-01],
    [8.22424074e-02, -5.21169627e-01],
    [3.95868220e-01, 2.66127265e+00],
    [1.58338156e-01, -5.50877470e-01],
    [1.30072436e-02, 1.70921548e-01],
])


def test_a_component_squeezed_flat_without_a_floor_is_reported_as_a_collapse():
    start = nd.init_kmeans_pp(_FLATTENING, 2, seed=0)
    with pytest.raises(ValueError, match="collapsed onto too few points"):
        nd.fit_em_nd(_FLATTENING, 2, init=start, tol=0.0, max_iter=30, covariance_floor=0.0)
    floored = nd.fit_em_nd(_FLATTENING, 2, init=start, tol=0.0, max_iter=30)
    assert np.isfinite(floored.log_likelihoods).all()
