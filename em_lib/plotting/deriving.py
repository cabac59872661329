r"""Figures of notebook 07: a Poisson mixture on a frequency table, and a Gaussian with holes.

- :func:`plot_frequency_table`: the days per count as bars, and the days each fitted model
  expects, :math:`n \sum_k \pi_k \mathrm{Poisson}(y; \lambda_k)`, as points joined by lines.
- :func:`plot_climb`: an EM history, and its gap to the last value on a log scale (linear
  convergence, fast or slow).
- :func:`plot_filled_in`: Old Faithful with entries removed, side by side with the holes filled
  by the mean (mean imputation) and by EM's conditional means, each with the 2-standard-deviation
  ellipse of the covariance that goes with it and of the full data.

Each returns ``(fig, data)``, ``data`` holding the numbers drawn.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Ellipse

from ..poisson import log_poisson
from ._common import figure_and_axes
from .mixture2d import ellipse_axes

FIT_COLOURS = ("tab:red", "tab:blue", "tab:green", "tab:purple")


def expected_days(counts, n_days, weights, rates):
    r"""(m,) days a mixture expects for each count: :math:`n \sum_k \pi_k \lambda_k^{y} e^{-\lambda_k} / y!`."""
    weights, rates = np.asarray(weights, dtype=float), np.asarray(rates, dtype=float)
    return float(n_days) * np.exp(log_poisson(counts, rates)) @ weights


def plot_frequency_table(counts, frequencies, fits, ax=None, title=None, xlabel="deaths in one day",
                         ylabel="number of days"):
    """Bars: the observed days per count; one line of points per fitted model in ``fits``.

    ``fits`` maps a label to ``(weights, rates)``. Returns ``(fig, data)`` with ``counts``,
    ``observed`` (m,) and ``expected`` ({label: (m,) days the model expects}).
    """
    counts = np.asarray(counts)
    observed = np.asarray(frequencies, dtype=float)
    fig, ax = figure_and_axes(ax, (6.4, 3.8))
    ax.bar(counts, observed, width=0.7, color="0.8", edgecolor="0.45", label=f"observed ({int(observed.sum())} days)")
    expected = {}
    for (label, (weights, rates)), colour in zip(fits.items(), FIT_COLOURS):
        expected[label] = expected_days(counts, observed.sum(), weights, rates)
        ax.plot(counts, expected[label], "o-", color=colour, ms=5, lw=1.5, label=label)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title or "days per count: observed and expected")
    ax.set_xticks(counts)
    ax.legend(fontsize=8)
    return fig, {"counts": counts, "observed": observed, "expected": expected}


def plot_climb(log_likelihoods, start, title, noise=1e-8, log_iterations=False):
    r"""Left: :math:`\ell(\theta^{(t)})` per iteration, the start at t = 0; right: the gap to the last value.

    ``log_likelihoods`` (T,) is an EM history (entry t-1 after iteration t), ``start`` the value at
    the start. The right panel draws :math:`\ell(\theta^{(T)}) - \ell(\theta^{(t)})` on a log scale
    while it is above ``noise``; a straight line there means each iteration removes the same
    fraction of what is left (linear convergence). Returns ``(fig, data)`` with ``iterations``,
    ``log_likelihood`` (T + 1,), ``gap`` (the gaps drawn), ``ratio`` (the median of the ratios of
    successive gaps: the factor by which an iteration shrinks the gap) and ``never_decreases``.
    With ``log_iterations`` the left panel has a log scale of iterations, from t = 1, and names the
    start in its title (for long runs whose first iterations do most of the climbing).
    """
    values = np.concatenate([[float(start)], np.asarray(log_likelihoods, dtype=float)])
    iterations = np.arange(values.size)
    gap = values[-1] - values[:-1]
    shown = gap > noise
    ratios = gap[1:][shown[1:] & shown[:-1]] / gap[:-1][shown[1:] & shown[:-1]]
    ratio = float(np.median(ratios)) if ratios.size else float("nan")
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.5, 3.5), layout="constrained")
    marker = "o" if values.size <= 60 else None
    if log_iterations:
        left.semilogx(iterations[1:], values[1:], color="black", lw=1.4, marker=marker, ms=3)
        left.set(xlabel="iteration t (log scale)", ylabel=r"$\ell(\theta^{(t)})$",
                 title=f"{title}: the log-likelihood climbs\n(from {values[0]:.2f} at the start, t = 0)")
    else:
        left.plot(iterations, values, color="black", lw=1.4, marker=marker, ms=3)
        left.set(xlabel="iteration t", ylabel=r"$\ell(\theta^{(t)})$", title=f"{title}: the log-likelihood climbs")
    left.ticklabel_format(axis="y", useOffset=False)
    right.semilogy(iterations[:-1][shown], gap[shown], color="tab:green", lw=1.4, marker=marker, ms=3)
    right.set(xlabel="iteration t", ylabel=r"$\ell(\theta^{(T)}) - \ell(\theta^{(t)})$",
              title=f"gap to the end: each iteration keeps {ratio:.3g} of it")
    data = {"iterations": iterations, "log_likelihood": values, "gap": gap[shown], "ratio": ratio,
            "never_decreases": bool(np.all(np.diff(values) >= -1e-9 * np.abs(values[:-1])))}
    return fig, data


def _ellipse(ax, mean, cov, colour, label, n_std=2.0, ls="-"):
    radii, angle = ellipse_axes(cov, n_std)
    ax.add_patch(Ellipse(mean, 2 * radii[0], 2 * radii[1], angle=angle, fill=False, color=colour, lw=1.8,
                         ls=ls, label=label))
    return radii, angle


def plot_filled_in(X_missing, X_full, panels, xlabel="eruption duration (min)", ylabel="waiting time (min)"):
    r"""One panel per way of filling the holes of ``X_missing`` (n, 2).

    ``panels`` maps a title to ``(filled, mean, cov)``: the completed (n, 2) data and the estimate
    that goes with it. Each panel shows the complete rows (grey), the filled-in rows (coloured by
    which value was missing, a thin line to the value that was removed, read from ``X_full``),
    and the 2-standard-deviation ellipses of ``(mean, cov)`` and of the full data. Returns
    ``(fig, data)`` with ``filled`` ({title: (n_missing, 2) filled rows}), ``radii`` ({title: (2,)
    semi-axes}, and ``"full data"``) and ``error`` ({title: (2,) root-mean-square difference between
    the filled-in values and the removed ones, per column}).
    """
    X_missing = np.asarray(X_missing, dtype=float)
    X_full = np.asarray(X_full, dtype=float)
    missing = np.isnan(X_missing)
    holes = missing.any(axis=1)
    full_mean = X_full.mean(axis=0)
    full_cov = np.cov(X_full.T, bias=True)
    fig, axes = plt.subplots(1, len(panels), figsize=(5.6 * len(panels), 4.4), layout="constrained",
                             sharex=True, sharey=True, squeeze=False)
    data = {"filled": {}, "radii": {}, "error": {}}
    for ax, (title, (filled, mean, cov)) in zip(axes[0], panels.items()):
        filled = np.asarray(filled, dtype=float)
        ax.scatter(X_full[~holes, 0], X_full[~holes, 1], s=9, color="0.65", linewidths=0, label="complete rows")
        for column, colour, what in ((1, "tab:orange", "waiting filled in"), (0, "tab:blue", "duration filled in")):
            rows = missing[:, column]
            ax.plot(np.stack([filled[rows, 0], X_full[rows, 0]]), np.stack([filled[rows, 1], X_full[rows, 1]]),
                    color=colour, lw=0.6, alpha=0.5)
            ax.scatter(filled[rows, 0], filled[rows, 1], s=22, facecolors="none", edgecolors=colour, lw=1.2,
                       label=what)
        data["radii"][title], _ = _ellipse(ax, np.asarray(mean), np.asarray(cov), "black", "this estimate (2 sd)")
        data["radii"]["full data"], _ = _ellipse(ax, full_mean, full_cov, "tab:green", "full data (2 sd)", ls="--")
        data["filled"][title] = filled[holes]
        data["error"][title] = np.array([np.sqrt(np.mean((filled[missing[:, c], c] - X_full[missing[:, c], c]) ** 2))
                                         for c in range(X_full.shape[1])])
        ax.set(xlabel=xlabel, title=title)
        ax.legend(fontsize=7, loc="upper left")
    axes[0][0].set_ylabel(ylabel)
    return fig, data
