"""em_lib.plotting.heights: the figures of notebook 01 show the model's own numbers."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from scipy import stats  # noqa: E402

import em_lib  # noqa: E402
from em_lib import datasets  # noqa: E402
from em_lib.plotting import heights as H  # noqa: E402

W, M, V = datasets.HEIGHTS_TRUE


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def data():
    return datasets.heights(400, seed=0)


def test_seen_and_hidden_counts_add_up(data):
    x, z = data
    fig, d = H.plot_seen_and_hidden(x, z)
    np.testing.assert_array_equal(d["counts_by_group"].sum(axis=0), d["counts"])
    assert d["counts"].sum() == x.size
    assert d["counts_by_group"][1].sum() == np.sum(z == 1)
    assert len(fig.axes) == 2
    assert "cm" in fig.axes[0].get_xlabel()


def test_seen_and_hidden_overlays_the_groups_instead_of_stacking_them(data):
    """Each group's histogram starts from zero, so both humps keep their shape (a stack hides the lower one)."""
    x, z = data
    fig, d = H.plot_seen_and_hidden(x, z)
    right = fig.axes[1]
    drawn = [patch.get_data() for patch in right.patches]
    assert all(np.all(np.asarray(step.baseline) == 0) for step in drawn)
    for k in range(2):
        assert any(np.array_equal(step.values, d["counts_by_group"][k]) for step in drawn)
    # nothing drawn is a group stacked on another: the only sum is the unfilled outline of all heights
    totals = [patch for patch in right.patches if np.array_equal(patch.get_data().values, d["counts"])]
    assert len(totals) == 1 and not totals[0].get_fill()
    assert all(np.array_equal(step.values, d["counts_by_group"][0]) or np.array_equal(step.values, d["counts_by_group"][1])
               or np.array_equal(step.values, d["counts"]) for step in drawn)


def test_mixture_components_sum_to_the_mixture(data):
    x, _ = data
    _, d = H.plot_mixture(x, W, M, V)
    np.testing.assert_allclose(d["components"].sum(axis=0), d["mixture"])
    # each component is pi_k N(h; mu_k, sigma_k^2), checked against scipy
    expected = W[:, None] * stats.norm.pdf(d["grid"][None, :], M[:, None], np.sqrt(V)[:, None])
    np.testing.assert_allclose(d["components"], expected, rtol=1e-10)
    # the grid covers the data, and the mixture integrates to (nearly) 1 over it
    assert d["grid"][0] <= x.min() and d["grid"][-1] >= x.max()
    assert np.trapezoid(d["mixture"], d["grid"]) == pytest.approx(1.0, abs=5e-3)
    # the histogram is a density too
    assert np.sum(d["density"] * np.diff(d["edges"])) == pytest.approx(1.0)


def test_mixture_legend_names_the_groups_and_weights(data):
    x, _ = data
    fig, _ = H.plot_mixture(x, W, M, V)
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("male" in t and "0.50" in t for t in texts)
    assert any("female" in t for t in texts)
    assert any("p(x)" in t for t in texts)


def test_posterior_rows_sum_to_one_and_marks_match_em_lib():
    _, d = H.plot_posterior(W, M, V, marks=(190.0, 155.0))
    np.testing.assert_allclose(d["posterior"].sum(axis=1), 1.0)
    np.testing.assert_allclose(d["marks_posterior"], em_lib.posterior(np.array([190.0, 155.0]), W, M, V))
    # the 1.90 m person is almost surely male, the 1.55 m person almost surely female
    assert d["marks_posterior"][0, 0] > 0.99 and d["marks_posterior"][1, 1] > 0.95
    # at the crossing both groups are equally probable, between the two means
    assert M[1] < d["crossing"] < M[0]
    p = em_lib.posterior(np.array([d["crossing"]]), W, M, V)[0]
    assert p[0] == pytest.approx(0.5, abs=1e-3)


def test_likelihood_surfaces_peaks(data):
    x, z = data
    grid = np.linspace(152.0, 184.0, 33)
    _, d = H.plot_likelihood_surfaces(x, z, W, V, mu_grid=grid)
    assert d["incomplete"].shape == d["complete"].shape == (33, 33)
    # the complete-data peak is at the groups' sample means (to the grid's 1 cm)
    np.testing.assert_allclose(d["complete_peak"], d["group_means"], atol=0.5 + 1e-9)
    # the incomplete one has a peak on each side of the diagonal, near the means and near the swap
    (a0, a1), (b0, b1) = d["incomplete_peaks"]
    assert a0 > a1 and b0 < b1
    assert abs(a0 - M[0]) < 4 and abs(a1 - M[1]) < 4
    assert abs(b0 - M[1]) < 4 and abs(b1 - M[0]) < 4
    # with the variances held at (56.25, 49), the second peak is a different, lower fit, not a relabelling
    values = d["incomplete_peak_values"]
    assert values[1] < values[0] - 1.0
    r, c = np.flatnonzero(grid == b1)[0], np.flatnonzero(grid == b0)[0]
    assert values[1] == pytest.approx(d["incomplete"][r, c])


def test_swapping_the_means_is_a_relabelling_only_when_the_variances_are_equal(data):
    """Equal weights and equal variances: the two peaks mirror each other across the diagonal, at the same height."""
    x, z = data
    grid = np.linspace(152.0, 184.0, 33)
    fig, d = H.plot_likelihood_surfaces(x, z, W, np.array([52.0, 52.0]), mu_grid=grid)
    (a0, a1), (b0, b1) = d["incomplete_peaks"]
    assert (a0, a1) == (b1, b0)
    assert d["incomplete_peak_values"][0] == pytest.approx(d["incomplete_peak_values"][1], abs=1e-8)
    np.testing.assert_allclose(d["incomplete"], d["incomplete"].T, atol=1e-8)


def test_surfaces_agree_with_em_lib_at_a_grid_point(data):
    x, z = data
    grid = np.array([160.0, 170.0, 176.0])
    inc = H.incomplete_log_likelihood_grid(x, W, V, grid)
    com = H.complete_log_likelihood_grid(x, z, W, V, grid)
    # row index mu_1, column index mu_0
    assert inc[0, 2] == pytest.approx(em_lib.log_likelihood(x, W, np.array([176.0, 160.0]), V))
    lj = em_lib.log_joint(x, W, np.array([176.0, 160.0]), V)
    assert com[0, 2] == pytest.approx(lj[np.arange(x.size), z].sum())


def test_complete_data_surface_is_below_the_incomplete_one(data):
    """log p(x, z) <= log p(x) for every sample, so the complete-data sum is below l(theta) everywhere."""
    x, z = data
    grid = np.linspace(150.0, 185.0, 8)
    inc = H.incomplete_log_likelihood_grid(x, W, V, grid)
    com = H.complete_log_likelihood_grid(x, z, W, V, grid)
    assert (com <= inc + 1e-9).all()
