r"""Pictures you can move: a slider beside a figure that em_lib's plotting functions draw.

Each figure here is drawn by the plotting function the notebook already uses; moving the
slider only calls that function again with a new argument and shows the new picture:

- :func:`jensen_stars` (notebook 02, "The lecture's picture, with real numbers", eq. 2.1):
  :func:`.jensen.plot_stars` with the slider's :math:`Q_i(\text{male})`;
- :func:`bound_touching` (notebook 03, "The bound as a curve over theta", eq. 3.4):
  :func:`.bound.plot_bound_touching` with the slider's :math:`\mu_0^{(t)}`;
- :func:`em_stepper` (notebook 04, "EM on the heights", eqs. 4.1 to 4.6): the history of
  EM is computed once; at the slider's iteration t, :func:`.training.plot_fit_snapshots`
  draws the mixture over the histogram and :func:`.bound.plot_bound_touching` the bound
  :math:`L(Q^{(t)}, \theta)` touching :math:`\ell` at :math:`\theta^{(t)}`, side by side.

Every function returns an :class:`InteractiveFigure`, an ipywidgets ``VBox`` (the slider,
then an ``Image`` widget holding the figure as PNG). Displayed, it offers two
representations: the widget view, which JupyterLab renders (ipywidgets 8, its lab extension
comes with ``jupyterlab_widgets``), and ``image/png`` of the current figure with a short
``text/plain``, which every frontend without a widget manager shows instead (nbconvert's
HTML, nbgrader's feedback, a notebook opened without a kernel's widget state, nbval).
So the same cell is a picture you can move in JupyterLab and a static figure elsewhere.

In the page, the whole widget carries the CSS classes ``em-interactive`` and
``em-interactive-<name>`` (``jensen``, ``bound``, ``stepper``); the slider is an ipywidgets
slider (``.widget-slider``), the figure an ``img.widget-image`` whose ``src`` changes on
every redraw.
"""

import base64
import io

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from .. import datasets
from ..mixture1d import e_step, log_likelihood, m_step
from . import bound, jensen, training

#: The PNG resolution of the figures (dots per inch); fixed, so the pictures do not depend on rc settings.
DPI = 100


def figure_png(fig):
    """The figure as PNG bytes (tight bounding box, :data:`DPI`); the figure is closed afterwards."""
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    finally:
        plt.close(fig)
    return buffer.getvalue()


class InteractiveFigure(widgets.VBox):
    """A slider and the figure that ``draw(value)`` returns for the slider's value.

    ``draw`` takes the slider's value and returns ``(fig, data)``, as every em_lib plotting
    function does; ``describe`` takes the value and returns the one-line ``text/plain``
    shown where neither the widget nor the image can be. After each draw, ``data`` holds the
    numbers drawn, ``png`` the figure's PNG bytes and ``draws`` counts the draws.
    """

    def __init__(self, name, slider, draw, describe):
        self.slider = slider
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%", height="auto"))
        self._draw = draw
        self._describe = describe
        self.data = None
        self.png = b""
        self.draws = 0
        super().__init__([slider, self.image], _dom_classes=("em-interactive", f"em-interactive-{name}"))
        self.redraw()
        slider.observe(lambda change: self.redraw(), names="value")

    def redraw(self):
        """Draw the figure for the slider's current value and show it."""
        fig, self.data = self._draw(self.slider.value)
        self.png = figure_png(fig)
        self.image.value = self.png
        self.draws += 1

    def _repr_mimebundle_(self, **kwargs):
        """The widget view for JupyterLab, and the current figure as PNG for every other frontend."""
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        bundle["image/png"] = base64.b64encode(self.png).decode("ascii")
        bundle["text/plain"] = self._describe(self.slider.value)
        return bundle


def _slider(description, value, lo, hi, step, readout_format, continuous_update):
    return widgets.FloatSlider(
        value=value, min=lo, max=hi, step=step, description=description, readout_format=readout_format,
        continuous_update=continuous_update, style={"description_width": "initial"},
        layout=widgets.Layout(width="34em"),
    )


def jensen_stars(log_joint_row, q_male=0.2, height=None, labels=None):
    r"""Notebook 02, the lecture's picture (eq. 2.1): the slider sets :math:`Q_i(z = \text{male})`.

    Calls :func:`.jensen.plot_stars` with ``q = (q_male, 1 - q_male)``: the two stars
    :math:`v_z = p(x_i, z)/Q_i(z)` slide along the log curve, the chord between them moves,
    the curve point :math:`\log p(x_i)` stays put and the chord point (and so Jensen's gap)
    changes. ``log_joint_row`` (2,) is one row of ``log_joint``; the slider runs from 0.05 to
    0.95 in steps of 0.05.
    """
    log_joint_row = np.asarray(log_joint_row, dtype=float)
    # one x range for every position of the slider, so that the stars move and the axes stay
    every_q = np.linspace(0.05, 0.95, 19)
    every_star = jensen.stars(log_joint_row, np.column_stack([every_q, 1.0 - every_q]))
    lo, hi = float(every_star.min()), float(every_star.max())
    grid = np.linspace(0.5 * lo, hi + 0.08 * (hi - lo), 400)

    def draw(q):
        return jensen.plot_stars(log_joint_row, np.array([q, 1.0 - q]), height=height, labels=labels, grid=grid)

    def describe(q):
        return (f"Jensen's inequality for one sample, Q_i(male) = {q:.2f} "
                "(run the cell in JupyterLab to move the slider)")

    slider = _slider("Q_i(male)", q_male, 0.05, 0.95, 0.05, ".2f", continuous_update=True)
    return InteractiveFigure("jensen", slider, draw, describe)


def bound_touching(x, weights, means, variances, k=0, mean_t=188.0, lo=160.0, hi=195.0, grid=None):
    r"""Notebook 03, the bound as a curve over :math:`\mu_k` (eq. 3.4): the slider sets :math:`\mu_k^{(t)}`.

    Calls :func:`.bound.plot_bound_touching` with ``means[k]`` replaced by the slider's
    value: :math:`Q^{(t)}` is the posterior there, and the bound :math:`L(Q^{(t)}, \theta)`
    touches :math:`\ell(\theta)` at that point, wherever it is. The x axis is fixed (``grid``,
    by default 241 points from ``lo - 10`` to ``hi + 10``) so that only the curves move.
    """
    means = np.asarray(means, dtype=float)
    grid = np.linspace(lo - 10.0, hi + 10.0, 241) if grid is None else np.asarray(grid, dtype=float)

    def draw(mean):
        means_t = means.copy()
        means_t[k] = mean
        return bound.plot_bound_touching(x, weights, means_t, variances, k=k, grid=grid)

    def describe(mean):
        return (f"The bound L(Q^(t), theta) touching l(theta) at mu_{k}^(t) = {mean:.1f} cm "
                "(run the cell in JupyterLab to move the slider)")

    slider = _slider(f"mu_{k}^(t) (cm)", mean_t, lo, hi, 0.5, ".1f", continuous_update=False)
    return InteractiveFigure("bound", slider, draw, describe)


def em_history(x, weights, means, variances, n_iter):
    r"""``[(weights, means, variances)]`` for t = 0..n_iter: EM's parameters after t iterations.

    One iteration is em_lib's E-step (eq. 4.1) then M-step (eqs. 4.3 to 4.5), as in notebook 04;
    computed once, so that the stepper only redraws.
    """
    def one_iteration(x, weights, means, variances):
        return m_step(x, e_step(x, weights, means, variances))

    snapshots = training.em_snapshots(x, weights, means, variances, range(n_iter + 1), step=one_iteration)
    return [snapshots[t] for t in range(n_iter + 1)]


def em_stepper(x, weights, means, variances, n_iter=30, k=0, t=0, grid=None, names=None):
    r"""Notebook 04, EM on the heights: the slider sets the iteration t, from 0 to ``n_iter``.

    The history :math:`\theta^{(0)}, \dots, \theta^{(n\_iter)}` is computed once
    (:func:`em_history`). At t, the left half is :func:`.training.plot_fit_snapshots` of
    :math:`\theta^{(t)}` (the mixture over the histogram, with :math:`\ell(\theta^{(t)})`), the
    right half :func:`.bound.plot_bound_touching` at :math:`\theta^{(t)}` along :math:`\mu_k`:
    the bound :math:`L(Q^{(t)}, \theta)` touching :math:`\ell` at :math:`\mu_k^{(t)}`, and its
    maximiser, the M-step's :math:`\mu_k^{(t+1)}` (eq. 4.4). ``data`` after a draw holds
    ``"t"``, ``"fit"`` and ``"bound"``, the data of the two plotting functions.
    """
    x = np.asarray(x, dtype=float)
    names = datasets.HEIGHT_GROUPS if names is None else names
    history = em_history(x, weights, means, variances, n_iter)
    if grid is None:
        visited = [float(theta[1][k]) for theta in history]
        grid = np.linspace(min(visited) - 15.0, max(visited) + 15.0, 241)

    def draw(t):
        t = int(t)
        fig = plt.figure(figsize=(15.0, 6.2), layout="constrained")
        left, right = fig.subfigures(1, 2, width_ratios=(1.0, 1.25))
        _, fit = training.plot_fit_snapshots(x, {t: history[t]}, names=names, fig=left)
        _, touching = bound.plot_bound_touching(x, *history[t], k=k, grid=grid, fig=right)
        return fig, {"t": t, "fit": fit, "bound": touching}

    def describe(t):
        return (f"EM at iteration t = {int(t)}: l(theta^(t)) = {log_likelihood(x, *history[int(t)]):.2f} "
                "(run the cell in JupyterLab to move the slider)")

    slider = widgets.IntSlider(value=t, min=0, max=n_iter, step=1, description="iteration t",
                               continuous_update=False, layout=widgets.Layout(width="34em"))
    return InteractiveFigure("stepper", slider, draw, describe)
