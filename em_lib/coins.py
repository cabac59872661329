r"""EM beyond Gaussians: two mixtures of coins (notebook 06).

The recipe is the same as for the heights: the E-step is the posterior of the
hidden coin given what was seen, the M-step maximises the bound, which for
coins means a responsibility-weighted fraction of heads.

The marginal (incomplete-data) log-likelihoods of the observed tosses, the hidden
coin summed out, are :func:`two_coins_log_likelihood` and
:func:`three_coins_log_likelihood`: EM never decreases them.
"""

import numpy as np

from ._checks import (
    broadcast_together,
    check_heads,
    check_open_unit,
    check_positive_int,
    check_probabilities,
    check_tosses,
)


def two_coins_log_likelihood(heads, n_tosses, theta_a, theta_b):
    r"""Marginal log-likelihood of the two-coin model, broadcast over arrays of ``theta_a``, ``theta_b``.

    .. math::
        \ell(\theta_A, \theta_B) = \sum_j \log\Big(\tfrac12\theta_A^{h_j}(1-\theta_A)^{n_j-h_j}
        + \tfrac12\theta_B^{h_j}(1-\theta_B)^{n_j-h_j}\Big)

    the probability of the observed sequences (no binomial coefficient: the order of
    the tosses is seen), each set from coin A or B with prior 1/2. Computed in log space.

    Parameters
    ----------
    heads : array_like, shape (m,)
        Heads in each set of tosses.
    n_tosses : int or array_like, shape (m,)
        Tosses in each set.
    theta_a, theta_b : float or array_like
        Probabilities of heads in [0, 1], of any shapes that broadcast together.

    Returns
    -------
    float or ndarray
        :math:`\ell`, of the broadcast shape of ``theta_a`` and ``theta_b``; ``-inf`` where a
        bias of exactly 0 or 1 makes the data impossible.
    """
    heads, tosses = check_heads(heads, n_tosses)
    ta, tb = broadcast_together((("theta_a", check_probabilities(theta_a, "theta_a")),
                         ("theta_b", check_probabilities(theta_b, "theta_b"))))
    with np.errstate(divide="ignore", invalid="ignore"):
        log_a = np.log(0.5) + _log_sequence(heads, tosses, ta[..., None])
        log_b = np.log(0.5) + _log_sequence(heads, tosses, tb[..., None])
        total = np.logaddexp(log_a, log_b).sum(axis=-1)
    return float(total) if total.ndim == 0 else total


def _log_sequence(heads, tosses, theta):
    """log theta^h (1 - theta)^(n - h), with 0 log 0 = 0 (a certain coin and no such outcome)."""
    log_heads = np.where(heads > 0, heads * np.log(theta), 0.0)
    log_tails = np.where(tosses - heads > 0, (tosses - heads) * np.log1p(-theta), 0.0)
    return log_heads + log_tails


def three_coins_log_likelihood(y, pi, p, q):
    r"""Marginal log-likelihood of Li Hang's three-coin model, broadcast over arrays of ``pi, p, q``.

    :math:`\ell(\pi,p,q) = \sum_j \log\big(\pi p^{y_j}(1-p)^{1-y_j} + (1-\pi)q^{y_j}(1-q)^{1-y_j}\big)`.
    Each toss is heads with probability :math:`r = \pi p + (1-\pi) q`, so with h heads
    among n tosses this is :math:`h\log r + (n-h)\log(1-r)`: it depends on the three
    parameters only through r (notebook 06).

    Parameters
    ----------
    y : array_like, shape (n,)
        Outcomes of the tosses seen, 1 for heads, 0 for tails.
    pi, p, q : float or array_like
        Probabilities in [0, 1], of any shapes that broadcast together.

    Returns
    -------
    float or ndarray
        :math:`\ell`, of the broadcast shape of ``pi``, ``p`` and ``q``.
    """
    y = check_tosses(y)
    pi, p, q = broadcast_together(
        tuple((name, check_probabilities(v, name)) for name, v in (("pi", pi), ("p", p), ("q", q)))
    )
    heads, n = y.sum(), y.size
    r = pi * p + (1.0 - pi) * q
    with np.errstate(divide="ignore", invalid="ignore"):
        total = (np.where(heads > 0, heads * np.log(r), 0.0)
                 + np.where(n - heads > 0, (n - heads) * np.log1p(-r), 0.0))
    return float(total) if total.ndim == 0 else total


def two_coins_posterior_a(heads, n_tosses, theta_a, theta_b):
    r"""The posterior probability that each set of tosses came from coin A (notebook 06, eq. 6.1).

    :math:`P(A \mid h) = \frac{\theta_A^h(1-\theta_A)^{n-h}}{\theta_A^h(1-\theta_A)^{n-h} + \theta_B^h(1-\theta_B)^{n-h}}`,
    with equal priors, computed in log space.

    Parameters
    ----------
    heads : array_like, shape (m,)
        Heads in each set of tosses.
    n_tosses : int or array_like, shape (m,)
        Tosses in each set.
    theta_a, theta_b : float
        The coins' probabilities of heads, strictly between 0 and 1.

    Returns
    -------
    ndarray, shape (m,)
        :math:`P(A \mid h_j)` for each set.
    """
    heads, tosses = check_heads(heads, n_tosses)
    theta_a = check_open_unit(theta_a, "theta_a")
    theta_b = check_open_unit(theta_b, "theta_b")
    log_a = heads * np.log(theta_a) + (tosses - heads) * np.log1p(-theta_a)
    log_b = heads * np.log(theta_b) + (tosses - heads) * np.log1p(-theta_b)
    # 1 / (1 + e^t) written as e^(-log(1 + e^t)): no overflow warning when coin B is far likelier.
    return np.exp(-np.logaddexp(0.0, log_b - log_a))


def two_coins_em(heads, n_tosses, theta_a, theta_b, n_iter):
    r"""EM for two coins (Do and Batzoglou 2008): each set of tosses came from coin A or B with probability 1/2.

    E-step: the posterior of coin A for each set (notebook 06, eq. 6.1); M-step (eq. 6.2):
    :math:`\theta_A = \sum_j P(A\mid h_j) h_j / \sum_j P(A \mid h_j) n_j`, and likewise for B.

    Parameters
    ----------
    heads : array_like, shape (m,)
        Heads in each set of tosses.
    n_tosses : int or array_like, shape (m,)
        Tosses in each set.
    theta_a, theta_b : float
        The starting probabilities of heads, strictly between 0 and 1.
    n_iter : int
        Number of iterations, >= 1.

    Returns
    -------
    theta_a, theta_b : float
        The estimates after ``n_iter`` iterations.
    """
    heads, tosses = check_heads(heads, n_tosses)
    n_iter = check_positive_int(n_iter, "n_iter")
    for t in range(n_iter):
        p_a = two_coins_posterior_a(heads, tosses, theta_a, theta_b)
        p_b = two_coins_posterior_a(heads, tosses, theta_b, theta_a)  # = 1 - p_a, without losing digits
        for name, coin, p_coin in (("theta_a", "A", p_a), ("theta_b", "B", p_b)):
            if not p_coin @ tosses > 0:
                raise ValueError(
                    f"{name}: at iteration {t} coin {coin} explains none of the sets (its posterior "
                    f"underflowed to 0 for every set), so {name} is 0/0; start {name} nearer the data"
                )
        theta_a = float(p_a @ heads / (p_a @ tosses))
        theta_b = float(p_b @ heads / (p_b @ tosses))
        for name, value in (("theta_a", theta_a), ("theta_b", theta_b)):
            if not 0.0 < value < 1.0:
                raise ValueError(
                    f"{name} reached {value} at iteration {t}: a coin that always (or never) "
                    "shows heads makes the other outcome impossible; start from other values"
                )
    return theta_a, theta_b


def three_coins_posterior_b(y, pi, p, q):
    r"""The posterior probability :math:`\mu_j` that toss j was made with coin B (notebook 06, eq. 6.3).

    Li Hang's eq. 9.5:
    :math:`\mu_j = \frac{\pi p^{y_j}(1-p)^{1-y_j}}{\pi p^{y_j}(1-p)^{1-y_j} + (1-\pi) q^{y_j}(1-q)^{1-y_j}}`.

    Parameters
    ----------
    y : array_like, shape (n,)
        Outcomes of the tosses seen, 1 for heads, 0 for tails.
    pi, p, q : float
        Probabilities of heads of coins A, B and C, strictly between 0 and 1.

    Returns
    -------
    ndarray, shape (n,)
        :math:`\mu_j` for each toss.
    """
    y = check_tosses(y)
    pi, p, q = (check_open_unit(v, name) for v, name in ((pi, "pi"), (p, "p"), (q, "q")))
    from_b = pi * np.where(y == 1, p, 1.0 - p)
    from_c = (1.0 - pi) * np.where(y == 1, q, 1.0 - q)
    return from_b / (from_b + from_c)


def three_coins_em(y, pi, p, q, n_iter):
    r"""EM for Li Hang's three-coin model (Example 9.1): coin A chooses coin B or C, whose toss is seen.

    E-step: :func:`three_coins_posterior_b` (notebook 06, eq. 6.3); M-step (eq. 6.4; Li Hang,
    eqs. 9.6 to 9.8): :math:`\pi = \frac1n\sum_j\mu_j`, :math:`p = \sum_j\mu_j y_j/\sum_j\mu_j`,
    :math:`q = \sum_j(1-\mu_j)y_j/\sum_j(1-\mu_j)`.

    Parameters
    ----------
    y : array_like, shape (n,)
        Outcomes of the tosses seen, 1 for heads, 0 for tails.
    pi, p, q : float
        Starting probabilities of heads of coins A (B chosen), B and C, strictly between 0 and 1.
    n_iter : int
        Number of iterations, >= 1.

    Returns
    -------
    pi, p, q : float
        The estimates after ``n_iter`` iterations.
    """
    y = check_tosses(y)
    n_iter = check_positive_int(n_iter, "n_iter")
    for t in range(n_iter):
        mu = three_coins_posterior_b(y, pi, p, q)
        for name, coin, share in (("p", "B", mu.sum()), ("q", "C", (1.0 - mu).sum())):
            if not share > 0:
                raise ValueError(
                    f"{name}: at iteration {t} coin {coin} was chosen for none of the tosses "
                    f"(pi = {pi!r}), so {name} is 0/0; start pi further from 0 and 1"
                )
        pi = float(mu.mean())
        p = float(mu @ y / mu.sum())
        q = float((1.0 - mu) @ y / (1.0 - mu).sum())
        for name, value in (("pi", pi), ("p", p), ("q", q)):
            if not 0.0 < value < 1.0:
                raise ValueError(
                    f"{name} reached {value} at iteration {t}; EM cannot continue from a "
                    "certain coin: start from other values"
                )
    return pi, p, q
