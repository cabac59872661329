"""em_lib: the reference library of the EM course.

The reference answers of the course's exercises, importable from here with the names
and signatures the notebooks' exercises use. The exercise contract, ``em_lib.contract``,
lists them per notebook with their parameters and modules; ``__all__`` is exactly its
exercises in order, then its extras (``e_step``), and ``tests/test_packaging.py`` holds
this file to it:

- notebook 01: ``log_joint``, ``log_likelihood``
- notebook 02: ``jensen_gap``, ``elbo``
- notebook 03: ``posterior``
- notebook 04: ``m_step``, ``em_iteration``, ``fit_em`` (and ``e_step``, which is notebook 03's ``posterior``)
- notebook 05: ``n_gmm_params``, ``kmeans_step``
- notebook 06: ``two_coins_em``, ``three_coins_em``
- notebook 07: ``poisson_e_step``, ``poisson_m_step`` (a Poisson mixture),
  ``gaussian_missing_e_step``, ``gaussian_missing_m_step`` (a Gaussian with missing entries)

Modules: ``mixture1d`` (the 1-D Gaussian mixture), ``bound`` (Jensen and the
lower bound), ``mixture_nd`` (multivariate mixtures, notebook 05), ``coins``,
``poisson`` and ``missing`` (notebook 07),
``datasets``, ``plotting`` (figures, apart from the maths).
"""

from .bound import elbo, em_iteration, jensen_gap
from .coins import three_coins_em, two_coins_em
from .missing import gaussian_missing_e_step, gaussian_missing_m_step
from .mixture1d import e_step, fit_em, log_joint, log_likelihood, m_step, posterior
from .mixture_nd import kmeans_step, n_gmm_params
from .poisson import poisson_e_step, poisson_m_step

# em_lib.contract's exported(): the exercises in the course's order, then the extras.
__all__ = [
    "log_joint",
    "log_likelihood",
    "jensen_gap",
    "elbo",
    "posterior",
    "m_step",
    "em_iteration",
    "fit_em",
    "n_gmm_params",
    "kmeans_step",
    "two_coins_em",
    "three_coins_em",
    "poisson_e_step",
    "poisson_m_step",
    "gaussian_missing_e_step",
    "gaussian_missing_m_step",
    "e_step",
]
