r"""Figures of notebook 01: the heights, their hidden group, and the mixture model.

Every ``plot_*`` function returns ``(fig, data)``: the figure and a dict of the
numbers drawn, so that tests can check what a picture shows. Heights are in cm.
The maths comes from :mod:`em_lib.mixture1d` (``log_joint``, ``posterior``);
nothing here computes anything the notebooks' exercises ask for.
"""

import matplotlib.pyplot as plt
import numpy as np

from ..datasets import HEIGHT_GROUPS
from ..mixture1d import log_joint, logsumexp_rows, posterior
from ._common import figure_and_axes

#: One colour per hidden group, in component order (male, female); the mixture is black.
GROUP_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:purple")
MIXTURE_COLOUR = "black"


def _labels(K, labels):
    if labels is None:
        labels = HEIGHT_GROUPS if K == len(HEIGHT_GROUPS) else tuple(f"component {k}" for k in range(K))
    return tuple(labels)


def height_grid(x=None, lo=135.0, hi=205.0, size=401):
    """(size,) grid of heights in cm covering ``[lo, hi]`` and, when given, all of ``x``."""
    if x is not None:
        lo, hi = min(lo, float(np.min(x)) - 2.0), max(hi, float(np.max(x)) + 2.0)
    return np.linspace(lo, hi, size)


def weighted_densities(grid, weights, means, variances):
    r"""(K, g) curves :math:`\pi_k N(h; \mu_k, \sigma_k^2)` on the grid: the joint p(h, z = k) per cm."""
    return np.exp(log_joint(grid, weights, means, variances)).T


def plot_seen_and_hidden(x, z, labels=None, bins=None):
    """Two histograms of the same heights: what we measure (left), and each hidden group's own (right).

    On the right every group's histogram starts from zero and they are drawn over
    each other (not stacked), so each group's hump keeps its own shape; the outline
    of all the heights, the left panel, is drawn over them. Returns ``(fig, data)``
    with ``edges`` (bins + 1,), ``counts`` (bins,) of all the heights, and
    ``counts_by_group`` (K, bins); the groups' counts add up to ``counts``.
    """
    x = np.asarray(x, dtype=float)
    z = np.asarray(z)
    K = int(z.max()) + 1
    labels = _labels(K, labels)
    edges = np.histogram_bin_edges(x, bins=bins if bins is not None else np.arange(np.floor(x.min()), x.max() + 2.0, 2.0))
    counts, _ = np.histogram(x, bins=edges)
    by_group = np.array([np.histogram(x[z == k], bins=edges)[0] for k in range(K)])

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True, layout="constrained")
    left.stairs(counts, edges, fill=True, color="0.6")
    left.set_title(f"What we measure: {x.size} heights")
    for k in range(K):  # the fills first, then every outline over them, so that no outline is hidden
        right.stairs(by_group[k], edges, fill=True, color=GROUP_COLOURS[k], alpha=0.4, lw=0)
    for k in range(K):
        right.stairs(by_group[k], edges, color=GROUP_COLOURS[k], lw=1.6,
                     label=f"{labels[k]} ({int(by_group[k].sum())})")
    right.stairs(counts, edges, color="0.45", lw=1.0, ls="--", label=f"all ({x.size})")
    right.set_title("What generated them: each hidden group $z$ on its own")
    right.legend(frameon=False, fontsize=9, loc="upper left")
    left.set_ylabel("people per 2 cm bin" if bins is None else "people per bin")
    for ax in (left, right):
        ax.set_xlabel("height $x$ (cm)")
    return fig, {"edges": edges, "counts": counts, "counts_by_group": by_group}


def plot_mixture(x, weights, means, variances, labels=None, bins=None, ax=None):
    r"""Histogram of ``x`` as a density, the weighted components :math:`\pi_k N(h; \mu_k, \sigma_k^2)` and their sum.

    Returns ``(fig, data)`` with ``grid`` (g,), ``components`` (K, g), ``mixture`` (g,)
    (the sum of the components, :math:`p(h)`), ``edges`` and ``density`` (the
    histogram, area 1).
    """
    x = np.asarray(x, dtype=float)
    weights, means, variances = (np.asarray(a, dtype=float) for a in (weights, means, variances))
    labels = _labels(weights.size, labels)
    grid = height_grid(x)
    components = weighted_densities(grid, weights, means, variances)
    mixture = components.sum(axis=0)
    edges = np.histogram_bin_edges(x, bins=bins if bins is not None else np.arange(np.floor(x.min()), x.max() + 2.0, 2.0))
    density, _ = np.histogram(x, bins=edges, density=True)

    fig, ax = figure_and_axes(ax, (7.5, 4.0))
    ax.stairs(density, edges, fill=True, color="0.85", label=f"histogram of {x.size} heights")
    for k in range(weights.size):
        ax.plot(grid, components[k], color=GROUP_COLOURS[k], lw=2,
                label=rf"$\pi_{k} N(x; \mu_{k}, \sigma_{k}^2)$: {labels[k]}, $\pi_{k}$ = {weights[k]:.2f}")
    ax.plot(grid, mixture, color=MIXTURE_COLOUR, lw=2.2, ls="--", label=r"sum over $z$: $p(x)$")
    ax.set_xlabel("height $x$ (cm)")
    ax.set_ylabel("density (per cm)")
    ax.set_xlim(grid[0], grid[-1])
    ax.set_ylim(0, None)
    ax.legend(frameon=False, loc="upper left", fontsize=9)
    return fig, {"grid": grid, "components": components, "mixture": mixture, "edges": edges, "density": density}


def plot_posterior(weights, means, variances, marks=(190.0, 155.0), labels=None, ax=None):
    r"""The posterior :math:`p(z = k \mid x)` along the height axis, with the people in ``marks`` marked.

    Computed with em_lib's reference :func:`em_lib.mixture1d.posterior`. Returns
    ``(fig, data)`` with ``grid`` (g,), ``posterior`` (g, K) whose rows sum to 1,
    ``marks`` (m,) and ``marks_posterior`` (m, K), and ``crossing``: the height where
    the first two groups are equally probable (None if they never cross on the grid).
    """
    weights, means, variances = (np.asarray(a, dtype=float) for a in (weights, means, variances))
    labels = _labels(weights.size, labels)
    marks = np.asarray(marks, dtype=float)
    grid = height_grid(marks)
    post = posterior(grid, weights, means, variances)
    at_marks = posterior(marks, weights, means, variances)
    diff = post[:, 0] - post[:, 1]
    change = np.flatnonzero(np.sign(diff[:-1]) != np.sign(diff[1:]))
    crossing = None
    if change.size:
        j = change[0]
        crossing = float(grid[j] - diff[j] * (grid[j + 1] - grid[j]) / (diff[j + 1] - diff[j]))

    fig, ax = figure_and_axes(ax, (7.5, 3.8))
    for k in range(weights.size):
        ax.plot(grid, post[:, k], color=GROUP_COLOURS[k], lw=2, label=rf"$p(z = \mathrm{{{labels[k]}}} \mid x)$")
    for h, p in zip(marks, at_marks):
        ax.axvline(h, color="0.5", lw=0.8, ls=":")
        for k in range(weights.size):
            ax.plot(h, p[k], "o", color=GROUP_COLOURS[k], ms=6, zorder=3)
        text = ", ".join(f"{labels[k]} {p[k]:.3f}" for k in range(weights.size))
        ax.annotate(f"{h / 100:.2f} m: {text}", (h, 0.5), xytext=(4, 0), textcoords="offset points",
                    rotation=90, va="center", fontsize=8.5, color="0.25")
    if crossing is not None:
        ax.axvline(crossing, color="0.75", lw=0.8)
        ax.text(crossing, 1.02, f"50/50 at {crossing:.1f} cm", ha="center", va="bottom", fontsize=8.5, color="0.35")
    ax.set_xlabel("height $x$ (cm)")
    ax.set_ylabel("probability of each group")
    ax.set_xlim(grid[0], grid[-1])
    ax.set_ylim(-0.02, 1.1)
    ax.legend(frameon=False, loc="center left")
    return fig, {"grid": grid, "posterior": post, "marks": marks, "marks_posterior": at_marks, "crossing": crossing}


def incomplete_log_likelihood_grid(x, weights, variances, mu_grid):
    r"""(g, g) :math:`\ell(\mu_0, \mu_1) = \sum_i \log\sum_k \pi_k N(x_i; \mu_k, \sigma_k^2)`.

    Rows index :math:`\mu_1` (``mu_grid``), columns :math:`\mu_0`; weights and
    variances are held fixed. Computed in log space, one grid row at a time.
    """
    x = np.asarray(x, dtype=float)
    out = np.empty((mu_grid.size, mu_grid.size))
    means = np.empty((mu_grid.size, 2))
    means[:, 0] = mu_grid
    for r, mu1 in enumerate(mu_grid):
        means[:, 1] = mu1
        # (g, n, K): log pi_k + log N(x_i; mu_k, sigma_k^2) for every mu_0 on the row
        lj = (np.log(weights) - 0.5 * np.log(2 * np.pi * variances)
              - 0.5 * (x[None, :, None] - means[:, None, :]) ** 2 / variances)
        out[r] = logsumexp_rows(lj.reshape(-1, 2)).reshape(mu_grid.size, x.size).sum(axis=1)
    return out


def complete_log_likelihood_grid(x, z, weights, variances, mu_grid):
    r"""(g, g) :math:`\sum_i \log p(x_i, z_i)`: the log-likelihood if the groups ``z`` were seen.

    Rows index :math:`\mu_1`, columns :math:`\mu_0`. It splits into one term per group,
    each a downward parabola in its own mean.
    """
    x = np.asarray(x, dtype=float)
    z = np.asarray(z)
    per_group = []
    for k in range(2):
        xk = x[z == k]
        per_group.append(xk.size * (np.log(weights[k]) - 0.5 * np.log(2 * np.pi * variances[k]))
                         - 0.5 * ((xk[None, :] - mu_grid[:, None]) ** 2).sum(axis=1) / variances[k])
    return per_group[1][:, None] + per_group[0][None, :]


def plot_likelihood_surfaces(x, z, weights, variances, mu_grid=None, labels=None):
    r"""Side by side over the two means: :math:`\ell(\theta)` with z summed out, and the complete-data one.

    Left: the log-likelihood we must maximise (log of a sum), with a peak on each side
    of the diagonal. With the weights and variances held fixed, the second peak is not
    the first with the names swapped (that would swap the variances too): it is a
    different fit, each group's bell on the other group's heights, a local maximum that
    is lower unless the variances are equal. Right: the log-likelihood if z were known,
    one peak at the groups' sample means. Returns ``(fig, data)`` with ``mu_grid`` (g,),
    ``incomplete`` and ``complete`` (g, g) (rows mu_1, columns mu_0),
    ``incomplete_peaks`` (2, 2): the best grid point on each side of the diagonal as
    (mu_0, mu_1), first the side mu_0 > mu_1, ``incomplete_peak_values`` (2,): the
    log-likelihood there, and ``complete_peak`` (mu_0, mu_1) and ``group_means`` (2,).
    """
    x = np.asarray(x, dtype=float)
    z = np.asarray(z)
    weights, variances = np.asarray(weights, dtype=float), np.asarray(variances, dtype=float)
    labels = _labels(2, labels)
    if mu_grid is None:
        mu_grid = np.linspace(150.0, 186.0, 73)
    inc = incomplete_log_likelihood_grid(x, weights, variances, mu_grid)
    com = complete_log_likelihood_grid(x, z, weights, variances, mu_grid)
    m0, m1 = np.meshgrid(mu_grid, mu_grid)
    peaks, peak_values = [], []
    for side in (m0 > m1, m0 < m1):
        masked = np.where(side, inc, -np.inf)
        r, c = np.unravel_index(np.argmax(masked), masked.shape)
        peaks.append((mu_grid[c], mu_grid[r]))
        peak_values.append(inc[r, c])
    r, c = np.unravel_index(np.argmax(com), com.shape)
    group_means = np.array([x[z == k].mean() for k in range(2)])

    fig, axes = plt.subplots(1, 2, figsize=(10.5, 4.6), layout="constrained")
    panels = (
        (axes[0], inc, "z hidden, summed out:\n" + r"$\ell(\theta) = \sum_i \log \sum_z p(x_i, z)$"),
        (axes[1], com, "z known (complete data):\n" + r"$\sum_i \log p(x_i, z_i)$"),
    )
    levels = -np.array([400.0, 200, 100, 50, 25, 12, 6, 3, 1])
    for ax, surface, title in panels:
        below = surface - surface.max()
        cs = ax.contourf(m0, m1, below, levels=np.append(levels, 1e-9), cmap="viridis", extend="min")
        ax.contour(m0, m1, below, levels=levels, colors="white", linewidths=0.4)
        ax.plot(mu_grid, mu_grid, color="white", lw=0.8, ls="--")
        ax.set_title(title, fontsize=10.5, pad=8)
        ax.set_xlabel(rf"$\mu_0$, mean of the {labels[0]} group (cm)")
        ax.set_ylabel(rf"$\mu_1$, mean of the {labels[1]} group (cm)")
        ax.set_aspect("equal")
    fig.colorbar(cs, ax=axes, shrink=0.85, label="log-likelihood below its maximum", format="%.0f")
    for p in peaks:
        axes[0].plot(*p, "*", color="tab:red", ms=13)
    second = peak_values[1] - peak_values[0]
    axes[0].annotate(f"a second peak, {abs(second):.1f} {'lower' if second < 0 else 'higher'}:\n"
                     f"the {labels[0]} bell on the {labels[1]}\nheights and vice versa",
                     peaks[1], xytext=(0.03, 0.97), textcoords="axes fraction", va="top", color="white",
                     fontsize=9, arrowprops={"arrowstyle": "->", "color": "white", "lw": 0.8, "shrinkB": 8})
    axes[1].plot(*group_means, "*", color="tab:red", ms=13)
    axes[1].annotate("one peak: the groups'\nown sample means", group_means, xytext=(-40, -40),
                     textcoords="offset points", color="white", fontsize=9)
    return fig, {
        "mu_grid": mu_grid,
        "incomplete": inc,
        "complete": com,
        "incomplete_peaks": np.array(peaks),
        "incomplete_peak_values": np.array(peak_values),
        "complete_peak": np.array([mu_grid[c], mu_grid[r]]),
        "group_means": group_means,
    }
