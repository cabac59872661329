r"""EM beyond Gaussians: two mixtures of coins (notebook 06).

The recipe is the same as for the heights: the E-step is the posterior of the
hidden coin given what was seen, the M-step maximises the bound, which for
coins means a responsibility-weighted fraction of heads.

The marginal (incomplete-data) log-likelihoods of the observed tosses, the hidden
coin summed out, are :func:`two_coins_log_likelihood` and
:func:`three_coins_log_likelihood`: EM never decreases them.
"""

import numpy as np

from ._checks import as_float_array, check_finite, check_open_unit, check_positive_int, show


def _check_counts(heads, n_tosses):
    heads = as_float_array(heads, "heads")
    if heads.ndim != 1 or heads.size == 0:
        raise ValueError(f"heads must be a non-empty 1-D array of head counts, got shape {heads.shape}")
    check_finite(heads, "heads")
    tosses = as_float_array(n_tosses, "n_tosses")
    if tosses.ndim != 0 and tosses.shape != heads.shape:
        raise ValueError(
            f"n_tosses must be one number or an array of shape {heads.shape} like heads, "
            f"got shape {tosses.shape}"
        )
    tosses = np.broadcast_to(tosses, heads.shape)
    check_finite(tosses, "n_tosses")
    if (tosses <= 0).any() or (tosses != np.round(tosses)).any():
        raise ValueError(f"n_tosses must be positive whole numbers, got {show(n_tosses)}")
    if (heads < 0).any() or (heads > tosses).any() or (heads != np.round(heads)).any():
        raise ValueError("heads must be whole numbers between 0 and n_tosses for each set")
    return heads, tosses


def _check_probabilities(value, name):
    """Finite probabilities in [0, 1], any shape. Returns a float64 array."""
    v = as_float_array(value, name)
    check_finite(v, name)
    if ((v < 0.0) | (v > 1.0)).any():
        raise ValueError(f"{name} must hold probabilities between 0 and 1, got {show(value)}")
    return v


def _broadcast(names_and_values):
    """The arrays broadcast together, or a ValueError naming them and their shapes."""
    try:
        return np.broadcast_arrays(*(v for _, v in names_and_values))
    except ValueError:
        shapes = ", ".join(f"{name} {np.shape(v)}" for name, v in names_and_values)
        raise ValueError(f"the shapes of {shapes} do not broadcast together") from None


def two_coins_log_likelihood(heads, n_tosses, theta_a, theta_b):
    r"""Marginal log-likelihood of the two-coin model, broadcast over arrays of ``theta_a``, ``theta_b``.

    .. math::
        \ell(\theta_A, \theta_B) = \sum_j \log\Big(\tfrac12\theta_A^{h_j}(1-\theta_A)^{n_j-h_j}
        + \tfrac12\theta_B^{h_j}(1-\theta_B)^{n_j-h_j}\Big)

    the probability of the observed sequences (no binomial coefficient: the order of
    the tosses is seen), each set from coin A or B with prior 1/2. ``heads`` and
    ``n_tosses`` are validated as for :func:`two_coins_em` ((m,) counts); ``theta_a`` and
    ``theta_b`` are probabilities in [0, 1] of any shapes that broadcast together, and
    the result has their broadcast shape (a float for two numbers). Computed in log
    space; a bias of exactly 0 or 1 that makes the data impossible gives ``-inf``.
    """
    heads, tosses = _check_counts(heads, n_tosses)
    ta, tb = _broadcast((("theta_a", _check_probabilities(theta_a, "theta_a")),
                         ("theta_b", _check_probabilities(theta_b, "theta_b"))))
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
    parameters only through r (notebook 06). ``y`` holds 0/1 outcomes as for
    :func:`three_coins_em`; ``pi``, ``p``, ``q`` are probabilities in [0, 1] of any shapes
    that broadcast together, and the result has their broadcast shape (a float for three
    numbers).
    """
    y = _check_tosses(y)
    pi, p, q = _broadcast(tuple((name, _check_probabilities(v, name)) for name, v in (("pi", pi), ("p", p), ("q", q))))
    heads, n = y.sum(), y.size
    r = pi * p + (1.0 - pi) * q
    with np.errstate(divide="ignore", invalid="ignore"):
        total = (np.where(heads > 0, heads * np.log(r), 0.0)
                 + np.where(n - heads > 0, (n - heads) * np.log1p(-r), 0.0))
    return float(total) if total.ndim == 0 else total


def two_coins_posterior_a(heads, n_tosses, theta_a, theta_b):
    r"""(m,) probabilities that each set of tosses came from coin A (equal prior).

    :math:`P(A \mid h) = \frac{\theta_A^h(1-\theta_A)^{n-h}}{\theta_A^h(1-\theta_A)^{n-h} + \theta_B^h(1-\theta_B)^{n-h}}`,
    computed in log space (notebook 06, eq. 6.1).
    """
    heads, tosses = _check_counts(heads, n_tosses)
    theta_a = check_open_unit(theta_a, "theta_a")
    theta_b = check_open_unit(theta_b, "theta_b")
    log_a = heads * np.log(theta_a) + (tosses - heads) * np.log1p(-theta_a)
    log_b = heads * np.log(theta_b) + (tosses - heads) * np.log1p(-theta_b)
    # 1 / (1 + e^t) written as e^(-log(1 + e^t)): no overflow warning when coin B is far likelier.
    return np.exp(-np.logaddexp(0.0, log_b - log_a))


def two_coins_em(heads, n_tosses, theta_a, theta_b, n_iter):
    r"""``(theta_a, theta_b)`` after ``n_iter`` EM iterations (Do and Batzoglou 2008).

    ``heads`` (m,) holds the heads in each set of ``n_tosses`` tosses; each set
    came from coin A or coin B with probability 1/2. E-step: the posterior of
    coin A for each set; M-step (notebook 06, eq. 6.2):
    :math:`\theta_A = \sum_j P(A\mid h_j) h_j / \sum_j P(A \mid h_j) n_j`, and likewise for B.
    """
    heads, tosses = _check_counts(heads, n_tosses)
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


def _check_tosses(y):
    y = as_float_array(y, "y")
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"y must be a non-empty 1-D array of 0/1 outcomes, got shape {y.shape}")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("y must hold only 0 (tails) and 1 (heads)")
    return y


def three_coins_posterior_b(y, pi, p, q):
    r"""(n,) probabilities :math:`\mu_j` that toss j was made with coin B (Li Hang, eq. 9.5).

    :math:`\mu_j = \frac{\pi p^{y_j}(1-p)^{1-y_j}}{\pi p^{y_j}(1-p)^{1-y_j} + (1-\pi) q^{y_j}(1-q)^{1-y_j}}`.
    """
    y = _check_tosses(y)
    pi, p, q = (check_open_unit(v, name) for v, name in ((pi, "pi"), (p, "p"), (q, "q")))
    from_b = pi * np.where(y == 1, p, 1.0 - p)
    from_c = (1.0 - pi) * np.where(y == 1, q, 1.0 - q)
    return from_b / (from_b + from_c)


def three_coins_em(y, pi, p, q, n_iter):
    r"""``(pi, p, q)`` after ``n_iter`` EM iterations of Li Hang's three-coin model (Example 9.1).

    Coin A (heads with probability ``pi``) chooses coin B (``p``) or coin C (``q``);
    only the chosen coin's toss ``y`` (0/1) is seen. M-step (Li Hang, eqs. 9.6 to 9.8):
    :math:`\pi = \frac1n\sum_j\mu_j`, :math:`p = \sum_j\mu_j y_j/\sum_j\mu_j`,
    :math:`q = \sum_j(1-\mu_j)y_j/\sum_j(1-\mu_j)`.
    """
    y = _check_tosses(y)
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
