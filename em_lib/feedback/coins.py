r"""Feedback for notebook 06: ``two_coins_em`` and ``three_coins_em``.

Each classic mistake is written out as the wrong function it describes, so a
learner's answer that matches one of them gets that mistake named in words.
The references are :func:`em_lib.two_coins_em` and :func:`em_lib.three_coins_em`.

Entry points used by the notebook:

- ``self_check_two_coins_em(fn)``, ``self_check_three_coins_em(fn)``: the visible
  self-check cells; print one line per check;
- ``check_two_coins_em(fn, **inputs)``, ``check_three_coins_em(fn, **inputs)``:
  one comparison, for the graded test cells; raise ``AssertionError`` explaining
  the mistake, return a one-line confirmation when right.
"""

import numpy as np

from .. import coins as _coins
from .. import datasets as _datasets
from .core import Misconception, Mistake, check, graded, run_self_check

# --------------------------------------------------------------------------
# Two coins (Do and Batzoglou 2008)
# --------------------------------------------------------------------------


def _log_binomial_terms(heads, tosses, theta):
    """(m,) log of theta^h (1-theta)^(n-h): the probability of one set's sequence under a coin."""
    return heads * np.log(theta) + (tosses - heads) * np.log1p(-theta)


def _two_coins_loop(heads, n_tosses, theta_a, theta_b, n_iter, step):
    """Run ``step(heads, tosses, theta_a, theta_b) -> (theta_a, theta_b)`` ``n_iter`` times."""
    heads = np.asarray(heads, dtype=float)
    tosses = np.broadcast_to(np.asarray(n_tosses, dtype=float), heads.shape)
    theta_a, theta_b = float(theta_a), float(theta_b)
    with np.errstate(all="ignore"):
        for _ in range(n_iter):
            theta_a, theta_b = step(heads, tosses, theta_a, theta_b)
            theta_a, theta_b = float(theta_a), float(theta_b)
    return theta_a, theta_b


def _posterior_a(heads, tosses, theta_a, theta_b):
    log_a = _log_binomial_terms(heads, tosses, theta_a)
    log_b = _log_binomial_terms(heads, tosses, theta_b)
    return 1.0 / (1.0 + np.exp(log_b - log_a))


def _correct_two_coins_step(heads, tosses, theta_a, theta_b):
    p_a = _posterior_a(heads, tosses, theta_a, theta_b)
    p_b = 1.0 - p_a
    return p_a @ heads / (p_a @ tosses), p_b @ heads / (p_b @ tosses)


def _hard_assignment_step(heads, tosses, theta_a, theta_b):
    p_a = (_posterior_a(heads, tosses, theta_a, theta_b) >= 0.5).astype(float)
    p_b = 1.0 - p_a
    return p_a @ heads / (p_a @ tosses), p_b @ heads / (p_b @ tosses)


def _unnormalised_step(heads, tosses, theta_a, theta_b):
    w_a = np.exp(_log_binomial_terms(heads, tosses, theta_a))
    w_b = np.exp(_log_binomial_terms(heads, tosses, theta_b))
    return w_a @ heads / (w_a @ tosses), w_b @ heads / (w_b @ tosses)


def _heads_only_posterior_step(heads, tosses, theta_a, theta_b):
    log_a = heads * np.log(theta_a)
    log_b = heads * np.log(theta_b)
    p_a = 1.0 / (1.0 + np.exp(log_b - log_a))
    p_b = 1.0 - p_a
    return p_a @ heads / (p_a @ tosses), p_b @ heads / (p_b @ tosses)


def _divide_by_all_tosses_step(heads, tosses, theta_a, theta_b):
    p_a = _posterior_a(heads, tosses, theta_a, theta_b)
    return p_a @ heads / tosses.sum(), (1.0 - p_a) @ heads / tosses.sum()


def _divide_by_sets_step(heads, tosses, theta_a, theta_b):
    p_a = _posterior_a(heads, tosses, theta_a, theta_b)
    return p_a @ (heads / tosses) / heads.size, (1.0 - p_a) @ (heads / tosses) / heads.size


def _same_weight_for_both_step(heads, tosses, theta_a, theta_b):
    p_a = _posterior_a(heads, tosses, theta_a, theta_b)
    estimate = p_a @ heads / (p_a @ tosses)
    return estimate, estimate


def _only_a_updated_step(heads, tosses, theta_a, theta_b):
    p_a = _posterior_a(heads, tosses, theta_a, theta_b)
    return p_a @ heads / (p_a @ tosses), theta_b


def _sequential_step(heads, tosses, theta_a, theta_b):
    p_a = _posterior_a(heads, tosses, theta_a, theta_b)
    new_a = p_a @ heads / (p_a @ tosses)
    p_b = 1.0 - _posterior_a(heads, tosses, new_a, theta_b)
    return new_a, p_b @ heads / (p_b @ tosses)


def _with_step(step, shift=0):
    def answer(heads, n_tosses, theta_a, theta_b, n_iter):
        return _two_coins_loop(heads, n_tosses, theta_a, theta_b, n_iter + shift, step)

    return answer


def _prior_estimated_answer(heads, n_tosses, theta_a, theta_b, n_iter):
    """EM that also re-estimates the prior of coin A (as the three-coin model does), from 1/2."""
    heads = np.asarray(heads, dtype=float)
    tosses = np.broadcast_to(np.asarray(n_tosses, dtype=float), heads.shape)
    theta_a, theta_b, prior = float(theta_a), float(theta_b), 0.5
    with np.errstate(all="ignore"):
        for _ in range(n_iter):
            log_a = np.log(prior) + _log_binomial_terms(heads, tosses, theta_a)
            log_b = np.log(1.0 - prior) + _log_binomial_terms(heads, tosses, theta_b)
            p_a = 1.0 / (1.0 + np.exp(log_b - log_a))
            prior = float(p_a.mean())
            theta_a = float(p_a @ heads / (p_a @ tosses))
            theta_b = float((1.0 - p_a) @ heads / ((1.0 - p_a) @ tosses))
    return theta_a, theta_b


def _swapped_answer(heads, n_tosses, theta_a, theta_b, n_iter):
    new_a, new_b = _two_coins_loop(heads, n_tosses, theta_a, theta_b, n_iter, _correct_two_coins_step)
    return new_b, new_a


#: A loop of range(1, n_iter): in both coin problems.
ONE_ITERATION_TOO_FEW = Misconception(
    "one_iteration_too_few",
    "It did one iteration too few: the loop should run exactly n_iter E- and M-steps "
    "(range(n_iter), not range(1, n_iter)).",
)

TWO_COINS_MISTAKES = (
    Mistake(
        "hard_em",
        "It matches a 'hard' EM: each set was given wholly to the coin that explains it "
        "better (weight 1 or 0). EM gives each set to coin A with its posterior probability "
        "P(A | h_j), a number between 0 and 1, and counts that fraction of its heads and tosses "
        "for A, the rest for B. Revisit the E-step.",
        _with_step(_hard_assignment_step),
    ),
    Mistake(
        "coin_weights_not_normalised",
        "The weights were not normalised: each set was weighted by theta^h (1-theta)^(n-h) itself "
        "instead of by the posterior P(A | h_j) = that number for A divided by the sum of the numbers "
        "for A and B. The posterior of A and of B must add up to 1 for every set.",
        _with_step(_unnormalised_step),
    ),
    Mistake(
        "tails_factor_forgotten",
        "The posterior used only the heads, theta^h, and forgot the tails factor (1-theta)^(n-h). "
        "The probability of a sequence under a coin is theta^h (1-theta)^(n-h).",
        _with_step(_heads_only_posterior_step),
    ),
    Mistake(
        "divided_by_all_tosses",
        "The M-step divided the expected heads of a coin by the total number of tosses of all sets. "
        "A coin's bias is its expected heads divided by ITS expected tosses: "
        "theta_A = sum_j P(A|h_j) h_j / sum_j P(A|h_j) n_j.",
        _with_step(_divide_by_all_tosses_step),
    ),
    Mistake(
        "fractions_averaged_over_sets",
        "The M-step averaged the weighted fractions over the number of sets (sum_j P(A|h_j) h_j/n_j "
        "divided by m). Divide by the weighted number of tosses instead: "
        "theta_A = sum_j P(A|h_j) h_j / sum_j P(A|h_j) n_j.",
        _with_step(_divide_by_sets_step),
    ),
    Mistake(
        "same_weights_for_both_coins",
        "Both coins were given the same weights P(A | h_j). Coin B's weights are "
        "P(B | h_j) = 1 - P(A | h_j).",
        _with_step(_same_weight_for_both_step),
    ),
    Mistake(
        "only_theta_a_updated",
        "Only theta_A moved; theta_B stayed at its starting value. The M-step updates both coins, "
        "theta_B with the weights 1 - P(A | h_j).",
        _with_step(_only_a_updated_step),
    ),
    Mistake(
        "coins_swapped",
        "theta_A and theta_B came back swapped: return (theta_a, theta_b) in that order, and keep "
        "coin A's new value in theta_a inside the loop. (EM treats the two coins alike, so storing "
        "A's update in B at every iteration shows up as a swap after an odd number of iterations.)",
        _swapped_answer,
    ),
    Mistake(
        "e_step_redone_for_theta_b",
        "theta_B was updated with posteriors recomputed from the NEW theta_A. In one EM iteration "
        "the E-step is done once, at the old parameters, and both coins are then updated from it.",
        _with_step(_sequential_step),
    ),
    ONE_ITERATION_TOO_FEW.with_answer(_with_step(_correct_two_coins_step, shift=-1)),
    Mistake(
        "coin_prior_re_estimated",
        "The prior of the coins was re-estimated (as pi is in the three-coin model). In this problem "
        "each set comes from A or B with a FIXED probability 1/2, which is not a parameter: keep the "
        "prior at 1/2 in every E-step, so that P(A | h_j) compares only theta_A^h (1-theta_A)^(n-h) "
        "with theta_B^h (1-theta_B)^(n-h).",
        _prior_estimated_answer,
    ),
    Mistake(
        "one_iteration_too_many",
        "It did one iteration too many: the loop should run exactly n_iter E- and M-steps.",
        _with_step(_correct_two_coins_step, shift=+1),
    ),
)


@graded
def check_two_coins_em(fn, heads, n_tosses, theta_a, theta_b, n_iter):
    """Compare ``fn`` with :func:`em_lib.two_coins_em` on these inputs; explain a classic mistake."""
    kwargs = dict(
        heads=np.array(heads), n_tosses=np.array(n_tosses), theta_a=theta_a, theta_b=theta_b, n_iter=n_iter
    )
    what = f"two_coins_em(heads={list(np.asarray(heads).tolist())}, ..., n_iter={n_iter})"
    return check(fn, kwargs, _coins.two_coins_em, TWO_COINS_MISTAKES, what=what)


def self_check_two_coins_em(fn):
    """The visible self-check of notebook 06's Exercise 6.1: one line per check."""
    heads, tosses = _datasets.two_coins()
    start_a, start_b = _datasets.TWO_COINS_START
    other_heads = np.array([3, 17, 12, 1, 9, 14])
    other_tosses = np.array([8, 20, 15, 6, 12, 20])

    def paper_after_ten():
        check_two_coins_em.verdict(fn, heads, tosses, start_a, start_b, 10)
        got = tuple(round(float(v), 2) for v in fn(heads=heads, n_tosses=tosses, theta_a=start_a,
                                                    theta_b=start_b, n_iter=10))
        if got != _datasets.TWO_COINS_AFTER_10:
            raise AssertionError(f"rounded to 2 decimals this gives {got}, the paper says {_datasets.TWO_COINS_AFTER_10}")

    run_self_check(
        [
            ("one iteration from the paper's start (0.6, 0.5)",
             lambda: check_two_coins_em.verdict(fn, heads, tosses, start_a, start_b, 1)),
            ("two iterations from the paper's start",
             lambda: check_two_coins_em.verdict(fn, heads, tosses, start_a, start_b, 2)),
            ("ten iterations give the paper's (0.80, 0.52)", paper_after_ten),
            ("sets of different lengths, start (0.3, 0.8), 5 iterations",
             lambda: check_two_coins_em.verdict(fn, other_heads, other_tosses, 0.3, 0.8, 5)),
        ]
    )


# --------------------------------------------------------------------------
# Three coins (Li Hang, Example 9.1)
# --------------------------------------------------------------------------


def _three_coins_loop(y, pi, p, q, n_iter, step):
    y = np.asarray(y, dtype=float)
    pi, p, q = float(pi), float(p), float(q)
    with np.errstate(all="ignore"):
        for _ in range(n_iter):
            pi, p, q = (float(v) for v in step(y, pi, p, q))
    return pi, p, q


def _mu(y, pi, p, q):
    from_b = pi * p**y * (1.0 - p) ** (1.0 - y)
    from_c = (1.0 - pi) * q**y * (1.0 - q) ** (1.0 - y)
    return from_b / (from_b + from_c)


def _correct_three_step(y, pi, p, q):
    mu = _mu(y, pi, p, q)
    return mu.mean(), mu @ y / mu.sum(), (1.0 - mu) @ y / (1.0 - mu).sum()


def _mu_swapped_step(y, pi, p, q):
    mu = _mu(y, pi, q, p)
    return mu.mean(), mu @ y / mu.sum(), (1.0 - mu) @ y / (1.0 - mu).sum()


def _mu_without_pi_step(y, pi, p, q):
    mu = _mu(y, 0.5, p, q)
    return mu.mean(), mu @ y / mu.sum(), (1.0 - mu) @ y / (1.0 - mu).sum()


def _q_with_mu_step(y, pi, p, q):
    mu = _mu(y, pi, p, q)
    return mu.mean(), mu @ y / mu.sum(), mu @ y / mu.sum()


def _pi_fixed_step(y, pi, p, q):
    mu = _mu(y, pi, p, q)
    return pi, mu @ y / mu.sum(), (1.0 - mu) @ y / (1.0 - mu).sum()


def _divide_by_n_step(y, pi, p, q):
    mu = _mu(y, pi, p, q)
    return mu.mean(), mu @ y / y.size, (1.0 - mu) @ y / y.size


def _pi_from_y_step(y, pi, p, q):
    mu = _mu(y, pi, p, q)
    return mu @ y / y.size, mu @ y / mu.sum(), (1.0 - mu) @ y / (1.0 - mu).sum()


def _three_with_step(step, shift=0):
    def answer(y, pi, p, q, n_iter):
        return _three_coins_loop(y, pi, p, q, n_iter + shift, step)

    return answer


THREE_COINS_MISTAKES = (
    Mistake(
        "p_and_q_swapped_in_mu",
        "mu_j was computed with p and q swapped. mu_j is the probability that toss j came from "
        "coin B, so its numerator is pi p^y (1-p)^(1-y), with B's bias p; coin C's bias q goes "
        "with 1 - pi.",
        _three_with_step(_mu_swapped_step),
    ),
    Mistake(
        "prior_left_out_of_mu",
        "mu_j left out the prior: it used p^y (1-p)^(1-y) / (p^y (1-p)^(1-y) + q^y (1-q)^(1-y)). "
        "The posterior weighs each coin by how often coin A picks it: pi for B and 1 - pi for C.",
        _three_with_step(_mu_without_pi_step),
    ),
    Mistake(
        "q_updated_with_mu",
        "q was updated with the weights mu_j, the same as p. Toss j came from coin C with "
        "probability 1 - mu_j, so q = sum_j (1-mu_j) y_j / sum_j (1-mu_j).",
        _three_with_step(_q_with_mu_step),
    ),
    Mistake(
        "pi_not_updated",
        "pi was never updated. The M-step also re-estimates coin A: pi = (1/n) sum_j mu_j, the "
        "average probability that coin B was picked.",
        _three_with_step(_pi_fixed_step),
    ),
    Mistake(
        "p_and_q_divided_by_n",
        "p and q were divided by n, the number of tosses, instead of by the expected number of "
        "tosses of each coin, sum_j mu_j for B and sum_j (1 - mu_j) for C.",
        _three_with_step(_divide_by_n_step),
    ),
    Mistake(
        "pi_from_heads_only",
        "pi was computed from the heads only (sum_j mu_j y_j / n). pi is the average of ALL the "
        "mu_j, heads and tails alike: pi = (1/n) sum_j mu_j.",
        _three_with_step(_pi_from_y_step),
    ),
    ONE_ITERATION_TOO_FEW.with_answer(_three_with_step(_correct_three_step, shift=-1),
                                      " (With n_iter = 1 it returned the starting values.)"),
)


@graded
def check_three_coins_em(fn, y, pi, p, q, n_iter):
    """Compare ``fn`` with :func:`em_lib.three_coins_em` on these inputs; explain a classic mistake."""
    kwargs = dict(y=np.array(y), pi=pi, p=p, q=q, n_iter=n_iter)
    what = f"three_coins_em(y, pi={pi}, p={p}, q={q}, n_iter={n_iter})"
    return check(fn, kwargs, _coins.three_coins_em, THREE_COINS_MISTAKES, what=what)


def self_check_three_coins_em(fn):
    """The visible self-check of notebook 06's Exercise 6.2: one line per check."""
    y = _datasets.three_coins()
    other = np.array([0, 1, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1])
    run_self_check(
        [
            ("Li Hang's start (0.5, 0.5, 0.5): one iteration gives (0.5, 0.6, 0.6)",
             lambda: check_three_coins_em.verdict(fn, y, 0.5, 0.5, 0.5, 1)),
            ("Li Hang's start (0.4, 0.6, 0.7): one iteration gives (0.4064, 0.5368, 0.6432)",
             lambda: check_three_coins_em.verdict(fn, y, 0.4, 0.6, 0.7, 1)),
            ("Li Hang's start (0.4, 0.6, 0.7), three iterations",
             lambda: check_three_coins_em.verdict(fn, y, 0.4, 0.6, 0.7, 3)),
            ("other tosses, start (0.3, 0.2, 0.9), one iteration",
             lambda: check_three_coins_em.verdict(fn, other, 0.3, 0.2, 0.9, 1)),
        ]
    )
