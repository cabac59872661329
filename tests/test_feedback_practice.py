"""Notebook 05's feedback: n_gmm_params and kmeans_step, their references and classic mistakes."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from em_lib import datasets
from em_lib import mixture_nd as mnd
from em_lib.feedback import practice as fb
from self_checks import SelfCheck, self_check_tests


# --------------------------------------------------------------------------
# n_gmm_params


@pytest.mark.parametrize("K, d, expected", [(1, 1, 2), (2, 1, 5), (2, 2, 11), (3, 2, 17), (4, 3, 39)])
def test_reference_n_gmm_params_counts_by_hand(K, d, expected):
    assert fb.reference_n_gmm_params(K, d) == expected


@given(st.integers(1, 6), st.integers(1, 4))
def test_reference_n_gmm_params_agrees_with_mixture_nd_bic(K, d):
    """mixture_nd.bic's penalty, recovered as (bic + 2 l) / log n, is the same count."""
    rng = np.random.default_rng(K * 10 + d)
    X = rng.normal(size=(40, d))
    weights = np.full(K, 1.0 / K)
    means = rng.normal(size=(K, d))
    covariances = np.repeat(np.eye(d)[None], K, axis=0)
    ll = mnd.log_likelihood_nd(X, weights, means, covariances)
    penalty = (mnd.bic(X, (weights, means, covariances)) + 2 * ll) / np.log(40)
    assert penalty == pytest.approx(fb.reference_n_gmm_params(K, d))


N_PARAMS_WRONG = [
    (lambda K, d: K + K * d + K * d * (d + 1) // 2, "only K - 1 are free"),
    (lambda K, d: (K - 1) + K * d + K * d * d, "symmetric"),
    (lambda K, d: (K - 1) + 2 * K * d, "diagonal covariance"),
    (lambda K, d: (K - 1) + K * d + d * (d + 1) // 2, "shared by all components"),
    (lambda K, d: (K - 1) + K * d, "leaves out the covariances"),
    (lambda K, d: (K - 1) + K * d + K * d * (d - 1) // 2, "above the diagonal"),
    (lambda K, d: K * d + K * d * (d + 1) // 2, "leaves out the mixing weights"),
]


def n_gmm_params_written_out(K, d):
    """A correct learner's version: K - 1 free weights, K means and K symmetric covariances."""
    return (K - 1) + K * d + K * d * (d + 1) // 2


# --------------------------------------------------------------------------
# kmeans_step


def kmeans_step_written_out(X, centres):
    """A correct learner's version, written independently of the reference."""
    X = np.asarray(X, float)
    d2 = (X**2).sum(1)[:, None] - 2 * X @ np.asarray(centres).T + (np.asarray(centres) ** 2).sum(1)
    labels = d2.argmin(axis=1)
    new = np.array(centres, dtype=float)
    for k in np.unique(labels):
        new[k] = X[labels == k].mean(axis=0)
    return labels, new


def _labels(X, centres):
    X, centres = np.asarray(X, float), np.asarray(centres, float)
    return ((X[:, None] - centres[None]) ** 2).sum(2).argmin(1)


def wrong_farthest(X, centres):
    X = np.asarray(X, float)
    labels = ((X[:, None] - np.asarray(centres)[None]) ** 2).sum(2).argmax(1)
    new = np.array(centres, dtype=float)
    for k in np.unique(labels):
        new[k] = X[labels == k].mean(axis=0)
    return labels, new


def wrong_no_m_step(X, centres):
    return _labels(X, centres), np.array(centres, dtype=float)


def wrong_nan_for_empty(X, centres):
    X = np.asarray(X, float)
    labels = _labels(X, centres)
    with np.errstate(all="ignore"):
        new = np.array([X[labels == k].mean(axis=0) if (labels == k).any() else np.full(X.shape[1], np.nan)
                        for k in range(len(centres))])
    return labels, new


def wrong_zero_for_empty(X, centres):
    X = np.asarray(X, float)
    labels = _labels(X, centres)
    new = np.zeros(np.shape(centres))
    for k in np.unique(labels):
        new[k] = X[labels == k].mean(axis=0)
    return labels, new


def wrong_sums(X, centres):
    X = np.asarray(X, float)
    labels = _labels(X, centres)
    new = np.array(centres, dtype=float)
    for k in np.unique(labels):
        new[k] = X[labels == k].sum(axis=0)
    return labels, new


def wrong_manhattan(X, centres):
    X = np.asarray(X, float)
    labels = np.abs(X[:, None] - np.asarray(centres)[None]).sum(2).argmin(1)
    new = np.array(centres, dtype=float)
    for k in np.unique(labels):
        new[k] = X[labels == k].mean(axis=0)
    return labels, new


def wrong_soft(X, centres):
    X = np.asarray(X, float)
    d2 = ((X[:, None] - np.asarray(centres)[None]) ** 2).sum(2)
    w = np.exp(-0.5 * (d2 - d2.min(1, keepdims=True)))
    w /= w.sum(1, keepdims=True)
    with np.errstate(all="ignore"):
        return d2.argmin(1), (w.T @ X) / w.sum(0)[:, None]


def wrong_order(X, centres):
    labels, new = kmeans_step_written_out(X, centres)
    return new, labels


def wrong_in_place(X, centres):
    X = np.asarray(X, float)
    labels = _labels(X, centres)
    for k in np.unique(labels):
        centres[k] = X[labels == k].mean(axis=0)
    return labels, centres


KMEANS_WRONG = [
    (wrong_farthest, "FARTHEST"),
    (wrong_no_m_step, "M-step is missing"),
    (wrong_nan_for_empty, "A new centre is NaN"),
    (wrong_zero_for_empty, "moved to 0"),
    (wrong_sums, "SUMS"),
    (wrong_manhattan, "Manhattan"),
    (wrong_soft, "soft weights"),
    (wrong_order, "wrong order"),
    (wrong_in_place, "in-place"),
]


# --------------------------------------------------------------------------
# The self-checks: each mistake named, correct code passed, the stub not written yet

SELF_CHECKS = {
    "n_gmm_params": SelfCheck(fb.self_check_n_gmm_params, N_PARAMS_WRONG,
                              (fb.reference_n_gmm_params, n_gmm_params_written_out), 4),
    "kmeans_step": SelfCheck(fb.self_check_kmeans_step, KMEANS_WRONG, (fb.reference_kmeans_step, kmeans_step_written_out), 4),
}

test_self_check_names_each_mistake, test_self_check_passes_correct_code, test_stub_is_not_written_yet = (
    self_check_tests(SELF_CHECKS))

def test_reference_kmeans_step_by_hand():
    X = fb.SMALL_X
    labels, centres = fb.reference_kmeans_step(X, [[1.0, 1.0], [5.0, 5.0], [10.0, 1.0]])
    assert labels.tolist() == [0, 0, 0, 1, 1, 1, 2]
    assert np.allclose(centres, [[1 / 3, 1 / 3], [17 / 3, 17 / 3], [12.0, 0.0]])
    labels, centres = fb.reference_kmeans_step(X, [[0.0, 0.0], [6.0, 6.0], [50.0, 50.0]])
    assert 2 not in labels
    assert centres[2].tolist() == [50.0, 50.0]


def test_iterated_reference_follows_mixture_nd_kmeans():
    """Started at mixture_nd's k-means++ seeds, the iterated step ends where mixture_nd.kmeans ends."""
    X = datasets.old_faithful()
    for K, seed in [(2, 0), (3, 1), (4, 2)]:
        _, centres, _ = mnd.init_kmeans_pp(X, K, seed=seed)
        labels = None
        for _ in range(100):
            new_labels, centres = fb.reference_kmeans_step(X, centres)
            if labels is not None and np.array_equal(new_labels, labels):
                break
            labels = new_labels
        ref_centres, ref_labels, _ = mnd.kmeans(X, K, seed=seed)
        assert np.array_equal(centres, ref_centres)          # bit for bit: kmeans iterates this step
        assert np.array_equal(labels, ref_labels)


@given(st.integers(0, 10_000), st.integers(1, 5))
def test_a_step_never_increases_the_within_cluster_sum_of_squares(seed, K):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(30, 2))
    centres = rng.normal(size=(K, 2)) * 2

    def inertia(labels, c):
        return ((X - c[labels]) ** 2).sum()

    labels, new = fb.reference_kmeans_step(X, centres)
    labels2, _ = fb.reference_kmeans_step(X, new)
    assert inertia(labels, new) <= inertia(labels, centres) + 1e-12
    assert inertia(labels2, new) <= inertia(labels, new) + 1e-12


def test_the_references_are_em_libs():
    assert fb.reference_n_gmm_params is mnd.n_gmm_params
    assert fb.reference_kmeans_step is mnd.kmeans_step


def kmeans_ties_to_the_higher_index(X, centres):
    X, centres = np.asarray(X, float), np.asarray(centres, float)
    labels = np.zeros(len(X), dtype=int)
    for i, point in enumerate(X):
        best = np.inf
        for k, centre in enumerate(centres):
            distance = np.sum((point - centre) ** 2)
            if distance <= best:
                best, labels[i] = distance, k
    new = centres.copy()
    for k in range(len(centres)):
        if np.any(labels == k):
            new[k] = X[labels == k].mean(axis=0)
    return labels, new


def test_ties_to_the_higher_index_are_named_and_need_a_tie():
    X = fb.SMALL_X
    with pytest.raises(AssertionError, match="went to the HIGHER index"):
        fb.check_kmeans_step.verdict(kmeans_ties_to_the_higher_index, X, [[6.0, 0.0], [0.0, 6.0]])   # (0, 0) and (6, 6): ties
    assert fb.check_kmeans_step.verdict(kmeans_ties_to_the_higher_index, X, [[1.0, 1.0], [5.0, 5.0], [10.0, 1.0]]).endswith("correct")
