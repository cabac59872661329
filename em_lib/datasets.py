"""The course's data: simulated heights, Old Faithful (whole, and with holes), the coin-tossing
examples, and Hasselblad's deaths per day in London.

Kept apart from the maths so that the estimators never depend on where data came from.
"""

from importlib import resources

import numpy as np

from ._checks import check_positive_int

#: Names of the hidden components of the heights model, in component order.
HEIGHT_GROUPS = ("male", "female")

#: True parameters of the heights model: (weights, means, variances), heights in cm.
#: Means are the measured mean heights of adults aged 20 and over in NHANES 2015-2018
#: (Fryar C.D., Carroll M.D., Gu Q., Afful J., Ogden C.L., "Anthropometric reference data
#: for children and adults: United States, 2015-2018", National Center for Health
#: Statistics, Vital Health Stat 3(46), 2021): men 175.3 cm, women 161.3 cm. The report
#: gives means and percentiles rather than standard deviations; the standard deviations
#: used here, 7.5 cm and 7.0 cm, are round values of the spread its percentiles imply.
#: Weights: half men, half women.
HEIGHTS_TRUE = (
    np.array([0.5, 0.5]),
    np.array([175.3, 161.3]),
    np.array([7.5**2, 7.0**2]),
)


def heights(n=1000, seed=0):
    """Simulated adult heights with their hidden sex: ``(x, z)``.

    ``x`` (n,) heights in cm; ``z`` (n,) integer component labels, 0 = male and
    1 = female (see ``HEIGHT_GROUPS``). Drawn from the two-Gaussian mixture
    ``HEIGHTS_TRUE`` (sources in its comment) with ``numpy.random.default_rng(seed)``,
    so the same ``n`` and ``seed`` always give the same data.
    """
    n = check_positive_int(n, "n")
    weights, means, variances = HEIGHTS_TRUE
    rng = np.random.default_rng(seed)
    z = rng.choice(len(weights), size=n, p=weights)
    x = rng.normal(means[z], np.sqrt(variances[z]))
    return x, z


def old_faithful():
    """(272, 2) array of Old Faithful eruptions: columns (duration, waiting), both in minutes.

    Column 0 is the eruption's duration, column 1 the waiting time until the
    next eruption. Source: R's ``datasets::faithful`` (Härdle 1991; Azzalini and
    Bowman 1990), shipped as ``em_lib/data/old_faithful.csv`` with that provenance
    in its header.
    """
    with resources.files("em_lib").joinpath("data/old_faithful.csv").open() as fh:
        return np.loadtxt(fh, delimiter=",", comments="#", skiprows=5)


def old_faithful_missing(fraction=0.3, seed=0):
    """Old Faithful (272, 2) with entries removed at random: ``np.nan`` where a value is missing.

    Each eruption (row) independently loses one of its two values with probability
    ``fraction``; which one is a fair coin toss. Whether a value is missing depends on neither
    value (missing completely at random, MCAR), and every row keeps at least one value. Drawn with
    ``numpy.random.default_rng(seed)``, so the same arguments always remove the same entries.
    Notebook 07 fills the holes with EM and compares with :func:`old_faithful`, the full data.
    """
    fraction = float(fraction)
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be a probability between 0 and 1, got {fraction!r}")
    X = old_faithful()
    rng = np.random.default_rng(seed)
    n, d = X.shape
    drop = rng.random(n) < fraction
    column = rng.integers(0, d, size=n)
    X[drop, column[drop]] = np.nan
    return X


def hasselblad_deaths():
    """``(counts, frequencies)``: deaths of women aged 80 and over in London per day, 1910 to 1912.

    ``counts`` (10,) holds the numbers of deaths in one day, 0 to 9; ``frequencies`` (10,) the
    number of days with that many deaths: 1096 days in all, every day of the three years. Source:
    V. Hasselblad (1969), "Estimation of finite mixtures of distributions from the exponential
    family", Journal of the American Statistical Association 64(328), 1459-1471, who took the
    counts from The Times of London; the table as in the R package SQUAREM (Varadhan and Du,
    tests/Hasselblad1969.R and its vignette). Shipped as ``em_lib/data/hasselblad_deaths.csv``
    with that provenance in its header. Notebook 07 fits a mixture of two Poissons to it.
    """
    with resources.files("em_lib").joinpath("data/hasselblad_deaths.csv").open() as fh:
        table = np.loadtxt(fh, delimiter=",", comments="#", skiprows=6, dtype=np.int64)
    return table[:, 0].copy(), table[:, 1].copy()


#: The maximum-likelihood two-Poisson mixture of Hasselblad's table, ``(weights, rates)`` with the
#: components ordered by rate: as the R package SQUAREM's test tests/Hasselblad1969.R records it
#: (0.6401146029910, 2.6634043566619, 1.2560951012662, checked there to 1e-5), i.e. weights
#: (0.3599, 0.6401) and rates (1.2561, 2.6634) to four decimals.
HASSELBLAD_MLE = (
    np.array([1.0 - 0.6401146029910, 0.6401146029910]),
    np.array([1.2560951012662, 2.6634043566619]),
)


#: The five sets of ten tosses of Do and Batzoglou (2008), "What is the expectation
#: maximization algorithm?", Nature Biotechnology 26(8):897-899, Figure 1 (H = heads).
TWO_COINS_SEQUENCES = (
    "HTTTHHTHTH",
    "HHHHTHHHHH",
    "HTHHHHHTHH",
    "HTHTTTHHTT",
    "THHHTHHHTH",
)

#: The paper's starting point and its result after 10 iterations (rounded to 2 decimals).
TWO_COINS_START = (0.60, 0.50)
TWO_COINS_AFTER_10 = (0.80, 0.52)


def two_coins():
    """``(heads, n_tosses)``: heads per set (5,) and tosses per set (5,) of Do and Batzoglou (2008)."""
    heads = np.array([s.count("H") for s in TWO_COINS_SEQUENCES])
    n_tosses = np.array([len(s) for s in TWO_COINS_SEQUENCES])
    return heads, n_tosses


#: Li Hang, 统计学习方法 (Statistical Learning Methods), chapter 9, Example 9.1: ten
#: observed tosses; with start pi = p = q = 0.5 EM gives pi = 0.5, p = q = 0.6; with
#: start (0.4, 0.6, 0.7) it gives (0.4064, 0.5368, 0.6432).
THREE_COINS_Y = (1, 1, 0, 1, 0, 0, 1, 0, 1, 1)


def three_coins():
    """(10,) integer array of the observed tosses of Li Hang's Example 9.1 (1 = heads)."""
    return np.array(THREE_COINS_Y)

