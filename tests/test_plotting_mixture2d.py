"""Notebook 05's 2-D mixture figures: the ellipses drawn are the covariances' own."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from matplotlib.patches import Ellipse  # noqa: E402

from em_lib import datasets  # noqa: E402
from em_lib import mixture_nd as mnd  # noqa: E402
from em_lib.plotting import mixture2d  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_ellipse_axes_of_an_axis_aligned_covariance():
    radii, angle = mixture2d.ellipse_axes(np.diag([4.0, 9.0]), n_std=2)
    assert np.allclose(radii, [6.0, 4.0])
    assert angle == pytest.approx(90.0)


@given(st.floats(0.1, 10), st.floats(0.1, 10), st.floats(-np.pi, np.pi), st.floats(0.5, 3))
def test_the_ellipse_drawn_lies_at_the_stated_mahalanobis_distance(a, b, rotation, c):
    u = np.array([[np.cos(rotation), -np.sin(rotation)], [np.sin(rotation), np.cos(rotation)]])
    cov = u @ np.diag([a, b]) @ u.T
    radii, angle = mixture2d.ellipse_axes(cov, c)
    # the points of the Ellipse patch plot_mixture_2d draws: semi-axes radii, rotated by angle
    t = np.linspace(0.0, 2.0 * np.pi, 100)
    turn = np.radians(angle)
    rotate = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    diff = (rotate @ (radii[:, None] * np.stack([np.cos(t), np.sin(t)]))).T
    mahalanobis = np.einsum("ij,ji->i", diff, np.linalg.solve(cov, diff.T))
    assert np.allclose(mahalanobis, c**2)
    assert np.allclose(sorted(radii), sorted(c * np.sqrt([a, b])))
    # the major axis direction is an eigenvector of the largest eigenvalue
    direction = np.array([np.cos(np.radians(angle)), np.sin(np.radians(angle))])
    assert np.allclose(cov @ direction, max(a, b) * direction, atol=1e-6 * max(a, b)) or np.isclose(a, b)


def test_plot_mixture_2d_draws_radii_from_the_eigenvalues_of_the_fit():
    X = datasets.old_faithful()
    fit = mnd.fit_em_nd(X, 2, seed=0)
    fig, data = mixture2d.plot_mixture_2d(X, fit.weights, fit.means, fit.covariances)
    for k in range(2):
        eig = np.sort(np.linalg.eigvalsh(fit.covariances[k]))[::-1]
        assert np.allclose(data["radii"][k, 0], np.sqrt(eig))
        assert np.allclose(data["radii"][k, 1], 2 * np.sqrt(eig))
    patches = [p for p in fig.axes[0].patches if isinstance(p, Ellipse)]
    assert len(patches) == 4
    assert sorted(p.width / 2 for p in patches) == pytest.approx(sorted(data["radii"][:, :, 0].ravel()))
    # point colours are the hard labels of em_lib's posterior
    resp = mnd.e_step_nd(X, fit.weights, fit.means, fit.covariances)
    assert np.array_equal(data["labels"], resp.argmax(axis=1))


def test_plot_partition_counts_the_points_of_each_centre():
    X = datasets.old_faithful()
    centres, labels, _ = mnd.kmeans(X, 3, seed=0)
    fig, data = mixture2d.plot_partition(X, labels, centres)
    assert data["counts"].sum() == X.shape[0]
    assert np.array_equal(data["counts"], np.bincount(labels, minlength=3))
    assert len(fig.axes[0].collections) == 3
