"""Notebook 07's figures: the numbers drawn are the right ones (nbval never compares images)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from scipy import stats  # noqa: E402

from em_lib import datasets, missing, poisson  # noqa: E402
from em_lib.plotting import deriving as pd  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_expected_days_are_n_times_the_mixture_probabilities():
    counts, days = datasets.hasselblad_deaths()
    weights, rates = datasets.HASSELBLAD_MLE
    want = days.sum() * (weights * stats.poisson.pmf(counts[:, None], rates)).sum(axis=1)
    np.testing.assert_allclose(pd.expected_days(counts, days.sum(), weights, rates), want, rtol=1e-12)


def test_frequency_table_draws_the_observed_days_and_each_fit():
    counts, days = datasets.hasselblad_deaths()
    mean = days @ counts / days.sum()
    fig, data = pd.plot_frequency_table(counts, days, {"one": ([1.0], [mean]), "two": datasets.HASSELBLAD_MLE})
    np.testing.assert_array_equal(data["observed"], days)
    assert set(data["expected"]) == {"one", "two"}
    # the notebook's reading: one Poisson expects 127 days without a death, the mixture 161 (162 observed)
    assert round(data["expected"]["one"][0]) == 127
    assert round(data["expected"]["two"][0]) == 161
    assert len(fig.axes[0].patches) == counts.size


def test_climb_reports_the_gap_its_ratio_and_monotonicity():
    gaps = 10.0 * 0.5 ** np.arange(12)
    history = np.append(-gaps[1:], 0.0)          # l(theta_t) = -gap_t, and the last iterate at the top, 0
    fig, data = pd.plot_climb(history, -gaps[0], "test")
    assert data["never_decreases"]
    assert data["ratio"] == pytest.approx(0.5, rel=1e-9)
    np.testing.assert_allclose(data["log_likelihood"], np.append(-gaps, 0.0))
    np.testing.assert_allclose(data["gap"], gaps)
    fig, data = pd.plot_climb(np.array([-3.0, -2.0, -2.5]), -4.0, "down", log_iterations=True)
    assert not data["never_decreases"]


def test_climb_on_the_notebooks_runs():
    counts, days = datasets.hasselblad_deaths()
    start = (np.array([0.3, 0.7]), np.array([1.0, 2.5]))
    _, _, history = poisson.fit_poisson_mixture(counts, days, *start, n_iter=1500)
    _, data = pd.plot_climb(history, poisson.poisson_log_likelihood(counts, days, *start), "Hasselblad",
                            log_iterations=True)
    assert data["never_decreases"] and 0.98 < data["ratio"] < 0.995


def test_filled_in_panels_draw_the_filled_rows_and_measure_their_error():
    X_full = datasets.old_faithful()
    X = datasets.old_faithful_missing()
    holes = np.isnan(X)
    mean, cov, _ = missing.fit_gaussian_missing(X, np.nanmean(X, axis=0), np.diag(np.nanvar(X, axis=0)), 30)
    expected_x, _ = missing.gaussian_missing_e_step(X, mean, cov)
    mean_filled = np.where(holes, np.nanmean(X, axis=0), X)
    fig, data = pd.plot_filled_in(X, X_full, {"mean": (mean_filled, *missing.complete_data_estimates(mean_filled)),
                                              "EM": (expected_x, mean, cov)})
    assert len(fig.axes) == 2
    np.testing.assert_array_equal(data["filled"]["EM"], expected_x[holes.any(axis=1)])
    for name, filled in (("mean", mean_filled), ("EM", expected_x)):
        for c in range(2):
            rows = holes[:, c]
            want = np.sqrt(np.mean((filled[rows, c] - X_full[rows, c]) ** 2))
            assert data["error"][name][c] == pytest.approx(want)
    # the notebook's reading: EM's fills are at most half as far off as the column means
    assert (data["error"]["EM"] < 0.6 * data["error"]["mean"]).all()
    # 2-sd semi-axes: EM's ellipse is close to the full data's, mean imputation's is not
    np.testing.assert_allclose(data["radii"]["EM"], data["radii"]["full data"], rtol=0.03)
    assert data["radii"]["mean"][0] < 0.95 * data["radii"]["full data"][0]
