r"""Figures of notebook 06: the likelihood of the coin models and EM's path on it.

Every ``plot_*`` function returns ``(fig, data)``, ``data`` holding the numbers
drawn. The two log-likelihoods below are the marginal (incomplete-data)
log-likelihoods of the observed tosses, the hidden coin summed out:

.. math::
    \ell(\theta_A, \theta_B) = \sum_j \log\Big(\tfrac12\theta_A^{h_j}(1-\theta_A)^{n_j-h_j}
    + \tfrac12\theta_B^{h_j}(1-\theta_B)^{n_j-h_j}\Big)

for the two coins (the sequences are observed, so no binomial coefficient), and
:math:`\ell(\pi,p,q) = \sum_j \log\big(\pi p^{y_j}(1-p)^{1-y_j} + (1-\pi)q^{y_j}(1-q)^{1-y_j}\big)`
for the three coins: :func:`em_lib.coins.two_coins_log_likelihood` and
:func:`em_lib.coins.three_coins_log_likelihood`.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import BoundaryNorm

from .. import coins as _coins
from ._common import figure_and_axes


def two_coins_em_path(heads, n_tosses, theta_a, theta_b, n_iter):
    """(n_iter + 1, 2) array of EM's iterates ``(theta_a, theta_b)``, the start first.

    Each row after the first is one more iteration of :func:`em_lib.two_coins_em`.
    """
    path = [(float(theta_a), float(theta_b))]
    for _ in range(n_iter):
        path.append(_coins.two_coins_em(heads, n_tosses, *path[-1], 1))
    return np.array(path)


def plot_expected_counts(heads, n_tosses, theta_a, theta_b, ax=None):
    r"""Do and Batzoglou's table of one E-step, drawn: each set's heads and tails split between the coins.

    Set j goes to coin A with weight :math:`w_j = P(z_j = A \mid h_j; \theta)`
    (:func:`em_lib.coins.two_coins_posterior_a`, notebook 06 eq. 6.1) and to coin B with
    :math:`1 - w_j`, so coin A is credited with :math:`w_j h_j` expected heads and
    :math:`w_j (n_j - h_j)` expected tails, coin B with the rest. The M-step (eq. 6.2)
    divides each coin's total expected heads by its total expected tosses.

    Two panels, coin A and coin B, one bar per set (heads dark, tails light), the
    totals in each title. Returns ``(fig, data)`` with ``posterior_a`` (m,),
    ``expected`` (m, 4) whose columns are A heads, A tails, B heads, B tails,
    ``totals`` (4,) their sums, and ``theta`` (2,): the M-step's new
    :math:`(\theta_A, \theta_B)`.
    """
    heads = np.asarray(heads, dtype=float)
    n_tosses = np.broadcast_to(np.asarray(n_tosses, dtype=float), heads.shape)
    w = _coins.two_coins_posterior_a(heads, n_tosses, theta_a, theta_b)
    tails = n_tosses - heads
    expected = np.stack([w * heads, w * tails, (1 - w) * heads, (1 - w) * tails], axis=1)
    totals = expected.sum(axis=0)
    theta = np.array([totals[0] / (totals[0] + totals[1]), totals[2] / (totals[2] + totals[3])])

    if ax is None:
        fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.2), sharey=True, layout="constrained")
    else:
        axes = ax
        fig = axes[0].figure
    rows = np.arange(heads.size)
    for panel, coin, col, colour in zip(axes, "AB", (0, 2), ("tab:red", "tab:blue")):
        h, t = expected[:, col], expected[:, col + 1]
        panel.barh(rows, h, color=colour, label="expected heads")
        panel.barh(rows, t, left=h, color=colour, alpha=0.35, label="expected tails")
        for j in rows:
            panel.text(h[j] + t[j] + 0.15, j, f"{h[j]:.1f} H, {t[j]:.1f} T", va="center", fontsize=8)
        total_h, total_t = totals[col], totals[col + 1]
        panel.set(xlim=(0, n_tosses.max() * 1.45), xlabel="expected tosses credited to the coin",
                  title=(rf"coin {coin}: {total_h:.1f} H, {total_t:.1f} T, "
                         rf"$\theta_{coin}$ = {total_h:.1f} / {total_h + total_t:.1f} = {theta[col // 2]:.2f}"))
        panel.title.set_fontsize(10)
        panel.legend(loc="lower right", fontsize=8)
    axes[0].set_yticks(rows, [f"set {j}: {int(h)} H" for j, h in enumerate(heads)])
    axes[0].invert_yaxis()
    data = {"posterior_a": w, "expected": expected, "totals": totals, "theta": theta}
    return fig, data


#: How far below its maximum each contour of :func:`plot_two_coins_surface` lies. Dense near
#: the top, where the two maxima and the saddle between them differ by less than 0.5,
#: sparse far down, where the likelihood drops by tens.
SURFACE_DEPTHS = (60, 40, 25, 15, 10, 6, 4, 2.5, 1.5, 1.0, 0.5, 0.25, 0.1)


def plot_two_coins_surface(heads, n_tosses, start, n_iter=10, grid_size=199, ax=None):
    r"""Contours of the two-coin log-likelihood over (theta_A, theta_B), with EM's path from ``start``.

    The colours show :math:`\ell - \max\ell`, how far each point lies below the best
    grid point, in the bands of ``SURFACE_DEPTHS``; every band has a colour of its own
    (equally spaced along the colour map, not in proportion to its depth), so the
    neighbourhood of the maximum, where the bands are narrow, stays readable.

    Returns ``(fig, data)`` with ``theta`` (the (grid_size,) grid on each axis),
    ``log_likelihood`` (grid_size, grid_size; rows theta_B, columns theta_A),
    ``levels`` the contour levels of the log-likelihood (ascending),
    ``path`` (n_iter + 1, 2) and ``path_log_likelihood`` (n_iter + 1,), and
    ``grid_maximum``: the (theta_A, theta_B) of the best grid point, and ``mirror``:
    EM's end point with the two coins relabelled, an equally high point.
    """
    theta = np.linspace(0.005, 0.995, grid_size)
    ta, tb = np.meshgrid(theta, theta)
    surface = _coins.two_coins_log_likelihood(heads, n_tosses, ta, tb)
    path = two_coins_em_path(heads, n_tosses, start[0], start[1], n_iter)
    path_ll = _coins.two_coins_log_likelihood(heads, n_tosses, path[:, 0], path[:, 1])
    best = np.unravel_index(np.argmax(surface), surface.shape)

    fig, ax = figure_and_axes(ax, (5.6, 5.0))
    top = surface.max()
    depths = -np.array(SURFACE_DEPTHS, dtype=float)                 # ascending: -60 .. -0.1
    bounds = np.append(depths, 1e-9)                                  # the last band reaches the top
    cmap = plt.get_cmap("viridis")
    norm = BoundaryNorm(bounds, cmap.N, extend="min")
    cs = ax.contourf(ta, tb, surface - top, levels=bounds, cmap=cmap, norm=norm, extend="min")
    ax.contour(ta, tb, surface - top, levels=depths, colors="black", linewidths=0.4, alpha=0.35)
    bar = fig.colorbar(cs, ax=ax, shrink=0.8, spacing="uniform",
                       label=rf"$\ell(\theta_A, \theta_B) - \max\ell$  (max $\ell$ = {top:.2f})")
    bar.set_ticks(depths)
    bar.set_ticklabels([f"{v:g}" for v in depths])
    bar.ax.tick_params(labelsize=8)
    ax.plot(path[:, 0], path[:, 1], "-o", color="white", ms=3.5, lw=1.2, label="EM iterates")
    ax.plot(*path[0], "s", color="tab:orange", ms=8, label=f"start ({path[0, 0]:.2f}, {path[0, 1]:.2f})")
    ax.plot(*path[-1], "*", color="tab:red", ms=13,
            label=f"after {n_iter} iterations ({path[-1, 0]:.2f}, {path[-1, 1]:.2f})")
    mirror = path[-1, ::-1]
    ax.plot(*mirror, "*", color="tab:red", ms=13, mfc="none",
            label="the same fit, coins relabelled")
    ax.plot([0, 1], [0, 1], ":", color="0.85", lw=1)
    ax.set(xlabel=r"$\theta_A$", ylabel=r"$\theta_B$", xlim=(0, 1), ylim=(0, 1), aspect="equal",
           title="Two coins: log-likelihood and the EM path")
    ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
    data = {
        "theta": theta,
        "log_likelihood": surface,
        "path": path,
        "levels": top + depths,
        "path_log_likelihood": path_ll,
        "grid_maximum": (float(ta[best]), float(tb[best])),
        "mirror": (float(mirror[0]), float(mirror[1])),
    }
    return fig, data


def plot_log_likelihood_per_iteration(log_likelihoods, label=None, ax=None, title=None):
    r"""The marginal log-likelihood :math:`\ell(\theta^{(t)})` against the iteration t.

    ``log_likelihoods`` (T,) starts with the value at the start (t = 0). Returns
    ``(fig, data)`` with ``iteration`` (T,) and ``log_likelihood`` (T,).
    """
    values = np.asarray(log_likelihoods, dtype=float)
    iteration = np.arange(values.size)
    fig, ax = figure_and_axes(ax, (5.6, 3.4))
    ax.plot(iteration, values, "-o", ms=4, label=label)
    ax.set(xlabel="iteration t", ylabel=r"$\ell(\theta^{(t)})$",
           title=title or "The log-likelihood never decreases")
    ax.set_xticks(iteration if iteration.size <= 15 else iteration[:: max(1, iteration.size // 10)])
    if label:
        ax.legend()
    return fig, {"iteration": iteration, "log_likelihood": values}


def plot_three_coins_starts(y, starts, n_iter=5, ax=None):
    r"""Where EM goes in Li Hang's three-coin model from each of several starts.

    Left: the log-likelihood :math:`\ell(\theta^{(t)})` against the iteration t, one line
    per start. Right: the start (p, q) and the fitted (p, q) of every start, joined by a
    line, the fit coloured by its fitted pi. The figure shows what happens; why is
    Exercise 6.3 of notebook 06.

    Returns ``(fig, data)`` with ``starts`` (S, 3), ``fits`` (S, 3), ``paths``
    (S, n_iter + 1, 3) every iterate (the start first), ``log_likelihood_paths``
    (S, n_iter + 1) the log-likelihood at each iterate, ``log_likelihood`` (S,) at the
    fits, and ``p_heads`` (S,) the fitted P(y = 1) = pi p + (1 - pi) q.
    """
    starts = np.asarray(starts, dtype=float)
    paths = np.empty((starts.shape[0], n_iter + 1, 3))
    for s, start in enumerate(starts):
        paths[s, 0] = start
        for t in range(n_iter):
            paths[s, t + 1] = _coins.three_coins_em(y, *paths[s, t], 1)
    fits = paths[:, -1]
    p_heads = fits[:, 0] * fits[:, 1] + (1 - fits[:, 0]) * fits[:, 2]
    path_ll = _coins.three_coins_log_likelihood(y, paths[..., 0], paths[..., 1], paths[..., 2])
    fit_ll = path_ll[:, -1]

    if ax is None:
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained")
    else:
        left, right = ax
        fig = left.figure
    iteration = np.arange(n_iter + 1)
    for s in range(starts.shape[0]):
        left.plot(iteration, path_ll[s], "-o", color="tab:blue", alpha=0.35, ms=3, lw=1)
    left.set(xlabel="iteration t", ylabel=r"$\ell(\pi, p, q)$ at iterate t",
             title=f"Log-likelihood per iteration, {starts.shape[0]} starts")
    left.set_xticks(iteration)
    for s, f in zip(starts, fits):
        right.plot([s[1], f[1]], [s[2], f[2]], color="0.8", lw=0.8, zorder=1)
    right.plot(starts[:, 1], starts[:, 2], ".", color="0.6", ms=4, label="starts (p, q)", zorder=2)
    sc = right.scatter(fits[:, 1], fits[:, 2], c=fits[:, 0], cmap="plasma", vmin=0, vmax=1, s=28,
                       zorder=3, label=f"after {n_iter} iterations (p, q)")
    fig.colorbar(sc, ax=right, label=r"fitted $\pi$")
    right.set(xlabel="p (coin B)", ylabel="q (coin C)", xlim=(0, 1), ylim=(0, 1), aspect="equal",
              title="Where the starts end")
    right.legend(loc="lower left", fontsize=8)
    data = {"starts": starts, "fits": fits, "paths": paths, "log_likelihood_paths": path_ll,
            "log_likelihood": fit_ll, "p_heads": p_heads}
    return fig, data
