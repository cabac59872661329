r"""Figures of notebook 02: concavity, the lecture's two stars, and the bound as Q varies.

Every ``plot_*`` function returns ``(fig, data)``: the figure and a dict of the
numbers drawn, so that tests can check what a picture shows (for instance that
the point on the chord lies below the point on the curve).
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from ..datasets import HEIGHT_GROUPS
from ._common import figure_and_axes
from .heights import GROUP_COLOURS

CURVE_COLOUR = "tab:red"
CHORD_COLOUR = "tab:blue"


def _chord_and_curve(f, a, b, w):
    """Mixing a and b with weight w on a: the curve point f(w a + (1-w) b) and the chord point w f(a) + (1-w) f(b)."""
    mix = w * a + (1.0 - w) * b
    return mix, float(f(mix)), float(w * f(a) + (1.0 - w) * f(b))


def plot_convex_and_concave(a=0.5, b=4.5, w=0.3):
    r"""A convex function (exp) and a concave one (log), each with the chord between a and b.

    At the mixture :math:`m = w a + (1-w) b` the chord of exp lies ABOVE the curve
    and the chord of log BELOW it. Returns ``(fig, data)`` with, for ``"exp"`` and
    ``"log"``, a dict of ``mix``, ``curve`` (f(m)) and ``chord`` (w f(a) + (1-w) f(b)),
    plus ``grid`` and ``second_derivative_log`` (:math:`-1/v^2` on the grid).
    """
    grid = np.linspace(0.15, 5.2, 300)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.9), layout="constrained")
    data = {"grid": grid, "second_derivative_log": -1.0 / grid**2}
    panels = (
        (axes[0], np.exp, "exp", r"convex: $e^v$, chord ABOVE the curve", r"$e^v$"),
        (axes[1], np.log, "log", r"concave: $\log v$, chord BELOW the curve", r"$\log v$"),
    )
    for ax, f, name, title, curve_label in panels:
        mix, curve, chord = _chord_and_curve(f, a, b, w)
        data[name] = {"mix": mix, "curve": curve, "chord": chord}
        ax.plot(grid, f(grid), color=CURVE_COLOUR, lw=2, label=curve_label)
        ax.plot([a, b], [f(a), f(b)], color=CHORD_COLOUR, lw=1.6, label="chord")
        ax.plot([a, b], [f(a), f(b)], "o", color="black", ms=5)
        ax.plot(mix, curve, "o", color=CURVE_COLOUR, ms=8, zorder=3, label=f"curve at the average: {curve:.2f}")
        ax.plot(mix, chord, "s", color=CHORD_COLOUR, ms=7, zorder=3, label=f"average of the values: {chord:.2f}")
        ax.axvline(mix, color="0.6", lw=0.8, ls=":")
        ax.set_title(title, fontsize=10.5)
        ax.set_xlabel(f"$v$ (the average is {w:.1f}$\\times${a:g} + {1 - w:.1f}$\\times${b:g} = {mix:.2f})")
        ax.legend(frameon=False, fontsize=8.5, loc="upper left")
    axes[0].set_ylim(0, float(np.exp(b)) * 1.08)
    axes[1].set_ylim(np.log(grid[0]) - 0.1, np.log(grid[-1]) + 0.6)
    return fig, data


def stars(log_joint_row, q):
    r"""The lecture's stars for one sample: :math:`v_k = p(x_i, z = k) / Q_i(k)`, from the log joint.

    ``log_joint_row`` is (K,), one row of ``log_joint``; ``q`` (K,) is :math:`Q_i`.
    """
    return np.exp(np.asarray(log_joint_row, dtype=float) - np.log(np.asarray(q, dtype=float)))


def plot_stars(log_joint_row, q, height=None, labels=None, ax=None, grid=None):
    r"""The lecture's picture with real numbers: two stars on the log curve, the chord, and Jensen's gap.

    For one sample with log joint ``log_joint_row`` (2,) and distribution ``q`` (2,):
    the stars :math:`(v_k, \log v_k)` with :math:`v_k = p(x_i, k) / Q_i(k)`; the
    mixture :math:`\bar v = \sum_k Q_i(k) v_k = p(x_i)`; the red curve point
    :math:`(\bar v, \log \bar v)` and the blue chord point
    :math:`(\bar v, \sum_k Q_i(k) \log v_k)` below it. Returns ``(fig, data)`` with
    ``values`` (2,), ``log_values`` (2,), ``mix``, ``curve_point`` and
    ``chord_point`` (heights of the two points at ``mix``), ``gap``, ``grid``, and
    ``zoom_bounds``: the inset's ``[x0, y0, width, height]`` in axes fractions. The
    inset sits on the side of ``mix`` with more room, so the dotted line that marks
    ``mix`` (drawn from the axis up to the curve point) never runs through it.
    ``grid``, if given, is the increasing (g,) array of v on which the curve is drawn, and so
    the x range; by default it is chosen around the stars (the slider of
    :func:`.interactive.jensen_stars` fixes it, so that the stars move and the axes stay).
    """
    q = np.asarray(q, dtype=float)
    labels = tuple(labels) if labels is not None else HEIGHT_GROUPS
    v = stars(log_joint_row, q)
    log_v = np.log(v)
    mix = float(q @ v)
    curve_point = float(np.log(mix))
    chord_point = float(q @ log_v)
    lo, hi = v.min(), v.max()
    # When the stars coincide (Q_i is the posterior: notebook 03's equality) the range is set by
    # their common value instead, so the curve still has room on both sides.
    span = max(hi - lo, 0.2 * hi)
    if grid is None:
        grid = np.linspace(max(lo - 0.45 * span, lo * 0.25), hi + 0.3 * span, 400)
    grid = np.asarray(grid, dtype=float)

    fig, ax = figure_and_axes(ax, (10.5, 4.6))
    log_grid = np.log(grid)
    y_lo = float(min(log_grid[0], log_v.min()) - 0.05 * (log_grid[-1] - log_grid[0]))
    y_hi = float(log_grid[-1] + 0.05 * (log_grid[-1] - log_grid[0]))
    # the zoom goes below the curve on the side of the mixture with more room, clear of its dotted line
    mix_fraction = (mix - grid[0]) / (grid[-1] - grid[0])
    width = 0.4
    x0 = mix_fraction - 0.06 - width if mix_fraction >= 0.5 else mix_fraction + 0.06
    x0 = float(min(max(x0, 0.02), 0.98 - width))
    zoom_bounds = [x0, 0.05, width, 0.34]
    zoom = ax.inset_axes(zoom_bounds)
    zoom_half = min(0.12 * span, 0.5 * mix)
    for axis, x_range in ((ax, grid), (zoom, np.linspace(mix - zoom_half, mix + zoom_half, 100))):
        axis.plot(x_range, np.log(x_range), color="0.3", lw=1.8, label=r"$\log v$")
        axis.plot(v, log_v, color=CHORD_COLOUR, lw=1.6, label="chord between the stars")
        axis.plot(mix, curve_point, "o", color=CURVE_COLOUR, ms=9, zorder=5,
                  label=rf"$\log \sum_z Q_i(z) v_z$ = {curve_point:.3f}  (average, then log)")
        axis.plot(mix, chord_point, "s", color=CHORD_COLOUR, ms=8, zorder=5,
                  label=rf"$\sum_z Q_i(z) \log v_z$ = {chord_point:.3f}  (log, then average)")
    ax.vlines(mix, y_lo, curve_point, color="0.6", lw=0.8, ls=":")
    zoom.axvline(mix, color="0.6", lw=0.8, ls=":")
    for k in range(v.size):
        ax.plot(v[k], log_v[k], "*", color=GROUP_COLOURS[k], ms=18, mec="black", mew=0.6, zorder=4,
                label=rf"star $z$ = {labels[k]}: $v$ = {v[k]:.4f}, $Q_i$ = {q[k]:.2g}")
    # the zoom: the two points and the gap between them, enlarged
    pad = 0.6 * (curve_point - chord_point) + 0.05
    zoom.set_xlim(mix - zoom_half, mix + zoom_half)
    zoom.set_ylim(chord_point - pad, curve_point + pad)
    zoom.annotate("", xy=(mix, curve_point), xytext=(mix, chord_point),
                  arrowprops={"arrowstyle": "<->", "color": "black", "lw": 1.2, "shrinkA": 6, "shrinkB": 6})
    zoom.text(mix + 0.06 * zoom_half, 0.5 * (curve_point + chord_point),
              f"Jensen's gap = {curve_point - chord_point:.3f}", va="center", fontsize=9.5)
    zoom.tick_params(labelsize=8)
    zoom.xaxis.set_major_locator(MaxNLocator(3))
    zoom.set_title("zoom into the grey box", fontsize=8.5, pad=2)
    indicator = ax.indicate_inset_zoom(zoom, edgecolor="0.4")
    for connector in indicator.connectors:  # lines from the box to the zoom would cross the chord
        connector.set_visible(False)
    who = f"the {height / 100:.2f} m person" if height is not None else "one sample"
    ax.set_title(rf"{who}: stars $v_z = p(x_i, z) / Q_i(z)$ on the log curve", fontsize=11)
    ax.set_xlabel(r"$v$  (the mixture $\sum_z Q_i(z) v_z = p(x_i)$ = " + f"{mix:.4f})")
    ax.set_ylabel(r"$\log v$")
    ax.set_xlim(grid[0], grid[-1])
    ax.set_ylim(y_lo, y_hi)
    ax.legend(frameon=False, fontsize=9, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return fig, {
        "values": v,
        "log_values": log_v,
        "mix": mix,
        "curve_point": curve_point,
        "chord_point": chord_point,
        "gap": curve_point - chord_point,
        "grid": grid,
        "zoom_bounds": zoom_bounds,
    }


def bound_for_one_sample(log_joint_row, q0):
    r"""The bound's term for one sample with K = 2, as a function of :math:`Q_i(0)` = ``q0`` (array).

    :math:`\sum_k Q_i(k)\,(\log p(x_i, k) - \log Q_i(k))` with :math:`Q_i = (q_0, 1 - q_0)`
    and 0 log 0 = 0.
    """
    q0 = np.asarray(q0, dtype=float)
    q = np.stack([q0, 1.0 - q0], axis=-1)
    safe = np.where(q > 0, q, 1.0)
    return np.sum(np.where(q > 0, q * (np.asarray(log_joint_row) - np.log(safe)), 0.0), axis=-1)


def plot_bound_over_q(log_joint_row, marks=(0.5, 0.2), height=None, labels=None, ax=None):
    r"""For one sample: the bound term over every :math:`Q_i = (q, 1-q)`, below the line :math:`\log p(x_i)`.

    Returns ``(fig, data)`` with ``q`` (g,), ``bound`` (g,), ``log_px``, ``marks`` (m,)
    and ``marks_bound`` (m,), and ``best_q``: the grid point where the bound is highest.
    """
    labels = tuple(labels) if labels is not None else HEIGHT_GROUPS
    lj = np.asarray(log_joint_row, dtype=float)
    top = lj.max()
    log_px = float(top + np.log(np.exp(lj - top).sum()))
    q = np.linspace(0.0, 1.0, 1001)
    bound = bound_for_one_sample(lj, q)
    marks = np.asarray(marks, dtype=float)
    at_marks = bound_for_one_sample(lj, marks)
    best_q = float(q[np.argmax(bound)])

    fig, ax = figure_and_axes(ax, (7.5, 3.8))
    ax.axhline(log_px, color=CURVE_COLOUR, lw=1.8, label=rf"$\log p(x_i)$ = {log_px:.3f}, whatever $Q_i$")
    ax.plot(q, bound, color=CHORD_COLOUR, lw=2, label=r"$\sum_z Q_i(z) \log \frac{p(x_i, z)}{Q_i(z)}$")
    for m, b in zip(marks, at_marks):
        ax.plot(m, b, "s", color=CHORD_COLOUR, ms=7)
        ax.annotate(f"Q = ({m:.1f}, {1 - m:.1f}): gap {log_px - b:.3f}", (m, b), xytext=(8, -14),
                    textcoords="offset points", fontsize=9)
    ax.set_xlabel(rf"$Q_i(z = \mathrm{{{labels[0]}}})$  (the rest goes to {labels[1]})")
    ax.set_ylabel("log-probability (nats)")
    ax.set_ylim(log_px - 3.0, log_px + 0.6)
    ax.set_xlim(0, 1)
    who = f"the {height / 100:.2f} m person" if height is not None else "one sample"
    ax.set_title(f"{who}: the bound for every choice of $Q_i$", fontsize=11)
    ax.legend(frameon=False, fontsize=9, loc="upper right")
    return fig, {"q": q, "bound": bound, "log_px": log_px, "marks": marks, "marks_bound": at_marks, "best_q": best_q}
