r"""Figures of notebook 05 for two-dimensional mixtures: data, component ellipses, partitions.

The ellipse of a component at "c standard deviations" is the set of points at
Mahalanobis distance c from its mean, :math:`(x-\mu)^\top\Sigma^{-1}(x-\mu) = c^2`.
With the eigen-decomposition :math:`\Sigma = U\Lambda U^\top` its semi-axes point
along the eigenvectors (the columns of U) and have lengths :math:`c\sqrt{\lambda_j}`.

Every ``plot_*`` function returns ``(fig, data)``, ``data`` holding the numbers drawn.
"""

import numpy as np
from matplotlib.patches import Ellipse

from ..mixture_nd import e_step_nd
from ._common import figure_and_axes

#: One colour per component, in component order.
COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:olive")


def ellipse_axes(covariance, n_std=1.0):
    """``(radii, angle)`` of the n_std-standard-deviation ellipse of a (2, 2) covariance.

    ``radii`` (2,) are the semi-axes, largest first: ``n_std * sqrt(eigenvalues)``;
    ``angle`` is the direction of the largest, in degrees from the x-axis, in (-90, 90].
    """
    covariance = np.asarray(covariance, dtype=float)
    if covariance.shape != (2, 2):
        raise ValueError(f"covariance must have shape (2, 2), got {covariance.shape}")
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)      # ascending
    radii = n_std * np.sqrt(eigenvalues[::-1])
    major = eigenvectors[:, 1]
    angle = float(np.degrees(np.arctan2(major[1], major[0])))
    if angle <= -90:
        angle += 180
    elif angle > 90:
        angle -= 180
    return radii, angle


def plot_mixture_2d(X, weights, means, covariances, n_stds=(1, 2), ax=None, title=None,
                    xlabel="eruption duration (min)", ylabel="waiting time (min)", colour_points=True):
    """The data, each component's mean and its ellipses at ``n_stds`` standard deviations.

    With ``colour_points`` each point takes the colour of its most responsible
    component. Returns ``(fig, data)`` with ``means`` (K, 2), ``radii``
    (K, len(n_stds), 2) the semi-axes drawn, ``angles`` (K,) in degrees,
    ``n_stds``, and ``labels`` (n,) the colour index of each point (-1 if grey).
    """
    X = np.asarray(X, dtype=float)
    weights, means, covariances = (np.asarray(a, dtype=float) for a in (weights, means, covariances))
    K = weights.size
    if colour_points:
        labels = _most_responsible(X, weights, means, covariances)
    else:
        labels = np.full(X.shape[0], -1)
    fig, ax = figure_and_axes(ax, (5.8, 4.6))
    point_colours = np.array([COLOURS[k % len(COLOURS)] if k >= 0 else "0.6" for k in labels])
    ax.scatter(X[:, 0], X[:, 1], s=10, c=point_colours, alpha=0.55, linewidths=0)
    radii = np.empty((K, len(n_stds), 2))
    angles = np.empty(K)
    for k in range(K):
        colour = COLOURS[k % len(COLOURS)]
        for j, c in enumerate(n_stds):
            r, angle = ellipse_axes(covariances[k], c)
            radii[k, j], angles[k] = r, angle
            ax.add_patch(Ellipse(means[k], 2 * r[0], 2 * r[1], angle=angle, fill=False, color=colour,
                                 lw=2.0 if j == 0 else 1.2, ls="-" if j == 0 else "--"))
        ax.plot(*means[k], "X", color=colour, ms=10, mec="black",
                label=rf"$k={k}$: $\pi_k$ = {weights[k]:.2f}")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title or f"Mixture of {K} Gaussians")
    ax.legend(loc="upper left", fontsize=8)
    ax.autoscale_view()
    data = {"means": means, "radii": radii, "angles": angles, "n_stds": tuple(n_stds), "labels": labels}
    return fig, data


def plot_partition(X, labels, centres, ax=None, title=None,
                   xlabel="eruption duration (min)", ylabel="waiting time (min)"):
    """Points coloured by their k-means label, and the centres.

    Returns ``(fig, data)`` with ``labels`` (n,), ``centres`` (K, 2) and
    ``counts`` (K,), the number of points of each centre.
    """
    X = np.asarray(X, dtype=float)
    labels = np.asarray(labels)
    centres = np.asarray(centres, dtype=float)
    fig, ax = figure_and_axes(ax, (5.8, 4.6))
    counts = np.bincount(labels, minlength=centres.shape[0])
    for k, centre in enumerate(centres):
        colour = COLOURS[k % len(COLOURS)]
        mine = labels == k
        ax.scatter(X[mine, 0], X[mine, 1], s=10, color=colour, alpha=0.55, linewidths=0)
        ax.plot(*centre, "X", color=colour, ms=11, mec="black", label=f"centre {k}: {counts[k]} points")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title or f"k-means with K = {centres.shape[0]}")
    ax.legend(loc="upper left", fontsize=8)
    return fig, {"labels": labels, "centres": centres, "counts": counts}


def _most_responsible(X, weights, means, covariances):
    """(n,) index of each point's most responsible component (the hard label of the posterior)."""
    return e_step_nd(X, weights, means, covariances).argmax(axis=1)
