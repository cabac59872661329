"""Tests of em_lib.datasets: the data every notebook starts from.

Expected numbers come from the sources, not from em_lib: the NHANES 2015-2018 mean
heights (Fryar et al. 2021: men 175.3 cm, women 161.3 cm), R's ``datasets::faithful``
(``summary(faithful)``, ``head(faithful)``), and Do and Batzoglou's Figure 1.
"""

import numpy as np
import pytest

from em_lib.datasets import (
    HASSELBLAD_MLE,
    HEIGHT_GROUPS,
    HEIGHTS_TRUE,
    TWO_COINS_SEQUENCES,
    hasselblad_deaths,
    heights,
    old_faithful,
    old_faithful_missing,
    three_coins,
    two_coins,
)

# ---------------------------------------------------------------------------
# Heights
# ---------------------------------------------------------------------------


def test_heights_true_holds_the_nhanes_means_in_group_order():
    assert HEIGHT_GROUPS == ("male", "female")
    weights, means, variances = HEIGHTS_TRUE
    np.testing.assert_array_equal(means, [175.3, 161.3])
    np.testing.assert_array_equal(weights, [0.5, 0.5])
    assert np.all(variances > 10)  # variances (cm^2), not standard deviations (cm)


def test_heights_shapes_and_labels():
    x, z = heights(n=50, seed=3)
    assert x.shape == z.shape == (50,)
    assert x.dtype == np.float64
    assert np.issubdtype(z.dtype, np.integer)
    assert set(np.unique(z)) <= {0, 1}


def test_heights_are_reproducible_with_a_seed():
    x1, z1 = heights(n=200, seed=42)
    x2, z2 = heights(n=200, seed=42)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(z1, z2)


def test_different_seeds_give_different_heights():
    x1, _ = heights(n=200, seed=1)
    x2, _ = heights(n=200, seed=2)
    assert not np.array_equal(x1, x2)


def test_heights_default_call_is_reproducible():
    np.testing.assert_array_equal(heights()[0], heights()[0])
    assert heights()[0].shape == (1000,)


def test_large_samples_match_the_model_and_labels_match_the_group_names():
    """With 50 000 people each group's mean is within 0.25 cm (about 5 standard errors) of
    NHANES's, and the label 0 is the taller group: HEIGHT_GROUPS[0] is "male"."""
    x, z = heights(n=50_000, seed=0)
    male, female = HEIGHT_GROUPS.index("male"), HEIGHT_GROUPS.index("female")
    assert x[z == male].mean() == pytest.approx(175.3, abs=0.25)
    assert x[z == female].mean() == pytest.approx(161.3, abs=0.25)
    assert x[z == male].std() == pytest.approx(np.sqrt(HEIGHTS_TRUE[2][male]), abs=0.2)
    assert x[z == female].std() == pytest.approx(np.sqrt(HEIGHTS_TRUE[2][female]), abs=0.2)
    assert np.mean(z == male) == pytest.approx(0.5, abs=0.01)
    assert x.mean() == pytest.approx(0.5 * 175.3 + 0.5 * 161.3, abs=0.2)
    assert 120 < x.min() and x.max() < 220  # plausible adult heights in cm


# ---------------------------------------------------------------------------
# Old Faithful: R's datasets::faithful
# ---------------------------------------------------------------------------


def test_old_faithful_has_rs_272_eruptions_in_two_columns():
    data = old_faithful()
    assert data.shape == (272, 2)
    assert data.dtype == np.float64
    assert np.all(np.isfinite(data))


def test_old_faithful_matches_rs_summary():
    """summary(faithful): eruptions mean 3.488, range 1.600-5.100; waiting mean 70.9, range 43-96."""
    data = old_faithful()
    np.testing.assert_allclose(data.mean(axis=0), [3.4878, 70.8971], atol=5e-5)
    np.testing.assert_array_equal(data.min(axis=0), [1.6, 43.0])
    np.testing.assert_array_equal(data.max(axis=0), [5.1, 96.0])


def test_old_faithful_starts_like_rs_head():
    """head(faithful, 3): 3.600 79 / 1.800 54 / 3.333 74 (the header line is not a row)."""
    np.testing.assert_array_equal(old_faithful()[:3], [[3.6, 79.0], [1.8, 54.0], [3.333, 74.0]])


def test_old_faithful_durations_and_waits_go_together():
    """The two clusters of notebook 05: long eruptions come with long waits (r = 0.90)."""
    r = np.corrcoef(old_faithful().T)[0, 1]
    assert round(r, 2) == 0.90


def test_old_faithful_returns_a_fresh_array_each_time():
    data = old_faithful()
    data[:] = 0.0
    assert old_faithful().mean() > 1.0


# ---------------------------------------------------------------------------
# Coins
# ---------------------------------------------------------------------------


def test_two_coins_are_the_papers_five_sets_of_ten():
    heads, n_tosses = two_coins()
    np.testing.assert_array_equal(heads, [5, 9, 8, 4, 7])
    np.testing.assert_array_equal(n_tosses, [10, 10, 10, 10, 10])
    assert all(set(s) <= {"H", "T"} for s in TWO_COINS_SEQUENCES)


def test_three_coins_are_li_hangs_ten_observations():
    y = three_coins()
    np.testing.assert_array_equal(y, [1, 1, 0, 1, 0, 0, 1, 0, 1, 1])
    assert y.shape == (10,)


# ---------------------------------------------------------------------------
# Hasselblad (1969): deaths of women aged 80 and over in London, 1910 to 1912
# ---------------------------------------------------------------------------


def test_hasselblad_table_is_the_published_one():
    """The table as Hasselblad (1969) gives it and the R package SQUAREM ships it (tests/Hasselblad1969.R)."""
    counts, frequencies = hasselblad_deaths()
    np.testing.assert_array_equal(counts, np.arange(10))
    np.testing.assert_array_equal(frequencies, [162, 267, 271, 185, 111, 61, 27, 8, 3, 1])
    assert np.issubdtype(counts.dtype, np.integer) and np.issubdtype(frequencies.dtype, np.integer)


def test_hasselblad_table_covers_every_day_of_the_three_years():
    """1910 and 1911 have 365 days, 1912 is a leap year: 1096 days, one count each."""
    _, frequencies = hasselblad_deaths()
    assert frequencies.sum() == 365 + 365 + 366
    counts, frequencies = hasselblad_deaths()
    assert frequencies @ counts == 2364


def test_hasselblad_published_fit_is_squarems_record_ordered_by_rate():
    weights, rates = HASSELBLAD_MLE
    np.testing.assert_allclose(weights, [0.3598853970090, 0.6401146029910], rtol=0, atol=1e-13)
    np.testing.assert_allclose(rates, [1.2560951012662, 2.6634043566619], rtol=0, atol=1e-13)
    assert weights.sum() == pytest.approx(1.0)
    assert rates[0] < rates[1]


def test_hasselblad_returns_fresh_arrays():
    counts, frequencies = hasselblad_deaths()
    frequencies[:] = 0
    assert hasselblad_deaths()[1].sum() == 1096


# ---------------------------------------------------------------------------
# Old Faithful with holes (notebook 07, Part B)
# ---------------------------------------------------------------------------


def test_old_faithful_missing_removes_one_value_from_some_rows_and_keeps_the_rest():
    full = old_faithful()
    holed = old_faithful_missing(fraction=0.3, seed=0)
    missing = np.isnan(holed)
    assert holed.shape == full.shape
    assert missing.sum(axis=1).max() == 1                    # every row keeps at least one value
    np.testing.assert_array_equal(holed[~missing], full[~missing])
    assert (missing.any(axis=1).sum(), missing[:, 0].sum(), missing[:, 1].sum()) == (71, 30, 41)


def test_old_faithful_missing_is_reproducible_and_its_fraction_is_a_probability():
    np.testing.assert_array_equal(old_faithful_missing(0.5, seed=3), old_faithful_missing(0.5, seed=3))
    assert not np.isnan(old_faithful_missing(0.0)).any()
    assert np.isnan(old_faithful_missing(1.0)).any(axis=1).all()
    rows = np.isnan(old_faithful_missing(0.5, seed=1)).any(axis=1).mean()
    assert 0.4 < rows < 0.6
    with pytest.raises(ValueError, match="fraction must be a probability"):
        old_faithful_missing(1.5)
