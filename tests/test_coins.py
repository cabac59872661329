"""Tests of em_lib.coins: the two-coin and three-coin EM of notebook 06.

The published numbers come from the sources themselves, written here by hand:
Do and Batzoglou (2008), Nature Biotechnology 26(8):897-899, Figure 1b; and Li Hang,
统计学习方法, chapter 9, Example 9.1.
"""

import warnings

import numpy as np
import pytest
from hypothesis import given, reject
from hypothesis import strategies as st

from em_lib import coins, three_coins_em, two_coins_em
from em_lib.coins import three_coins_posterior_b, two_coins_posterior_a
from em_lib.datasets import TWO_COINS_AFTER_10, TWO_COINS_START, three_coins, two_coins


# ---------------------------------------------------------------------------
# Do and Batzoglou (2008), Figure 1b
# ---------------------------------------------------------------------------

def test_the_dataset_constants_are_the_papers():
    assert TWO_COINS_START == (0.60, 0.50)
    assert TWO_COINS_AFTER_10 == (0.80, 0.52)


def test_two_coins_first_e_step_matches_figure_1b():
    """The figure's E-step column: P(coin A) of each set is 0.45, 0.80, 0.73, 0.35, 0.65."""
    heads, n_tosses = two_coins()
    p_a = two_coins_posterior_a(heads, n_tosses, 0.6, 0.5)
    np.testing.assert_array_equal(np.round(p_a, 2), [0.45, 0.80, 0.73, 0.35, 0.65])
    # The figure's expected counts: coin A ~ 21.3 H, 8.6 T; coin B ~ 11.7 H, 8.4 T.
    assert round(p_a @ heads, 1) == 21.3
    assert round(p_a @ (n_tosses - heads), 1) == 8.6
    assert round((1 - p_a) @ heads, 1) == 11.7
    assert round((1 - p_a) @ (n_tosses - heads), 1) == 8.4


def test_two_coins_first_iteration_matches_figure_1b():
    """theta_A(1) ~ 0.71, theta_B(1) ~ 0.58."""
    theta_a, theta_b = two_coins_em(*two_coins(), 0.6, 0.5, 1)
    assert (round(theta_a, 2), round(theta_b, 2)) == (0.71, 0.58)


def test_two_coins_after_ten_iterations_matches_the_paper():
    """theta_A(10) ~ 0.80, theta_B(10) ~ 0.52."""
    theta_a, theta_b = two_coins_em(*two_coins(), 0.60, 0.50, 10)
    assert (round(theta_a, 2), round(theta_b, 2)) == (0.80, 0.52)


def two_coins_log_likelihood(heads, n_tosses, theta_a, theta_b):
    """log P(heads) = sum_j log(1/2 A_j + 1/2 B_j), A_j = theta_A^h (1 - theta_A)^(n - h), up to a constant."""
    heads, n_tosses = np.asarray(heads, float), np.asarray(n_tosses, float)
    log_a = heads * np.log(theta_a) + (n_tosses - heads) * np.log(1 - theta_a)
    log_b = heads * np.log(theta_b) + (n_tosses - heads) * np.log(1 - theta_b)
    return float(np.sum(np.logaddexp(log_a, log_b) + np.log(0.5)))


def test_two_coins_likelihood_never_decreases_on_the_papers_data():
    heads, n_tosses = two_coins()
    lls = [two_coins_log_likelihood(heads, n_tosses, 0.6, 0.5)]
    for n_iter in range(1, 21):
        lls.append(two_coins_log_likelihood(heads, n_tosses, *two_coins_em(heads, n_tosses, 0.6, 0.5, n_iter)))
    assert np.all(np.diff(lls) >= -1e-12 * np.abs(lls[:-1]))
    assert lls[-1] > lls[0] + 0.5  # and it actually climbs


coin_probability = st.floats(0.02, 0.98)


@st.composite
def coin_sets(draw):
    m = draw(st.integers(1, 8))
    n_tosses = np.array(draw(st.lists(st.integers(1, 20), min_size=m, max_size=m)))
    heads = np.array([draw(st.integers(0, int(n))) for n in n_tosses])
    return heads, n_tosses


def _or_reject(fn, *args):
    """A coin driven to 0 or 1 is refused by design (ValueError); skip such inputs."""
    try:
        return fn(*args)
    except ValueError as exc:
        if "reached" in str(exc):
            reject()
        raise


@given(coin_sets(), coin_probability, coin_probability, st.integers(1, 15))
def test_two_coins_likelihood_never_decreases(sets, theta_a, theta_b, n_iter):
    heads, n_tosses = sets
    before = two_coins_log_likelihood(heads, n_tosses, theta_a, theta_b)
    previous = before
    new = (theta_a, theta_b)
    for _ in range(n_iter):
        new = _or_reject(two_coins_em, heads, n_tosses, *new, 1)
        ll = two_coins_log_likelihood(heads, n_tosses, *new)
        assert ll >= previous - 1e-12 * abs(previous)
        previous = ll


@given(coin_sets(), coin_probability, coin_probability, st.integers(1, 6), st.integers(1, 6))
def test_two_coins_iterations_compose(sets, theta_a, theta_b, a, b):
    """a iterations then b more is a + b iterations: the function is the loop, not something else."""
    heads, n_tosses = sets
    straight = _or_reject(two_coins_em, heads, n_tosses, theta_a, theta_b, a + b)
    halfway = _or_reject(two_coins_em, heads, n_tosses, theta_a, theta_b, a)
    np.testing.assert_allclose(two_coins_em(heads, n_tosses, *halfway, b), straight, rtol=1e-12)


@given(coin_sets(), coin_probability, coin_probability, st.integers(1, 10))
def test_two_coins_swapping_the_start_swaps_the_result(sets, theta_a, theta_b, n_iter):
    """With equal priors the labels A and B are arbitrary (label switching, notebook 05)."""
    heads, n_tosses = sets
    a, b = _or_reject(two_coins_em, heads, n_tosses, theta_a, theta_b, n_iter)
    b2, a2 = two_coins_em(heads, n_tosses, theta_b, theta_a, n_iter)
    np.testing.assert_allclose([a2, b2], [a, b], rtol=1e-12)


def test_two_coins_says_when_a_coin_explains_no_set_instead_of_dividing_0_by_0():
    """10 000 tosses a set, mostly heads, coin A started at 0.01: its posterior is 0.0 for
    every set. A ValueError naming theta_a, not 'theta_a reached nan' after a 0/0 warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"^theta_a: .*coin A explains none of the sets"):
            two_coins_em([9000, 8000], 10_000, 0.01, 0.9, 1)


def test_two_coins_accepts_a_single_number_of_tosses_for_every_set():
    heads, n_tosses = two_coins()
    assert two_coins_em(heads, 10, 0.6, 0.5, 10) == two_coins_em(heads, n_tosses, 0.6, 0.5, 10)


def test_two_coins_refuses_to_drive_a_coin_to_certainty():
    """Every set all heads: coin A's estimate reaches 1 and EM cannot go on; a ValueError, not NaN."""
    with pytest.raises(ValueError, match="theta_a"):
        two_coins_em([10, 10], 10, 0.6, 0.5, 5)


# ---------------------------------------------------------------------------
# Li Hang, 统计学习方法, Example 9.1
# ---------------------------------------------------------------------------

def test_three_coins_data_is_the_books():
    np.testing.assert_array_equal(three_coins(), [1, 1, 0, 1, 0, 0, 1, 0, 1, 1])


@pytest.mark.parametrize("n_iter", [1, 2, 10])
def test_three_coins_from_one_half_gives_the_books_answer(n_iter):
    """Start pi = p = q = 0.5: after one iteration (0.5, 0.6, 0.6), and EM stays there."""
    np.testing.assert_allclose(three_coins_em(three_coins(), 0.5, 0.5, 0.5, n_iter), (0.5, 0.6, 0.6), rtol=1e-12)


@pytest.mark.parametrize("n_iter", [1, 2, 10])
def test_three_coins_from_the_books_second_start(n_iter):
    """Start (0.4, 0.6, 0.7): the book gives (0.4064, 0.5368, 0.6432)."""
    got = three_coins_em(three_coins(), 0.4, 0.6, 0.7, n_iter)
    assert tuple(round(v, 4) for v in got) == (0.4064, 0.5368, 0.6432)


def test_three_coins_first_e_step_by_hand():
    """From (0.4, 0.6, 0.7): mu = 0.4*0.6 / (0.4*0.6 + 0.6*0.7) = 4/11 for heads,
    0.4*0.4 / (0.4*0.4 + 0.6*0.3) = 8/17 for tails."""
    y = three_coins()
    mu = three_coins_posterior_b(y, 0.4, 0.6, 0.7)
    np.testing.assert_allclose(mu, np.where(y == 1, 4 / 11, 8 / 17), rtol=1e-14)


def three_coins_log_likelihood(y, pi, p, q):
    """log P(y) = sum_j log(pi p^y (1-p)^(1-y) + (1-pi) q^y (1-q)^(1-y))."""
    y = np.asarray(y, float)
    from_b = pi * p**y * (1 - p) ** (1 - y)
    from_c = (1 - pi) * q**y * (1 - q) ** (1 - y)
    return float(np.log(from_b + from_c).sum())


@given(
    st.lists(st.integers(0, 1), min_size=1, max_size=30).map(np.array),
    coin_probability, coin_probability, coin_probability, st.integers(1, 10),
)
def test_three_coins_likelihood_never_decreases(y, pi, p, q, n_iter):
    previous = three_coins_log_likelihood(y, pi, p, q)
    params = (pi, p, q)
    for _ in range(n_iter):
        params = _or_reject(three_coins_em, y, *params, 1)
        ll = three_coins_log_likelihood(y, *params)
        assert ll >= previous - 1e-12 * abs(previous)
        previous = ll


@given(
    st.lists(st.integers(0, 1), min_size=1, max_size=30).map(np.array),
    coin_probability, coin_probability, coin_probability, st.integers(1, 6), st.integers(1, 6),
)
def test_three_coins_iterations_compose(y, pi, p, q, a, b):
    straight = _or_reject(three_coins_em, y, pi, p, q, a + b)
    halfway = _or_reject(three_coins_em, y, pi, p, q, a)
    np.testing.assert_allclose(three_coins_em(y, *halfway, b), straight, rtol=1e-12)


def test_three_coins_says_when_coin_b_is_never_chosen_instead_of_dividing_0_by_0():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"^p: .*coin B was chosen for none of the tosses"):
            three_coins_em([1, 1, 0], 5e-324, 0.5, 0.4, 1)


def test_three_coins_refuses_to_drive_a_coin_to_certainty():
    """All tosses heads: p and q reach 1; a ValueError that names the parameter, not NaN."""
    with pytest.raises(ValueError, match=r"\bp\b|\bq\b"):
        three_coins_em([1, 1, 1], 0.5, 0.6, 0.7, 3)


# ---------------------------------------------------------------------------
# The marginal log-likelihoods of em_lib.coins (used by the figures)
# ---------------------------------------------------------------------------

def _brute_two_coins(heads, n_tosses, theta_a, theta_b):
    """The sum written out, one set at a time, with plain powers."""
    return sum(
        np.log(0.5 * theta_a**h * (1 - theta_a) ** (n - h) + 0.5 * theta_b**h * (1 - theta_b) ** (n - h))
        for h, n in zip(heads, n_tosses)
    )


def _brute_three_coins(y, pi, p, q):
    return sum(np.log(pi * p**v * (1 - p) ** (1 - v) + (1 - pi) * q**v * (1 - q) ** (1 - v)) for v in y)


def test_two_coins_log_likelihood_matches_the_sum_written_out():
    heads, n_tosses = two_coins()
    for ta, tb in [(0.6, 0.5), (0.1, 0.9), (0.8, 0.52), (0.5, 0.5)]:
        value = coins.two_coins_log_likelihood(heads, n_tosses, ta, tb)
        assert isinstance(value, float)
        assert value == pytest.approx(_brute_two_coins(heads, n_tosses, ta, tb), rel=1e-12)
    assert coins.two_coins_log_likelihood([3, 7], 10, 0.6, 0.5) == pytest.approx(
        _brute_two_coins([3, 7], [10, 10], 0.6, 0.5), rel=1e-12
    )
    # helper of this file (log P up to the same constant) agrees too
    assert coins.two_coins_log_likelihood(heads, n_tosses, 0.3, 0.7) == pytest.approx(
        two_coins_log_likelihood(heads, n_tosses, 0.3, 0.7), rel=1e-12
    )


def test_two_coins_log_likelihood_broadcasts_over_a_grid_and_is_symmetric():
    heads, n_tosses = two_coins()
    ta, tb = np.meshgrid([0.2, 0.5, 0.7], [0.3, 0.6])
    grid = coins.two_coins_log_likelihood(heads, n_tosses, ta, tb)
    assert grid.shape == (2, 3)
    for i in range(2):
        for j in range(3):
            assert grid[i, j] == pytest.approx(_brute_two_coins(heads, n_tosses, ta[i, j], tb[i, j]), rel=1e-12)
    swapped = coins.two_coins_log_likelihood(heads, n_tosses, tb, ta)
    np.testing.assert_allclose(swapped, grid, rtol=1e-12)          # relabelling the coins changes nothing
    assert coins.two_coins_log_likelihood(heads, n_tosses, [0.2, 0.4], 0.5).shape == (2,)


def test_two_coins_log_likelihood_at_certain_coins():
    # a coin that always shows heads: possible only for the sets that are all heads
    assert coins.two_coins_log_likelihood([10], [10], 1.0, 0.5) == pytest.approx(np.log(0.5 + 0.5 * 0.5**10))
    assert coins.two_coins_log_likelihood([0], [10], 0.0, 0.0) == pytest.approx(0.0)
    assert coins.two_coins_log_likelihood([4], [10], 1.0, 0.0) == -np.inf


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: coins.two_coins_log_likelihood([3, 5], [10, 10], 1.2, 0.5), r"theta_a must hold probabilities between 0 and 1.*1.2"),
        (lambda: coins.two_coins_log_likelihood([3, 5], [10, 10], 0.5, [np.nan]), r"theta_b must be finite"),
        (lambda: coins.two_coins_log_likelihood([3, 5], [10, 10], [0.1, 0.2], [0.3, 0.4, 0.5]), r"theta_a \(2,\), theta_b \(3,\) do not broadcast"),
        (lambda: coins.two_coins_log_likelihood([3, 12], [10, 10], 0.5, 0.5), r"heads must be whole numbers between 0 and n_tosses"),
        (lambda: coins.two_coins_log_likelihood([], 10, 0.5, 0.5), r"heads must be a non-empty 1-D array"),
        (lambda: coins.three_coins_log_likelihood([0, 1, 2], 0.5, 0.5, 0.5), r"y must hold only 0 \(tails\) and 1 \(heads\)"),
        (lambda: coins.three_coins_log_likelihood([0, 1], -0.1, 0.5, 0.5), r"pi must hold probabilities between 0 and 1"),
        (lambda: coins.three_coins_log_likelihood([0, 1], 0.5, "a", 0.5), r"p must be numeric"),
        (lambda: coins.three_coins_log_likelihood([0, 1], [0.1, 0.2], 0.5, [0.1, 0.2, 0.3]), r"pi \(2,\), p \(\), q \(3,\) do not broadcast"),
    ],
)
def test_the_log_likelihoods_validate_their_inputs(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_three_coins_log_likelihood_matches_the_sum_and_depends_only_on_p_heads():
    y = three_coins()
    for pi, p, q in [(0.5, 0.5, 0.5), (0.4, 0.6, 0.7), (0.2, 0.9, 0.05)]:
        value = coins.three_coins_log_likelihood(y, pi, p, q)
        assert isinstance(value, float)
        assert value == pytest.approx(_brute_three_coins(y, pi, p, q), rel=1e-12)
    # the book's two fits have P(y = 1) = 0.6: the same, largest, log-likelihood
    best = 6 * np.log(0.6) + 4 * np.log(0.4)
    assert coins.three_coins_log_likelihood(y, 0.5, 0.6, 0.6) == pytest.approx(best, rel=1e-12)
    assert coins.three_coins_log_likelihood(y, *three_coins_em(y, 0.4, 0.6, 0.7, 1)) == pytest.approx(best, rel=1e-9)
    grid = coins.three_coins_log_likelihood(y, np.array([[0.2], [0.8]]), np.array([0.3, 0.6, 0.9]), 0.5)
    assert grid.shape == (2, 3)
    assert grid[1, 2] == pytest.approx(_brute_three_coins(y, 0.8, 0.9, 0.5), rel=1e-12)
    assert coins.three_coins_log_likelihood([1, 1], 1.0, 1.0, 0.3) == 0.0     # certain heads, all heads


@given(st.lists(st.integers(0, 1), min_size=1, max_size=20), st.floats(0.05, 0.95), st.floats(0.05, 0.95),
       st.floats(0.05, 0.95), st.integers(1, 4))
def test_em_never_decreases_em_libs_three_coins_log_likelihood(y, pi, p, q, n_iter):
    before = coins.three_coins_log_likelihood(y, pi, p, q)
    try:
        after = coins.three_coins_log_likelihood(y, *three_coins_em(y, pi, p, q, n_iter))
    except ValueError:
        reject()
    assert after >= before - 1e-9 * max(1.0, abs(before))
    assert after == pytest.approx(three_coins_log_likelihood(y, *three_coins_em(y, pi, p, q, n_iter)), rel=1e-9)
