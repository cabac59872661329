r"""Feedback for notebook 05: ``n_gmm_params`` and ``kmeans_step``.

The references are em_lib's own, and the notebook uses them after the exercises:

- :func:`em_lib.mixture_nd.n_gmm_params` counts the free parameters of a K-component
  Gaussian mixture with full covariances in d dimensions, the :math:`n_{\mathrm{par}}` of
  :func:`em_lib.mixture_nd.bic`;
- :func:`em_lib.mixture_nd.kmeans_step` is one iteration of k-means, the "hard" EM of
  notebook 05: a hard E-step (each point to its nearest centre) and an M-step
  (each centre to the mean of its points). Iterated from the same centres it
  follows the same path as :func:`em_lib.mixture_nd.kmeans`.

``reference_n_gmm_params`` and ``reference_kmeans_step`` are the same functions
under the exercises' names.

Each classic mistake is written out as the wrong function it describes; a
learner's answer that matches one gets that mistake named in words.
"""

import numpy as np

from .. import datasets as _datasets
from ..mixture_nd import kmeans_step as reference_kmeans_step
from ..mixture_nd import n_gmm_params as reference_n_gmm_params
from .core import Misconception, Mistake, as_real_array, changed_in_place, check, graded, run_self_check

# --------------------------------------------------------------------------
# n_gmm_params
# --------------------------------------------------------------------------


N_PARAMS_MISTAKES = (
    Mistake(
        "k_free_weights",
        "It counts K free weights. The weights must add up to 1, so once K - 1 of them are "
        "chosen the last one is fixed: only K - 1 are free.",
        lambda K, d: K + K * d + K * d * (d + 1) // 2,
    ),
    Mistake(
        "full_square_covariance",
        "It counts d * d entries per covariance. A covariance matrix is symmetric "
        "(Sigma[a, b] = Sigma[b, a]), so only the d(d+1)/2 entries on and above the diagonal are free.",
        lambda K, d: (K - 1) + K * d + K * d * d,
    ),
    Mistake(
        "diagonal_covariance_only",
        "It counts only the d variances of each covariance (a diagonal covariance). The mixture of "
        "this notebook has full covariances: d variances and d(d-1)/2 covariances, d(d+1)/2 in all.",
        lambda K, d: (K - 1) + K * d + K * d,
    ),
    Mistake(
        "one_shared_covariance",
        "It counts one covariance shared by all components. Each of the K components has its own "
        "covariance, K d(d+1)/2 numbers.",
        lambda K, d: (K - 1) + K * d + d * (d + 1) // 2,
    ),
    Mistake(
        "covariances_left_out",
        "It leaves out the covariances: each component also has a d x d covariance with "
        "d(d+1)/2 free entries.",
        lambda K, d: (K - 1) + K * d,
    ),
    Mistake(
        "variances_left_out",
        "It counts only the d(d-1)/2 covariances above the diagonal: the d variances on the "
        "diagonal of each covariance matrix are free parameters too, d(d+1)/2 entries in all "
        "(on and above the diagonal).",
        lambda K, d: (K - 1) + K * d + K * d * (d - 1) // 2,
    ),
    Mistake(
        "mixing_weights_left_out",
        "It leaves out the mixing weights: K - 1 of them are free parameters too.",
        lambda K, d: K * d + K * d * (d + 1) // 2,
    ),
)


@graded
def check_n_gmm_params(fn, K, d):
    """Compare ``fn(K, d)`` with :func:`reference_n_gmm_params`; explain a classic mistake."""
    return check(fn, dict(K=K, d=d), reference_n_gmm_params, N_PARAMS_MISTAKES, what=f"n_gmm_params(K={K}, d={d})")


def self_check_n_gmm_params(fn):
    """The visible self-check of notebook 05's Exercise 5.2: one line per check."""
    run_self_check(
        [
            ("one Gaussian on a line (K=1, d=1): a mean and a variance",
             lambda: check_n_gmm_params.verdict(fn, 1, 1)),
            ("the heights model (K=2, d=1)", lambda: check_n_gmm_params.verdict(fn, 2, 1)),
            ("Old Faithful with two components (K=2, d=2)", lambda: check_n_gmm_params.verdict(fn, 2, 2)),
            ("K=4 components in d=3 dimensions", lambda: check_n_gmm_params.verdict(fn, 4, 3)),
        ]
    )


# --------------------------------------------------------------------------
# kmeans_step
# --------------------------------------------------------------------------


def _squared_distances(X, centres):
    """(n, K) squared Euclidean distances, computed as plain differences (no cancellation)."""
    return ((X[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)


def _farthest(X, centres):
    X, centres = np.asarray(X, float), np.asarray(centres, float)
    labels = np.argmax(_squared_distances(X, centres), axis=1)
    return labels, _means_or_keep(X, labels, centres)


def _means_or_keep(X, labels, centres):
    out = centres.copy()
    for k in range(centres.shape[0]):
        if (labels == k).any():
            out[k] = X[labels == k].mean(axis=0)
    return out


def _centres_not_moved(X, centres):
    labels, _ = reference_kmeans_step(X, centres)
    return labels, np.asarray(centres, dtype=float).copy()


def _empty_gives_nan(X, centres):
    X, centres = np.asarray(X, float), np.asarray(centres, float)
    labels = np.argmin(_squared_distances(X, centres), axis=1)
    with np.errstate(all="ignore"):
        new = np.array([X[labels == k].sum(axis=0) / (labels == k).sum() for k in range(len(centres))])
    return labels, new


def _empty_gives_zero(X, centres):
    labels, new = _empty_gives_nan(X, centres)
    return labels, np.nan_to_num(new, nan=0.0)


def _sums(X, centres):
    X, centres = np.asarray(X, float), np.asarray(centres, float)
    labels = np.argmin(_squared_distances(X, centres), axis=1)
    new = centres.copy()
    for k in range(len(centres)):
        if (labels == k).any():
            new[k] = X[labels == k].sum(axis=0)
    return labels, new


def _manhattan(X, centres):
    X, centres = np.asarray(X, float), np.asarray(centres, float)
    labels = np.argmin(np.abs(X[:, None, :] - centres[None]).sum(axis=2), axis=1)
    return labels, _means_or_keep(X, labels, centres)


def _soft(X, centres):
    X, centres = np.asarray(X, float), np.asarray(centres, float)
    d2 = _squared_distances(X, centres)
    labels = np.argmin(d2, axis=1)
    logits = -0.5 * (d2 - d2.min(axis=1, keepdims=True))
    resp = np.exp(logits)
    resp /= resp.sum(axis=1, keepdims=True)
    with np.errstate(all="ignore"):
        return labels, resp.T @ X / resp.sum(axis=0)[:, None]


def _ties_to_the_higher_index(X, centres):
    X, centres = np.asarray(X, float), np.asarray(centres, float)
    squared = _squared_distances(X, centres)
    labels = squared.shape[1] - 1 - np.argmin(squared[:, ::-1], axis=1)   # the LAST nearest centre
    return labels, _means_or_keep(X, labels, centres)


def _swapped_outputs(X, centres):
    labels, new = reference_kmeans_step(X, centres)
    return new, labels


#: Named by ``check_kmeans_step`` itself, before the comparison (NaN matches nothing).
EMPTY_CENTRE_NAN = Misconception(
    "empty_centre_nan",
    "A new centre is NaN: the mean of no points (0/0), for a centre that received no point. "
    "By the contract such a centre stays where it was.",
)
#: Named by ``check_kmeans_step`` itself, when the learner's function updated ``centres`` in place.
CENTRES_CHANGED_IN_PLACE = Misconception(
    "centres_changed_in_place",
    "kmeans_step changed the centres array it was given (an in-place update); "
    "build the new centres in a new array, e.g. centres.copy()",
)

KMEANS_MISTAKES = (
    Mistake(
        "farthest_centre",
        "Each point went to its FARTHEST centre (argmax). The hard E-step gives each point to the "
        "nearest centre: np.argmin of the distances over the centres.",
        _farthest,
    ),
    Mistake(
        "centres_not_moved",
        "The labels are right but the centres did not move: the M-step is missing. Each new centre "
        "is the mean of the points labelled with it.",
        _centres_not_moved,
    ),
    Mistake(
        "empty_centre_moved_to_zero",
        "A centre that received no point was moved to 0. By the contract it stays where it was.",
        _empty_gives_zero,
    ),
    Mistake(
        "centres_are_sums",
        "The new centres are the SUMS of their points, not their means: divide by how many points "
        "each centre received.",
        _sums,
    ),
    Mistake(
        "manhattan_distance",
        "The labels come from the Manhattan distance sum_j |x_j - c_j|. k-means uses the squared "
        "Euclidean distance: it is what is left of log N(x; c, sigma^2 I) when all the Gaussians "
        "share one spherical covariance.",
        _manhattan,
    ),
    Mistake(
        "soft_assignment",
        "The centres were moved with soft weights (a softmax of minus the distances), which is EM "
        "with spherical unit-variance Gaussians. k-means is the HARD version: each point counts "
        "fully (weight 1) for its nearest centre and not at all (0) for the others.",
        _soft,
    ),
    Mistake(
        "ties_to_higher_index",
        "A point exactly as far from two centres went to the HIGHER index (a loop with <= keeps "
        "the last nearest centre). The contract breaks ties to the lower index, as np.argmin "
        "does: use np.argmin, or a strict < in a loop.",
        _ties_to_the_higher_index,
    ),
    Mistake(
        "outputs_swapped",
        "The two results came back in the wrong order: return (labels, new_centres).",
        _swapped_outputs,
    ),
)


@graded
def check_kmeans_step(fn, X, centres):
    """Compare ``fn(X, centres)`` with :func:`reference_kmeans_step`; explain a classic mistake."""
    X = np.array(X, dtype=float)
    centres = np.array(centres, dtype=float)
    kwargs = dict(X=X, centres=centres)
    what = f"kmeans_step(X of shape {X.shape}, centres of shape {centres.shape})"
    given = centres.copy()

    def guarded(X, centres):
        result = fn(X=X, centres=centres)
        if changed_in_place(fn, "centres", centres, given):
            raise CENTRES_CHANGED_IN_PLACE.named_in(CENTRES_CHANGED_IN_PLACE.explanation)
        if isinstance(result, (tuple, list)) and len(result) == 2:
            new = as_real_array(result[1])
            if new is not None and new.ndim == 2 and np.isnan(new).any():
                raise EMPTY_CENTRE_NAN.found(what)
        return result

    guarded.__name__ = getattr(fn, "__name__", "kmeans_step")
    return check(guarded, kwargs, reference_kmeans_step, KMEANS_MISTAKES, what=what)


#: A small hand-made example: two clear groups of three points and a far point.
SMALL_X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [6.0, 5.0], [5.0, 6.0], [6.0, 6.0], [12.0, 0.0]])


def self_check_kmeans_step(fn):
    """The visible self-check of notebook 05's Exercise 5.3: one line per check."""
    faithful = _datasets.old_faithful()
    run_self_check(
        [
            ("seven points in the plane, three centres",
             lambda: check_kmeans_step.verdict(fn, SMALL_X, [[1.0, 1.0], [5.0, 5.0], [10.0, 1.0]])),
            ("a centre far from every point keeps its place",
             lambda: check_kmeans_step.verdict(fn, SMALL_X, [[0.0, 0.0], [6.0, 6.0], [50.0, 50.0]])),
            ("Old Faithful, two centres",
             lambda: check_kmeans_step.verdict(fn, faithful, [[2.0, 55.0], [4.5, 80.0]])),
            ("Old Faithful, four centres",
             lambda: check_kmeans_step.verdict(fn, faithful, faithful[[0, 1, 2, 3]])),
        ]
    )
