"""Notebook 06's feedback: every classic mistake, written as a wrong function, is named.

Each wrong function below is what a learner might write; the self-check must
fail for it with the mistake's own explanation, pass for em_lib's reference and
say "not written yet" for the unimplemented stub of the release.
"""

import numpy as np
import pytest

import em_lib
from em_lib import datasets
from em_lib.feedback import coins as fb
from self_checks import SelfCheck, self_check_tests


def _posterior_a(heads, n_tosses, theta_a, theta_b):
    like_a = theta_a**heads * (1 - theta_a) ** (n_tosses - heads)
    like_b = theta_b**heads * (1 - theta_b) ** (n_tosses - heads)
    return like_a / (like_a + like_b)


def _biases(w, heads, n_tosses):
    """The right M-step: each coin's expected heads over its expected tosses, with weights w for coin A."""
    return w @ heads / (w @ n_tosses), (1 - w) @ heads / ((1 - w) @ n_tosses)


def two_coins_written_out(heads, n_tosses, theta_a, theta_b, n_iter):
    """A correct learner's version, written independently of em_lib (no log space)."""
    heads, n_tosses = np.asarray(heads, float), np.asarray(n_tosses, float)
    for _ in range(n_iter):
        w = _posterior_a(heads, n_tosses, theta_a, theta_b)
        theta_a, theta_b = _biases(w, heads, n_tosses)
    return theta_a, theta_b


def two_hard(heads, n_tosses, theta_a, theta_b, n_iter):
    heads, n_tosses = np.asarray(heads, float), np.asarray(n_tosses, float)
    for _ in range(n_iter):
        w = (_posterior_a(heads, n_tosses, theta_a, theta_b) > 0.5).astype(float)
        theta_a, theta_b = _biases(w, heads, n_tosses)
    return theta_a, theta_b


def two_unnormalised(heads, n_tosses, theta_a, theta_b, n_iter):
    heads, n_tosses = np.asarray(heads, float), np.asarray(n_tosses, float)
    for _ in range(n_iter):
        wa = theta_a**heads * (1 - theta_a) ** (n_tosses - heads)
        wb = theta_b**heads * (1 - theta_b) ** (n_tosses - heads)
        theta_a, theta_b = (wa @ heads / (wa @ n_tosses), wb @ heads / (wb @ n_tosses))
    return theta_a, theta_b


def two_no_tails(heads, n_tosses, theta_a, theta_b, n_iter):
    heads, n_tosses = np.asarray(heads, float), np.asarray(n_tosses, float)
    for _ in range(n_iter):
        w = theta_a**heads / (theta_a**heads + theta_b**heads)
        theta_a, theta_b = _biases(w, heads, n_tosses)
    return theta_a, theta_b


def two_all_tosses(heads, n_tosses, theta_a, theta_b, n_iter):
    heads, n_tosses = np.asarray(heads, float), np.asarray(n_tosses, float)
    for _ in range(n_iter):
        w = _posterior_a(heads, n_tosses, theta_a, theta_b)
        theta_a, theta_b = w @ heads / n_tosses.sum(), (1 - w) @ heads / n_tosses.sum()
    return theta_a, theta_b


def two_per_set(heads, n_tosses, theta_a, theta_b, n_iter):
    heads, n_tosses = np.asarray(heads, float), np.asarray(n_tosses, float)
    for _ in range(n_iter):
        w = _posterior_a(heads, n_tosses, theta_a, theta_b)
        frac = heads / n_tosses
        theta_a, theta_b = (w * frac).sum() / len(heads), ((1 - w) * frac).sum() / len(heads)
    return theta_a, theta_b


def two_same_weights(heads, n_tosses, theta_a, theta_b, n_iter):
    heads, n_tosses = np.asarray(heads, float), np.asarray(n_tosses, float)
    for _ in range(n_iter):
        w = _posterior_a(heads, n_tosses, theta_a, theta_b)
        theta_a = theta_b = w @ heads / (w @ n_tosses)
    return theta_a, theta_b


def two_only_a(heads, n_tosses, theta_a, theta_b, n_iter):
    heads, n_tosses = np.asarray(heads, float), np.asarray(n_tosses, float)
    for _ in range(n_iter):
        w = _posterior_a(heads, n_tosses, theta_a, theta_b)
        theta_a = w @ heads / (w @ n_tosses)
    return theta_a, theta_b


def two_returned_swapped(heads, n_tosses, theta_a, theta_b, n_iter):
    a, b = two_coins_written_out(heads, n_tosses, theta_a, theta_b, n_iter)
    return b, a


def two_swapped_each_time(heads, n_tosses, theta_a, theta_b, n_iter):
    heads, n_tosses = np.asarray(heads, float), np.asarray(n_tosses, float)
    for _ in range(n_iter):
        w = _posterior_a(heads, n_tosses, theta_a, theta_b)
        theta_b, theta_a = _biases(w, heads, n_tosses)
    return theta_a, theta_b


def two_sequential(heads, n_tosses, theta_a, theta_b, n_iter):
    heads, n_tosses = np.asarray(heads, float), np.asarray(n_tosses, float)
    for _ in range(n_iter):
        w = _posterior_a(heads, n_tosses, theta_a, theta_b)
        theta_a = w @ heads / (w @ n_tosses)
        w = _posterior_a(heads, n_tosses, theta_a, theta_b)
        theta_b = (1 - w) @ heads / ((1 - w) @ n_tosses)
    return theta_a, theta_b


def two_one_short(heads, n_tosses, theta_a, theta_b, n_iter):
    return two_coins_written_out(heads, n_tosses, theta_a, theta_b, n_iter - 1)


def two_one_long(heads, n_tosses, theta_a, theta_b, n_iter):
    return two_coins_written_out(heads, n_tosses, theta_a, theta_b, n_iter + 1)


def two_prior_estimated(heads, n_tosses, theta_a, theta_b, n_iter):
    """The prior of coin A re-estimated each iteration, as pi in the three-coin model."""
    heads, n_tosses = np.asarray(heads, float), np.asarray(n_tosses, float)
    prior = 0.5
    for _ in range(n_iter):
        a = prior * theta_a**heads * (1 - theta_a) ** (n_tosses - heads)
        b = (1 - prior) * theta_b**heads * (1 - theta_b) ** (n_tosses - heads)
        w = a / (a + b)
        prior = w.mean()
        theta_a, theta_b = _biases(w, heads, n_tosses)
    return float(theta_a), float(theta_b)


TWO_WRONG = [
    (two_hard, "hard"),
    (two_prior_estimated, "The prior of the coins was re-estimated"),
    (two_unnormalised, "not normalised"),
    (two_no_tails, "forgot the tails"),
    (two_all_tosses, "total number of tosses of all sets"),
    (two_per_set, "number of sets"),
    (two_same_weights, "same weights"),
    (two_only_a, "Only theta_A moved"),
    (two_returned_swapped, "came back swapped"),
    (two_swapped_each_time, "came back swapped"),
    (two_sequential, "NEW theta_A"),
    (two_one_short, "one iteration too few"),
    (two_one_long, "one iteration too many"),
]


def test_two_coins_reference_reproduces_the_paper():
    heads, tosses = datasets.two_coins()
    a, b = em_lib.two_coins_em(heads, tosses, *datasets.TWO_COINS_START, 10)
    assert (round(a, 2), round(b, 2)) == datasets.TWO_COINS_AFTER_10


def test_check_two_coins_returns_confirmation_and_explains_wrong_shape():
    heads, tosses = datasets.two_coins()
    assert fb.check_two_coins_em.verdict(em_lib.two_coins_em, heads, tosses, 0.6, 0.5, 3).endswith("correct")
    with pytest.raises(AssertionError, match="tuple of 2"):
        fb.check_two_coins_em.verdict(lambda **kw: 0.5, heads, tosses, 0.6, 0.5, 3)


def test_two_coins_mistakes_differ_from_the_reference_on_self_check_inputs():
    """A mistake that agreed with the reference everywhere could never be reported."""
    heads, tosses = datasets.two_coins()
    kwargs = dict(heads=heads, n_tosses=tosses, theta_a=0.6, theta_b=0.5, n_iter=2)
    right = em_lib.two_coins_em(**kwargs)
    for mistake in fb.TWO_COINS_MISTAKES:
        with np.errstate(all="ignore"):
            wrong = mistake.answer(**kwargs)
        assert not np.allclose(wrong, right), mistake.explanation


# --------------------------------------------------------------------------
# three coins


def _mu(y, pi, p, q):
    b = pi * p**y * (1 - p) ** (1 - y)
    c = (1 - pi) * q**y * (1 - q) ** (1 - y)
    return b / (b + c)


def _pi_p_q(y, mu):
    """The right M-step: pi, the probability of tossing coin B, then B's and C's probabilities of heads."""
    return mu.mean(), (mu * y).sum() / mu.sum(), ((1 - mu) * y).sum() / (1 - mu).sum()


def three_written_out(y, pi, p, q, n_iter):
    y = np.asarray(y, float)
    for _ in range(n_iter):
        mu = _mu(y, pi, p, q)
        pi, p, q = _pi_p_q(y, mu)
    return pi, p, q


def three_swapped_mu(y, pi, p, q, n_iter):
    y = np.asarray(y, float)
    for _ in range(n_iter):
        mu = _mu(y, pi, q, p)
        pi, p, q = _pi_p_q(y, mu)
    return pi, p, q


def three_no_prior(y, pi, p, q, n_iter):
    y = np.asarray(y, float)
    for _ in range(n_iter):
        mu = _mu(y, 0.5, p, q)
        pi, p, q = _pi_p_q(y, mu)
    return pi, p, q


def three_q_with_mu(y, pi, p, q, n_iter):
    y = np.asarray(y, float)
    for _ in range(n_iter):
        mu = _mu(y, pi, p, q)
        pi, p, q = mu.mean(), (mu * y).sum() / mu.sum(), (mu * y).sum() / mu.sum()
    return pi, p, q


def three_pi_fixed(y, pi, p, q, n_iter):
    y = np.asarray(y, float)
    for _ in range(n_iter):
        mu = _mu(y, pi, p, q)
        p, q = (mu * y).sum() / mu.sum(), ((1 - mu) * y).sum() / (1 - mu).sum()
    return pi, p, q


def three_divide_by_n(y, pi, p, q, n_iter):
    y = np.asarray(y, float)
    for _ in range(n_iter):
        mu = _mu(y, pi, p, q)
        pi, p, q = mu.mean(), (mu * y).sum() / len(y), ((1 - mu) * y).sum() / len(y)
    return pi, p, q


def three_pi_from_heads(y, pi, p, q, n_iter):
    y = np.asarray(y, float)
    for _ in range(n_iter):
        mu = _mu(y, pi, p, q)
        pi, p, q = (mu * y).sum() / len(y), (mu * y).sum() / mu.sum(), ((1 - mu) * y).sum() / (1 - mu).sum()
    return pi, p, q


def three_one_short(y, pi, p, q, n_iter):
    return three_written_out(y, pi, p, q, n_iter - 1)


THREE_WRONG = [
    (three_swapped_mu, "p and q swapped"),
    (three_no_prior, "left out the prior"),
    (three_q_with_mu, "q was updated with the weights mu_j"),
    (three_pi_fixed, "pi was never updated"),
    (three_divide_by_n, "divided by n"),
    (three_pi_from_heads, "from the heads only"),
    (three_one_short, "one iteration too few"),
]


SELF_CHECKS = {
    "two_coins_em": SelfCheck(fb.self_check_two_coins_em, TWO_WRONG, (em_lib.two_coins_em, two_coins_written_out), 4),
    "three_coins_em": SelfCheck(fb.self_check_three_coins_em, THREE_WRONG, (em_lib.three_coins_em, three_written_out), 4),
}

test_self_check_names_each_mistake, test_self_check_passes_correct_code, test_stub_is_not_written_yet = (
    self_check_tests(SELF_CHECKS))

def test_three_coins_reference_reproduces_li_hang():
    y = datasets.three_coins()
    assert np.allclose(em_lib.three_coins_em(y, 0.5, 0.5, 0.5, 1), (0.5, 0.6, 0.6))
    assert np.allclose(em_lib.three_coins_em(y, 0.4, 0.6, 0.7, 2), (0.4064, 0.5368, 0.6432), atol=5e-5)


def test_three_coins_unknown_error_is_described():
    y = datasets.three_coins()
    with pytest.raises(AssertionError, match="differs from the reference"):
        fb.check_three_coins_em.verdict(lambda **kw: (0.1, 0.2, 0.3), y, 0.4, 0.6, 0.7, 1)


def test_an_estimated_prior_is_right_for_one_iteration_and_named_after_more():
    """The prior starts at 1/2, so the first iteration is EM's; the mistake shows from the second on."""
    heads, tosses = datasets.two_coins()
    assert fb.check_two_coins_em.verdict(two_prior_estimated, heads, tosses, 0.6, 0.5, 1).endswith("correct")
    for n_iter in (2, 10):
        with pytest.raises(AssertionError, match="FIXED probability 1/2"):
            fb.check_two_coins_em.verdict(two_prior_estimated, heads, tosses, 0.6, 0.5, n_iter)
