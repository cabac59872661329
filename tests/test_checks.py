"""Validation: every bad input to a contract function is a ValueError that names the parameter.

A learner who passes standard deviations, a transposed q or an (n, 1) column should
read which argument to fix, never get a silent NaN back. The table below applies each
kind of bad input to every function that takes that parameter; the second half tests
the helpers of em_lib._checks directly.
"""

import importlib
import inspect

import numpy as np
import pytest

import em_lib

from em_lib import (
    e_step,
    elbo,
    fit_em,
    jensen_gap,
    log_joint,
    log_likelihood,
    m_step,
    posterior,
    three_coins_em,
    two_coins_em,
)
from em_lib import _checks
from em_lib.datasets import heights

X = np.array([160.0, 170.0, 180.0])
THETA = dict(weights=[0.5, 0.5], means=[175.3, 161.3], variances=[56.25, 49.0])
Q = np.full((3, 2), 0.5)

GOOD = {
    log_joint: dict(x=X, **THETA),
    log_likelihood: dict(x=X, **THETA),
    posterior: dict(x=X, **THETA),
    e_step: dict(x=X, **THETA),
    elbo: dict(x=X, q=Q, **THETA),
    m_step: dict(x=X, resp=Q),
    fit_em: dict(x=X, **THETA, n_iter=3),
    jensen_gap: dict(values=[1.0, 2.0], q=[0.8, 0.2]),
    two_coins_em: dict(heads=[5, 9, 8, 4, 7], n_tosses=10, theta_a=0.6, theta_b=0.5, n_iter=10),
    three_coins_em: dict(y=[1, 1, 0, 1, 0, 0, 1, 0, 1, 1], pi=0.4, p=0.6, q=0.7, n_iter=3),
}

MIXTURE_FUNCTIONS = [log_joint, log_likelihood, posterior, e_step, elbo, fit_em]

BAD_SAMPLES = {
    "NaN": [160.0, np.nan, 180.0],
    "inf": [160.0, np.inf, 180.0],
    "-inf": [-np.inf, 170.0, 180.0],
    "empty": [],
    "2-D column": [[160.0], [170.0], [180.0]],
    "2-D row": [[160.0, 170.0, 180.0]],
    "scalar": 170.0,
    "text": ["160", "tall"],
}

BAD_PARAMETERS = [
    ("weights", [-0.5, 1.5], "negative weight"),
    ("weights", [0.5, 0.6], "weights summing to 1.1"),
    ("weights", [0.25, 0.25], "weights summing to 0.5"),
    ("weights", [np.nan, 0.5], "NaN weight"),
    ("weights", [[0.5, 0.5]], "2-D weights"),
    ("weights", [], "no weights"),
    ("means", [175.3, 161.3, 150.0], "K = 3 means for K = 2 weights"),
    ("means", [175.3], "K = 1 mean for K = 2 weights"),
    ("means", [np.nan, 161.3], "NaN mean"),
    ("means", [np.inf, 161.3], "inf mean"),
    ("variances", [56.25, 49.0, 30.0], "K = 3 variances for K = 2 weights"),
    ("variances", [0.0, 49.0], "zero variance"),
    ("variances", [-56.25, 49.0], "negative variance"),
    ("variances", [np.nan, 49.0], "NaN variance"),
    ("variances", [np.inf, 49.0], "inf variance"),
]

BAD_Q = {
    "too few rows": np.full((2, 2), 0.5),
    "transposed": np.full((2, 3), 0.5),
    "1-D": [0.5, 0.5],
    "rows summing to 1.2": np.full((3, 2), 0.6),
    "rows summing to 0": np.zeros((3, 2)),
    "negative entry": np.array([[1.5, -0.5]] * 3),
    "NaN entry": np.array([[np.nan, 0.5]] * 3),
    "3 components for K = 2": np.full((3, 3), 1 / 3),
}

BAD_N_ITER = {"zero": 0, "negative": -1, "float": 2.5, "whole float": 3.0, "text": "3", "bool": True, "None": None}

BAD_PROBABILITY = {"0": 0.0, "1": 1.0, "above 1": 1.5, "negative": -0.1, "NaN": np.nan, "inf": np.inf, "pair": [0.5, 0.5]}


def _cases():
    for fn in MIXTURE_FUNCTIONS:
        for label, bad in BAD_SAMPLES.items():
            yield fn, "x", bad, f"x {label}"
        for name, bad, label in BAD_PARAMETERS:
            yield fn, name, bad, label
    for label, bad in BAD_SAMPLES.items():
        yield m_step, "x", bad, f"x {label}"
    for label, bad in BAD_Q.items():
        yield elbo, "q", bad, f"q {label}"
        if label != "3 components for K = 2":  # m_step takes K from resp itself
            yield m_step, "resp", bad, f"resp {label}"
    yield m_step, "resp", [[0.5, 0.5], [0.5]], "resp ragged"
    yield m_step, "resp", None, "resp None"
    for fn in (fit_em, two_coins_em, three_coins_em):
        for label, bad in BAD_N_ITER.items():
            yield fn, "n_iter", bad, f"n_iter {label}"
    for name, bad, label in [
        ("values", [0.0, 2.0], "a zero value (log 0)"),
        ("values", [-1.0, 2.0], "a negative value"),
        ("values", [np.nan, 2.0], "NaN value"),
        ("values", [np.inf, 2.0], "inf value"),
        ("values", [], "no values"),
        ("values", [[1.0, 2.0]], "2-D values"),
        ("q", [0.5, 0.6], "q summing to 1.1"),
        ("q", [-0.2, 1.2], "negative q"),
        ("q", [1.0], "q shorter than values"),
        ("q", [0.5, 0.25, 0.25], "q longer than values"),
        ("q", [np.nan, 1.0], "NaN q"),
    ]:
        yield jensen_gap, name, bad, label
    for name in ("theta_a", "theta_b"):
        for label, bad in BAD_PROBABILITY.items():
            yield two_coins_em, name, bad, f"{name} {label}"
    for name, bad, label in [
        ("heads", [5, 11, 8, 4, 7], "more heads than tosses"),
        ("heads", [5, -1, 8, 4, 7], "negative heads"),
        ("heads", [5, 2.5, 8, 4, 7], "half a head"),
        ("heads", [5, np.nan, 8, 4, 7], "NaN heads"),
        ("heads", [], "no sets"),
        ("heads", [[5, 9]], "2-D heads"),
        ("n_tosses", 0, "no tosses"),
        ("n_tosses", 9.5, "half a toss"),
        ("n_tosses", [10, 10], "two counts for five sets"),
        ("n_tosses", np.nan, "NaN tosses"),
    ]:
        yield two_coins_em, name, bad, label
    for name in ("pi", "p", "q"):
        for label, bad in BAD_PROBABILITY.items():
            yield three_coins_em, name, bad, f"{name} {label}"
    for label, bad in {"a 2": [1, 2, 0], "a half": [1, 0.5], "NaN": [1, np.nan], "empty": [], "2-D": [[1, 0]]}.items():
        yield three_coins_em, "y", bad, f"y {label}"


CASES = [pytest.param(fn, name, bad, id=f"{fn.__name__}-{label}") for fn, name, bad, label in _cases()]


@pytest.mark.parametrize("fn", list(GOOD), ids=lambda fn: fn.__name__)
def test_the_good_inputs_are_accepted(fn):
    """The baseline: each bad case below changes exactly one argument of a call that works."""
    result = fn(**GOOD[fn])
    for item in result if isinstance(result, tuple) else (result,):
        assert np.all(np.isfinite(item))


@pytest.mark.parametrize("fn, name, bad", CASES)
def test_a_bad_input_is_a_value_error_naming_the_parameter(fn, name, bad):
    kwargs = dict(GOOD[fn], **{name: bad})
    with pytest.raises(ValueError, match=rf"(?<![\w.]){name}(?!\w)"):
        fn(**kwargs)


@pytest.mark.parametrize("fn, name, bad", CASES)
def test_messages_show_numbers_as_the_learner_wrote_them(fn, name, bad):
    """'got -0.5', not numpy's repr 'got np.float64(-0.5)'; even when numpy scalars were passed."""
    if isinstance(bad, float):
        bad = np.float64(bad)
    with pytest.raises(ValueError) as info:
        fn(**dict(GOOD[fn], **{name: bad}))
    assert "np." not in str(info.value)


def test_a_transposed_resp_is_called_transposed():
    with pytest.raises(ValueError, match=r"resp must have one row per sample.*transposed"):
        m_step(X, np.full((2, 3), 0.5))


def test_weights_summing_to_one_up_to_rounding_are_accepted():
    """Weights computed as counts / n, e.g. three thirds, sum to 1 only up to rounding."""
    w = np.array([1.0, 1.0, 1.0]) / 3
    assert np.isfinite(log_likelihood(X, w, [150.0, 165.0, 180.0], [40.0, 40.0, 40.0]))
    assert np.isfinite(log_likelihood(X, [0.5 + 1e-9, 0.5], **{k: THETA[k] for k in ("means", "variances")}))


def test_integer_inputs_are_accepted_as_numbers():
    assert log_likelihood([160, 170, 180], [1], [170], [50]) == pytest.approx(
        log_likelihood(np.array([160.0, 170.0, 180.0]), [1.0], [170.0], [50.0])
    )


def test_fit_em_accepts_a_numpy_integer_n_iter():
    assert fit_em(X, **THETA, n_iter=np.int64(2))[3].shape == (2,)


def test_heights_refuses_a_bad_n():
    with pytest.raises(ValueError, match=r"\bn\b"):
        heights(n=0)
    with pytest.raises(ValueError, match=r"\bn\b"):
        heights(n=10.5)


# ---------------------------------------------------------------------------
# The helpers: what the messages tell the learner
# ---------------------------------------------------------------------------


def test_check_samples_message_gives_expected_and_actual_shapes():
    with pytest.raises(ValueError, match=r"x must be a 1-D array of shape \(n,\), got an array of shape \(3, 1\)"):
        _checks.check_samples(np.ones((3, 1)))


def test_check_finite_counts_the_bad_entries_and_gives_the_first():
    with pytest.raises(ValueError, match=r"values must be finite, but 2 entries are NaN or inf \(the first at index 1\)"):
        _checks.check_finite(np.array([1.0, np.nan, 2.0, np.inf]), "values")
    with pytest.raises(ValueError, match=r"the first at index \(1, 0\)"):
        _checks.check_finite(np.array([[1.0, 2.0], [np.inf, 3.0]]), "q")


def test_check_distribution_rows_says_which_row_is_wrong():
    q = np.array([[0.5, 0.5], [0.7, 0.7], [1.0, 0.0]])
    with pytest.raises(ValueError, match=r"row 1 sums to"):
        _checks.check_distribution_rows(q, 3, 2, "q")
    with pytest.raises(ValueError, match=r"q must have shape \(n, K\) = \(3, 2\), got an array of shape \(2, 3\)"):
        _checks.check_distribution_rows(np.full((2, 3), 0.5), 3, 2, "q")


def test_check_mixture_says_what_k_the_weights_imply():
    with pytest.raises(ValueError, match=r"means must have shape \(K,\) = \(2,\) to match weights"):
        _checks.check_mixture([0.5, 0.5], [1.0, 2.0, 3.0], [1.0, 1.0])


def test_check_positive_int_refuses_bools_and_floats_but_takes_numpy_ints():
    assert _checks.check_positive_int(np.int32(4), "n_iter") == 4
    assert type(_checks.check_positive_int(np.int32(4), "n_iter")) is int
    for bad in (True, np.bool_(True), 4.0, "4"):
        with pytest.raises(ValueError, match="n_iter must be an integer"):
            _checks.check_positive_int(bad, "n_iter")
    with pytest.raises(ValueError, match="n must be at least 2, got 1"):
        _checks.check_positive_int(1, "n", minimum=2)


def test_check_open_unit_excludes_the_ends():
    assert _checks.check_open_unit(0.5, "p") == 0.5
    for bad in (0.0, 1.0):
        with pytest.raises(ValueError, match="strictly between 0 and 1"):
            _checks.check_open_unit(bad, "p")


# --- values too large for float64 arithmetic: a clear error, never a silent NaN ---

@pytest.mark.parametrize("fn", [em_lib.log_joint, em_lib.log_likelihood, em_lib.posterior, em_lib.e_step])
def test_samples_too_large_to_square_are_refused(fn):
    with pytest.raises(ValueError, match=r"x holds values as large as 1e\+200"):
        fn([170.0, 1e200], [0.5, 0.5], [175.0, 161.0], [56.0, 49.0])


def test_means_too_large_to_square_are_refused():
    with pytest.raises(ValueError, match="means holds values"):
        em_lib.log_likelihood([170.0], [0.5, 0.5], [175.0, -1e160], [56.0, 49.0])


def test_fit_em_refuses_samples_too_large_to_square():
    with pytest.raises(ValueError, match="x holds values"):
        em_lib.fit_em(np.array([1e200, 1.0, 2.0, 3.0]), [0.5, 0.5], [175.0, 161.0], [56.0, 49.0], 3)


def test_posterior_of_a_point_whose_every_log_density_overflows_is_an_error_not_nan():
    # (1e140 - 175)^2 / 1e-200 overflows for both components: log joints are all -inf
    with pytest.raises(ValueError, match=r"x\[1\] = 1e\+140 is so far from every component"):
        em_lib.posterior([170.0, 1e140], [0.5, 0.5], [175.0, 161.0], [1e-200, 1e-200])


# --- one place: every validator of em_lib lives in em_lib._checks ---

MODEL_MODULES = ("mixture1d", "mixture_nd", "bound", "coins", "poisson", "missing", "datasets")


def test_every_check_has_a_one_line_summary():
    functions = [f for _, f in inspect.getmembers(_checks, inspect.isfunction) if f.__module__ == _checks.__name__]
    assert len(functions) > 20
    for fn in functions:
        assert fn.__doc__ and fn.__doc__.splitlines()[0].strip(), fn.__name__


@pytest.mark.parametrize("module", MODEL_MODULES)
def test_no_model_module_defines_a_validator_of_its_own(module):
    mod = importlib.import_module(f"em_lib.{module}")
    own = [name for name, f in inspect.getmembers(mod, inspect.isfunction) if f.__module__ == mod.__name__]
    assert not [name for name in own if name.lstrip("_").startswith("check")]


def test_show_gives_numbers_and_arrays_as_the_learner_typed_them():
    assert _checks.show(np.float64(0.5)) == "0.5"
    assert _checks.show(np.array([1.0, 2.0])) == "[1.0, 2.0]"
    assert _checks.show("3") == "'3'"
