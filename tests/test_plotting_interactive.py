"""The pictures you can move (em_lib/plotting/interactive.py).

Each widget builds; setting its slider's value (as JupyterLab does when a learner drags it)
calls em_lib's plotting function again with the new argument and changes the PNG shown;
displayed, it offers the widget view and a static PNG of the current figure.
"""

import base64

import ipywidgets as widgets
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

import em_lib
from em_lib import datasets
from em_lib.plotting import bound, interactive, jensen, training

matplotlib.use("Agg")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
W, M, V = datasets.HEIGHTS_TRUE
LJ_155 = em_lib.log_joint(np.array([155.0]), W, M, V)[0]


@pytest.fixture(scope="module")
def heights():
    return datasets.heights(300, seed=0)[0]


@pytest.fixture(autouse=True)
def _no_open_figures():
    """Every draw closes its figure: moving a slider a hundred times must not pile up figures."""
    yield
    assert plt.get_fignums() == []


def _spy(monkeypatch, module, name):
    """Replace module.name by a wrapper that records the keyword and positional arguments of each call."""
    calls = []
    original = getattr(module, name)

    def wrapper(*args, **kwargs):
        calls.append((args, kwargs))
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return calls


def _check_bundle(widget, text):
    bundle = widget._repr_mimebundle_()
    assert set(bundle) == {WIDGET_VIEW, "image/png", "text/plain"}
    assert bundle[WIDGET_VIEW]["model_id"] == widget.model_id
    assert base64.b64decode(bundle["image/png"]) == widget.png == widget.image.value
    assert bundle["image/png"].isascii()
    assert text in bundle["text/plain"]


def test_jensen_stars_slider_moves_the_stars(monkeypatch):
    calls = _spy(monkeypatch, jensen, "plot_stars")
    widget = interactive.jensen_stars(LJ_155, q_male=0.2, height=155)
    assert isinstance(widget, widgets.VBox) and isinstance(widget.slider, widgets.FloatSlider)
    assert widget.png.startswith(PNG_SIGNATURE) and len(calls) == 1
    np.testing.assert_allclose(calls[0][0][1], [0.2, 0.8])
    first_png, first = widget.png, widget.data
    widget.slider.value = 0.8
    assert len(calls) == 2 and widget.draws == 2
    np.testing.assert_allclose(calls[1][0][1], [0.8, 0.2])
    assert widget.png != first_png
    # the stars moved, the curve point log p(x_i) did not, the chord point and the gap did
    assert not np.allclose(widget.data["values"], first["values"])
    assert widget.data["curve_point"] == pytest.approx(first["curve_point"])
    assert widget.data["gap"] != pytest.approx(first["gap"])
    assert widget.data["gap"] == pytest.approx(em_lib.jensen_gap(widget.data["values"], [0.8, 0.2]))
    # the x range is the same for every position of the slider
    np.testing.assert_array_equal(calls[0][1]["grid"], calls[1][1]["grid"])
    _check_bundle(widget, "Q_i(male) = 0.80")


def test_jensen_stars_every_slider_position_draws_the_stars_inside_the_axes():
    widget = interactive.jensen_stars(LJ_155, height=155)
    for q in np.round(np.arange(widget.slider.min, widget.slider.max + 1e-9, widget.slider.step), 2):
        widget.slider.value = float(q)
        grid = widget.data["grid"]
        assert grid[0] <= widget.data["values"].min() and widget.data["values"].max() <= grid[-1]


def test_bound_touching_slider_moves_the_touching_point(monkeypatch, heights):
    calls = _spy(monkeypatch, bound, "plot_bound_touching")
    widget = interactive.bound_touching(heights, W, M, V, k=0, mean_t=188.0)
    assert widget.data["touch"][0] == pytest.approx(188.0)
    first_png = widget.png
    widget.slider.value = 165.0
    assert len(calls) == 2 and widget.draws == 2
    assert calls[1][0][2][0] == pytest.approx(165.0) and calls[1][0][2][1] == pytest.approx(M[1])
    assert widget.png != first_png
    d = widget.data
    assert d["touch"][0] == pytest.approx(165.0)
    # the bound touches l at the slider's value and stays below it everywhere
    at = np.searchsorted(d["grid"], 165.0)
    assert d["bounds"][0][at] == pytest.approx(d["log_likelihood"][at])
    assert np.all(d["bounds"][0] <= d["log_likelihood"] + 1e-8)
    np.testing.assert_array_equal(calls[0][1]["grid"], calls[1][1]["grid"])
    _check_bundle(widget, "mu_0^(t) = 165.0 cm")


def test_em_stepper_shows_iteration_t(monkeypatch, heights):
    fit_calls = _spy(monkeypatch, training, "plot_fit_snapshots")
    bound_calls = _spy(monkeypatch, bound, "plot_bound_touching")
    start = (np.array([0.5, 0.5]), np.array([185.0, 150.0]), np.array([100.0, 100.0]))
    widget = interactive.em_stepper(heights, *start, n_iter=6, t=0)
    assert isinstance(widget.slider, widgets.IntSlider) and widget.slider.max == 6
    first_png = widget.png
    widget.slider.value = 3
    assert len(fit_calls) == 2 and len(bound_calls) == 2 and widget.png != first_png
    theta3 = em_lib.fit_em(heights, *start, 3)[:3]
    (shown,) = fit_calls[1][0][1].values()
    for a, b in zip(shown, theta3):
        np.testing.assert_allclose(a, b, rtol=1e-10)
    d = widget.data
    assert d["t"] == 3 and d["fit"]["iterations"] == [3]
    assert d["bound"]["touch"][0] == pytest.approx(theta3[1][0])
    # the bound's maximiser is the M-step's next mean
    assert d["bound"]["peak"][0] == pytest.approx(em_lib.fit_em(heights, *start, 4)[1][0])
    ell = em_lib.log_likelihood(heights, *theta3)
    assert d["fit"]["log_likelihood"][3] == pytest.approx(ell)
    _check_bundle(widget, f"t = 3: l(theta^(t)) = {ell:.2f}")


def test_the_widgets_carry_css_classes_for_the_browser():
    widget = interactive.jensen_stars(LJ_155)
    assert {"em-interactive", "em-interactive-jensen"} <= set(widget._dom_classes)


def test_ipython_displays_both_the_widget_and_the_png():
    """What a kernel sends when the cell ends on the widget: both representations."""
    from IPython.core.formatters import DisplayFormatter

    widget = interactive.jensen_stars(LJ_155, q_male=0.5)
    data, _ = DisplayFormatter().format(widget)
    assert {WIDGET_VIEW, "image/png", "text/plain"} <= set(data)
    assert base64.b64decode(data["image/png"]).startswith(PNG_SIGNATURE)


def test_the_png_does_not_depend_on_the_run():
    """Stored outputs reproduce: the same slider value gives the same PNG bytes."""
    a = interactive.jensen_stars(LJ_155, q_male=0.3)
    b = interactive.jensen_stars(LJ_155, q_male=0.7)
    b.slider.value = 0.3
    assert a.png == b.png


@pytest.mark.parametrize("assignment", ["02_jensens_inequality", "03_tight_bound", "04_e_and_m_steps"])
def test_solution_notebooks_store_no_widget_state(assignment):
    """Executed with --ExecutePreprocessor.store_widget_state=False, so HTML (site, feedback) shows the PNG.

    With widget state in the notebook's metadata, nbconvert's HTML would choose the widget view
    and need the widget JavaScript from a CDN; without it, it falls back to the stored image/png.
    """
    import json

    from course import SOLUTIONS

    nb = json.loads((SOLUTIONS / assignment / f"{assignment}.ipynb").read_text())
    assert "widgets" not in nb["metadata"], "re-execute with --ExecutePreprocessor.store_widget_state=False"
    shown = [o for c in nb["cells"] if c["cell_type"] == "code" and "em_lib.plotting.interactive" in "".join(c["source"])
             for o in c["outputs"]]
    assert len(shown) == 1 and {WIDGET_VIEW, "image/png", "text/plain"} <= set(shown[0]["data"])
