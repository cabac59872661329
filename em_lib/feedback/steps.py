r"""Feedback for notebook 04's exercises: ``m_step``, ``em_iteration`` and ``fit_em``.

- ``m_step(x, resp)``: :math:`\pi_k = N_k/n`, :math:`\mu_k = \sum_i\gamma_{ik}x_i/N_k`,
  :math:`\sigma_k^2 = \sum_i\gamma_{ik}(x_i-\mu_k)^2/N_k` (eqs. 4.3 to 4.5). Each of the
  three returned arrays is checked on its own, with its own classic mistakes, so the
  message says which one is wrong and why.
- ``em_iteration(x, weights, means, variances)``: one E-step and one M-step, and the four
  numbers of the chain (4.6), :math:`[\ell(\theta^{(t)}), L(Q^{(t)}, \theta^{(t)}), L(Q^{(t)},
  \theta^{(t+1)}), \ell(\theta^{(t+1)})]`, whose classic mistakes confuse which Q and which theta
  each bound is taken at.
- ``fit_em(x, weights, means, variances, n_iter)``: the loop. Its mistakes are mistakes
  of the loop (order of the steps, what is recorded, what is fed back), written here with
  em_lib's correct steps. ``reference_steps`` lets a graded test grade the loop alone.

Each exercise has ``self_check_<fn>(fn)`` (the visible self-check cell) and
``check_<fn>(fn, **inputs)`` (one graded check).
"""

import functools
import sys

import numpy as np

from ..datasets import heights
from ..mixture1d import e_step as reference_e_step
from ..mixture1d import fit_em as reference_fit_em
from ..mixture1d import log_likelihood
from ..mixture1d import m_step as reference_m_step
from ..mixture1d import posterior as reference_posterior
from ..bound import elbo, entropy
from ..bound import em_iteration as reference_em_iteration
from .core import (
    Misconception,
    Mistake,
    as_real_array,
    call_learner,
    check,
    close,
    finite_array,
    graded,
    kind_of,
    learner_tuple,
    not_a_tuple,
    parts_verdict,
    reworded,
    run_self_check,
    weights_sum_to_one,
)
from .namespace import blame, using_reference

# --------------------------------------------------------------------------
# m_step
# --------------------------------------------------------------------------


def _counts(x, resp):
    return np.asarray(resp, dtype=float).sum(axis=0)


def _means(x, resp):
    resp = np.asarray(resp, dtype=float)
    return resp.T @ np.asarray(x, dtype=float) / resp.sum(axis=0)


def _scatter(x, resp, centre):
    """sum_i gamma_ik (x_i - centre_k)^2, a (K,) array."""
    resp = np.asarray(resp, dtype=float)
    return (resp * (np.asarray(x, dtype=float)[:, None] - centre) ** 2).sum(axis=0)


_WRONG_AXIS = Misconception(
    "resp_summed_over_wrong_axis",
    "resp was summed over the wrong axis: the result has one entry per SAMPLE (shape (n,)) instead "
    "of one per component (shape (K,)). N_k = sum over i of gamma_ik is resp.sum(axis=0).",
)

WEIGHTS_MISTAKES = (
    Mistake(
        "weights_left_equal",
        "The weights were left equal (1/K). The M-step updates them too: pi_k = N_k / n, the share "
        "of the responsibility that component k takes (derived with a Lagrange multiplier).",
        lambda x, resp: np.full(np.shape(resp)[1], 1.0 / np.shape(resp)[1]),
    ),
    Mistake(
        "counts_not_weights",
        "These are the counts N_k = sum_i gamma_ik, not the weights: divide by n so that the weights sum to 1.",
        _counts,
    ),
    _WRONG_AXIS.with_answer(lambda x, resp: np.asarray(resp, dtype=float).sum(axis=1) / np.shape(resp)[0]),
    _WRONG_AXIS.with_answer(lambda x, resp: np.asarray(resp, dtype=float).mean(axis=1)),
)

MEANS_MISTAKES = (
    Mistake(
        "mean_divided_by_n_not_n_k",
        "The weighted sum was divided by n instead of N_k = sum_i gamma_ik. Each mean is a weighted "
        "AVERAGE: mu_k = sum_i gamma_ik x_i / N_k, so divide by the total weight of component k.",
        lambda x, resp: np.asarray(resp, dtype=float).T @ np.asarray(x, dtype=float) / np.shape(resp)[0],
    ),
    Mistake(
        "means_ignore_responsibilities",
        "Every component got the plain mean of all the data: the responsibilities were not used as "
        "weights. mu_k = sum_i gamma_ik x_i / N_k.",
        lambda x, resp: np.full(np.shape(resp)[1], np.mean(x)),
    ),
    _WRONG_AXIS.with_answer(lambda x, resp: np.asarray(x, dtype=float),
                            " (Here each 'mean' came out as the sample x_i itself.)"),
    Mistake(
        "weighted_sums_not_divided",
        "These are the weighted sums sum_i gamma_ik x_i, not yet divided by N_k.",
        lambda x, resp: np.asarray(resp, dtype=float).T @ np.asarray(x, dtype=float),
    ),
)

VARIANCES_MISTAKES = (
    Mistake(
        "variance_divided_by_n_not_n_k",
        "The weighted sum of squares was divided by n instead of N_k = sum_i gamma_ik: "
        "sigma_k^2 = sum_i gamma_ik (x_i - mu_k)^2 / N_k.",
        lambda x, resp: _scatter(x, resp, _means(x, resp)) / np.shape(resp)[0],
    ),
    Mistake(
        "variance_around_data_mean",
        "The variance was taken around the mean of all the data, not around the NEW weighted mean "
        "mu_k of component k: compute the new means first, then sum_i gamma_ik (x_i - mu_k)^2 / N_k.",
        lambda x, resp: _scatter(x, resp, np.mean(x)) / _counts(x, resp),
    ),
    Mistake(
        "standard_deviations_returned",
        "These are standard deviations (square roots): return the variances sigma_k^2 themselves, "
        "which is what every function of the course takes and returns.",
        lambda x, resp: np.sqrt(_scatter(x, resp, _means(x, resp)) / _counts(x, resp)),
    ),
    Mistake(
        "variance_divided_by_n_k_minus_1",
        "The sum was divided by N_k - 1 (a 'sample variance' correction). Setting the derivative of "
        "the bound to zero gives exactly sum_i gamma_ik (x_i - mu_k)^2 / N_k, with no correction.",
        lambda x, resp: _scatter(x, resp, _means(x, resp)) / (_counts(x, resp) - 1.0),
    ),
    Mistake(
        "mean_square_not_centred",
        "This is the weighted mean of x_i^2, the second moment, without subtracting mu_k^2: "
        "sigma_k^2 = sum_i gamma_ik x_i^2 / N_k - mu_k^2 = sum_i gamma_ik (x_i - mu_k)^2 / N_k.",
        lambda x, resp: _scatter(x, resp, 0.0) / _counts(x, resp),
    ),
    _WRONG_AXIS.with_answer(
        lambda x, resp: (np.asarray(resp, dtype=float) * (np.asarray(x, dtype=float)[:, None] - _means(x, resp)) ** 2).sum(axis=1),
    ),
)

#: The variance mistakes written around a given centre (the learner's own means), for
#: ``_check_variances`` when those means differ from em_lib's.
_VARIANCES_AROUND = (
    VARIANCES_MISTAKES[0].with_answer(lambda x, resp, centre: _scatter(x, resp, centre) / np.shape(resp)[0]),
    VARIANCES_MISTAKES[2].with_answer(lambda x, resp, centre: np.sqrt(_scatter(x, resp, centre) / _counts(x, resp))),
    VARIANCES_MISTAKES[3].with_answer(lambda x, resp, centre: _scatter(x, resp, centre) / (_counts(x, resp) - 1.0)),
)

_ITEMS = (("weights", WEIGHTS_MISTAKES), ("means", MEANS_MISTAKES), ("variances", VARIANCES_MISTAKES))


def _learner_m_step(fn, inputs):
    """Call the learner's m_step once and insist on a tuple (weights, means, variances)."""
    return learner_tuple(fn, inputs, "m_step(...)", ("weights", "means", "variances"))


_AROUND_OLD_MEANS = (
    "The variances are measured around the OLD means, the ones the responsibilities were computed "
    "from{where}, not around the new means (4.4) this M-step has just found. Eq. (4.5) uses the new mu_k: "
    "the best mu_k does not depend on the variance, so compute the means first and measure the spread "
    "around them."
)
#: Named when a check knows the means ``resp`` was computed from (``computed_at``): its words show them.
VARIANCE_AROUND_OLD_MEANS = Misconception("variance_around_old_means", _AROUND_OLD_MEANS.format(where=""))


def _around_old_means(computed_at):
    """The mistake of measuring the variances around the means ``resp`` was computed from."""
    old = np.asarray(computed_at[1], dtype=float)
    where = f" ({', '.join(f'{m:g}' for m in old)})"
    return Mistake(VARIANCE_AROUND_OLD_MEANS.id, _AROUND_OLD_MEANS.format(where=where),
                   lambda x, resp: _scatter(x, resp, old) / _counts(x, resp))


@graded
def check_m_step(fn, parts=("weights", "means", "variances"), computed_at=None, **inputs):
    """One graded check of ``m_step`` against ``em_lib.m_step``: each returned array on its own.

    ``parts`` names the arrays to check (all three by default), so that a graded test can
    give the weights, the means and the variances their own points. The message names
    which array is wrong and the likely mistake. ``computed_at``, the parameters ``resp`` was
    computed at (not passed to the learner's function), lets it name variances taken around
    those old means.
    """
    got = _learner_m_step(fn, inputs)
    expected = reference_m_step(**inputs)
    for j, (name, mistakes) in enumerate(_ITEMS):
        if name not in parts:
            continue
        what = f"the {name} array returned by m_step(...)"
        if name == "variances":
            extra = (_around_old_means(computed_at),) if computed_at is not None else ()
            _check_variances(got, expected, inputs, what, extra)
        else:
            check(lambda **kw: got[j], inputs, lambda **kw: expected[j], mistakes, what=what)
    return parts_verdict("m_step(...)", parts, ("weights", "means", "variances"))


def _check_variances(got, expected, inputs, what, extra=()):
    """The variances, graded around the learner's OWN means, so that each array earns its points.

    sigma_k^2 = sum_i gamma_ik (x_i - mu_k)^2 / N_k with the mu_k that m_step returned: a
    mistake in the means is charged in the means' cell, not again here. Variances around
    em_lib's means are accepted too (right variances returned beside mistyped means).
    """
    x, resp = inputs["x"], inputs["resp"]
    counts = _counts(x, resp)
    means = finite_array(got[1], (np.shape(resp)[1],))
    if means is None or close(means, expected[1]):
        check(lambda **kw: got[2], inputs, lambda **kw: expected[2], VARIANCES_MISTAKES + extra, what=what)
        return
    with np.errstate(all="ignore"):  # means far out (1e200): their scatter overflows to inf, a wrong answer
        around_own = _scatter(x, resp, means) / counts
    if close(got[2], expected[2]):
        return
    mistakes = tuple(m.with_answer(functools.partial(m.answer, centre=means)) for m in _VARIANCES_AROUND)
    check(lambda **kw: got[2], inputs, lambda **kw: around_own, mistakes + VARIANCES_MISTAKES + extra,
          what=what + " (around the means it returned)")


def _dirichlet_resp(n, K, seed):
    return np.random.default_rng(seed).dirichlet(np.ones(K), size=n)


_X12 = heights(12, seed=3)[0]
_X9 = np.array([-1.2, 0.3, 0.9, 2.5, 3.1, 4.0, 6.2, 7.7, 8.4])

#: theta^(0) of notebook 04: the responsibilities of the heights self-check are computed there.
_THETA0 = (np.array([0.5, 0.5]), np.array([185.0, 150.0]), np.array([100.0, 100.0]))

#: Visible inputs of the m_step self-check.
M_STEP_INPUTS = {
    "heights": dict(x=_X12, resp=reference_posterior(_X12, *_THETA0)),
    "three components": dict(x=_X9, resp=_dirichlet_resp(_X9.size, 3, seed=7)),
    "one-hot": dict(x=_X9, resp=np.eye(3)[[0, 0, 0, 1, 1, 1, 2, 2, 2]]),
}


def _weights_sum_to_one(fn):
    weights, _, _ = _learner_m_step(fn, M_STEP_INPUTS["heights"])
    n, K = M_STEP_INPUTS["heights"]["resp"].shape
    weights_sum_to_one(weights, K, "pi_k = N_k / n, and sum_k N_k = n because each row of resp sums to 1.",
                       misshapen={(n,): _WRONG_AXIS})   # one weight per sample


def self_check_m_step(fn):
    """The visible self-check of ``m_step``: prints one line per check, naming the wrong array and why."""
    run_self_check([
        ("returns (weights, means, variances), weights of shape (K,) summing to 1", lambda: _weights_sum_to_one(fn)),
        ("matches em_lib on heights with soft responsibilities",
         lambda: check_m_step.verdict(fn, computed_at=_THETA0, **M_STEP_INPUTS["heights"])),
        ("works for K = 3 components", lambda: check_m_step.verdict(fn, **M_STEP_INPUTS["three components"])),
        (
            "one-hot responsibilities give each group's own mean and variance",
            lambda: check_m_step.verdict(fn, **M_STEP_INPUTS["one-hot"]),
        ),
    ])


# --------------------------------------------------------------------------
# em_iteration: one E-step and one M-step, and the chain (4.6) of four numbers
# --------------------------------------------------------------------------


def _chain_parts(x, weights, means, variances):
    """(responsibilities at theta_t, theta_t+1, the right chain) for the mistakes below."""
    resp = reference_e_step(x, weights, means, variances)
    new = reference_m_step(x, resp)
    return resp, new, reference_em_iteration(x, weights, means, variances)[3]


def _chain_with(position, value_of):
    """The right chain with entry ``position`` replaced by ``value_of(x, theta, resp, new, chain)``."""
    def answer(x, weights, means, variances):
        theta = (weights, means, variances)
        resp, new, chain = _chain_parts(x, *theta)
        chain = chain.copy()
        chain[position] = value_of(x, theta, resp, new, chain)
        return chain
    return answer


def _without_entropy(x, weights, means, variances):
    resp, new, chain = _chain_parts(x, weights, means, variances)
    h = float(entropy(resp).sum())
    return np.array([chain[0], chain[1] - h, chain[2] - h, chain[3]])


CHAIN_MISTAKES = (
    Mistake(
        "bound_at_new_responsibilities",
        "The third number is the bound at the NEW responsibilities, L(Q^(t+1), theta^(t+1)), which equals "
        "l(theta^(t+1)) (the bound touches at the posterior). The middle link of (4.6) keeps Q^(t) fixed: "
        "evaluate the bound with the responsibilities of the E-step you started from and the parameters "
        "the M-step returned.",
        _chain_with(2, lambda x, theta, resp, new, chain: chain[3]),
    ),
    Mistake(
        "bound_without_entropy",
        "The bounds leave out the entropy of Q: sum_i sum_k gamma_ik log p(x_i, z_i = k) is Li Hang's Q "
        "function Q(theta, theta^(t)), and the bound is L(Q, theta) = Q(theta, theta^(t)) + sum_i H(Q_i) "
        "(eq. 4.2). Without it the first two numbers are not equal.",
        _without_entropy,
    ),
    Mistake(
        "last_log_likelihood_at_old_parameters",
        "The last number is the log-likelihood of the OLD parameters: l(theta^(t)) again. Record "
        "l(theta^(t+1)), at the parameters the M-step returned.",
        _chain_with(3, lambda x, theta, resp, new, chain: chain[0]),
    ),
    Mistake(
        "third_bound_at_old_parameters",
        "The third number is the bound at the OLD parameters, L(Q^(t), theta^(t)), the second number again. "
        "The M-step's link compares it with L(Q^(t), theta^(t+1)), at the parameters the M-step returned.",
        _chain_with(2, lambda x, theta, resp, new, chain: chain[1]),
    ),
    Mistake(
        "chain_per_sample",
        "The numbers are per sample (divided by n). The chain holds the log-likelihood and the bound "
        "themselves, sums over all the samples.",
        lambda x, weights, means, variances: _chain_parts(x, weights, means, variances)[2] / np.size(x),
    ),
    Mistake(
        "chain_reversed",
        "The chain is in the reverse order. The contract is [l(theta^(t)), L(Q^(t), theta^(t)), "
        "L(Q^(t), theta^(t+1)), l(theta^(t+1))]: it climbs from left to right.",
        lambda x, weights, means, variances: _chain_parts(x, weights, means, variances)[2][::-1],
    ),
)

#: Named by ``check_em_iteration_order`` too, when the first two numbers are that mistake's.
BOUND_WITHOUT_ENTROPY = CHAIN_MISTAKES[1]


def _learner_iteration(fn, inputs):
    """Call the learner's em_iteration once and insist on (weights, means, variances, chain)."""
    return learner_tuple(fn, inputs, "em_iteration(...)", ("weights", "means", "variances", "chain"),
                         ", chain the four numbers of (4.6)")


@graded
def check_em_iteration(fn, parts=("parameters", "chain"), **inputs):
    """One graded check of ``em_iteration`` against em_lib's: the new parameters and/or the chain.

    ``parts`` is "parameters" (one E-step then one M-step from the given start) and/or "chain"
    (the four numbers of (4.6), each named mistake a confusion of which Q or theta a number
    is taken at).
    """
    got = _learner_iteration(fn, inputs)
    expected = reference_em_iteration(**inputs)
    if "parameters" in parts:
        check(lambda **kw: tuple(got[:3]), inputs, lambda **kw: tuple(expected[:3]), (),
              what="the parameters returned by em_iteration(...) (one E-step, then one M-step)")
    if "chain" in parts:
        check(lambda **kw: got[3], inputs, lambda **kw: expected[3], CHAIN_MISTAKES,
              what="the chain returned by em_iteration(...)")
    return f"em_iteration(...): {' and '.join(p for p in ('parameters', 'chain') if p in parts)} correct"


@graded
def check_em_iteration_order(fn, **inputs):
    """One graded check of the chain's shape alone: four numbers, l = L at the start, then never down.

    Right whatever the start and the data: a chain out of order means a number is taken at the
    wrong Q or theta, or a step is missing.
    """
    got = _learner_iteration(fn, inputs)
    chain = as_real_array(got[3])
    if chain is None or chain.shape != (4,) or not np.isfinite(chain).all():
        raise AssertionError(
            f"the chain returned by em_iteration(...) should be four finite numbers, got {kind_of(got[3])}"
            + (f" of shape {chain.shape}" if chain is not None else "")
        )
    l_old, bound_old, bound_new, l_new = chain
    with np.errstate(over="ignore", invalid="ignore"):   # numbers near the float limit still compare
        _check_chain_order(l_old, bound_old, bound_new, l_new, without_entropy=_without_entropy(**inputs))
    return "em_iteration(...): l(theta_t) = L(Q_t, theta_t) <= L(Q_t, theta_t+1) <= l(theta_t+1)"


def _check_chain_order(l_old, bound_old, bound_new, l_new, without_entropy=None):
    """Raise the AssertionError that names the first link of (4.6) out of order.

    ``without_entropy`` is the chain of the mistake that leaves the entropy out of the bounds, on
    the same inputs: when the first two numbers are that chain's, the message names the mistake.
    """
    scale = 1e-9 * max(1.0, abs(l_old), abs(l_new))
    if not abs(l_old - bound_old) <= scale:
        message = (
            f"the chain's first two numbers differ ({l_old:.6f} and {bound_old:.6f}): with Q^(t) the "
            "posterior at theta^(t) the bound touches l there, L(Q^(t), theta^(t)) = l(theta^(t)). Check that "
            "the second number uses the responsibilities of the E-step at theta^(t) and those same parameters."
        )
        if without_entropy is not None and close([l_old, bound_old], without_entropy[:2]):
            raise BOUND_WITHOUT_ENTROPY.named_in(f"{message} {BOUND_WITHOUT_ENTROPY.explanation}")
        raise AssertionError(message)
    if not bound_old <= bound_new + scale:
        raise AssertionError(
            f"the bound goes down from {bound_old:.6f} to {bound_new:.6f}: the M-step maximises "
            "L(Q^(t), theta) over theta, so it cannot end lower than where it started"
        )
    if not bound_new <= l_new + scale:
        raise AssertionError(
            f"the bound {bound_new:.6f} is above the log-likelihood {l_new:.6f}: L(Q, theta) <= l(theta) for "
            "every Q and theta (Jensen)"
        )


#: Visible inputs of the em_iteration self-check.
EM_ITERATION_INPUTS = {
    "heights": dict(x=_X12, weights=_THETA0[0], means=_THETA0[1], variances=_THETA0[2]),
    "three components": dict(x=_X9, weights=np.array([0.3, 0.3, 0.4]), means=np.array([0.0, 3.0, 7.0]),
                             variances=np.array([1.0, 2.0, 1.5])),
}


def self_check_em_iteration(fn, namespace=None):
    """The visible self-check of ``em_iteration``. Pass ``globals()`` as ``namespace`` to learn whether a
    difference comes from your ``m_step``."""
    def alone(thunk):
        return lambda: blame(thunk, "em_iteration", namespace, m_step=reference_m_step)

    run_self_check([
        ("returns four things; the chain climbs: l = L, then L <= L <= l",
         alone(lambda: check_em_iteration_order.verdict(fn, **EM_ITERATION_INPUTS["heights"]))),
        ("the new parameters: one E-step, then one M-step",
         alone(lambda: check_em_iteration.verdict(fn, parts=("parameters",), **EM_ITERATION_INPUTS["heights"]))),
        ("the four numbers of (4.6) on 12 heights",
         alone(lambda: check_em_iteration.verdict(fn, parts=("chain",), **EM_ITERATION_INPUTS["heights"]))),
        ("K = 3 components",
         alone(lambda: check_em_iteration.verdict(fn, **EM_ITERATION_INPUTS["three components"]))),
    ])


# --------------------------------------------------------------------------
# fit_em: mistakes of the loop, written with em_lib's correct steps
# --------------------------------------------------------------------------


def _loop(x, weights, means, variances, n_iter, record="after", feed_back=True, first_resp=None,
          variance_around_old_mean=False, iterations=None):
    """A configurable EM loop: the correct one by default, each option one classic mistake."""
    x = np.asarray(x, dtype=float)
    start = (weights, means, variances)
    history = []
    for t in range(n_iter if iterations is None else iterations):
        params = (weights, means, variances) if feed_back else start
        if t == 0 and first_resp is not None:
            resp = first_resp(x, np.size(weights))
        else:
            resp = reference_e_step(x, *params)
        if record == "before":
            history.append(log_likelihood(x, weights, means, variances))
        old_means = np.asarray(params[1], dtype=float)
        new = reference_m_step(x, resp)
        if variance_around_old_mean:
            new = (new[0], new[1], _scatter(x, resp, old_means) / resp.sum(axis=0))
        if record == "after":
            history.append(log_likelihood(x, *new))
        elif record == "bound":
            history.append(elbo(x, resp, *new))
        elif record == "both":
            history.append(elbo(x, resp, *params))
            history.append(log_likelihood(x, *new))
        weights, means, variances = new
    return weights, means, variances, np.array(history)


def _with_start(x, weights, means, variances, n_iter):
    w, m, v, h = _loop(x, weights, means, variances, n_iter)
    return w, m, v, np.concatenate([[log_likelihood(x, weights, means, variances)], h])


def _only_last(x, weights, means, variances, n_iter):
    w, m, v, h = _loop(x, weights, means, variances, n_iter)
    return w, m, v, h[-1]


def _uniform_resp(x, K):
    return np.full((x.size, K), 1.0 / K)


FIT_EM_MISTAKES = (
    Mistake(
        "history_recorded_before_m_step",
        "The log-likelihood history is off by one iteration: each entry was recorded BEFORE the M-step, "
        "so entry t is l(theta) at the start of iteration t. The contract records l(theta) AFTER "
        "iteration t, i.e. after the M-step has produced the new parameters.",
        lambda **kw: _loop(**kw, record="before"),
    ),
    Mistake(
        "history_includes_start",
        "The history has n_iter + 1 entries: it includes the log-likelihood of the starting parameters. "
        "Record one entry per iteration, l(theta) after that iteration's M-step.",
        _with_start,
    ),
    Mistake(
        "only_final_log_likelihood",
        "Only the final log-likelihood was returned. The fourth item is the whole history: an array "
        "with one entry per iteration (append inside the loop).",
        _only_last,
    ),
    Mistake(
        "two_entries_per_iteration",
        "The history has two entries per iteration. Record one: l(theta) after the M-step.",
        lambda **kw: _loop(**kw, record="both"),
    ),
    Mistake(
        "history_holds_bound",
        "The history holds the lower bound L(Q, theta_new), not the log-likelihood l(theta_new). "
        "They differ, because the Q of the E-step was computed at the OLD parameters; record "
        "em_lib.log_likelihood(x, weights, means, variances) at the new parameters.",
        lambda **kw: _loop(**kw, record="bound"),
    ),
    Mistake(
        "parameters_not_fed_back",
        "The new parameters are not fed back: every iteration runs its E-step at the STARTING "
        "parameters, so all iterations give the same answer. Assign the M-step's result back to "
        "weights, means, variances so that the next E-step uses them.",
        lambda **kw: _loop(**kw, feed_back=False),
    ),
    Mistake(
        "e_and_m_swapped",
        "E and M are swapped: the loop starts with an M-step on responsibilities that did not come "
        "from the starting parameters (here uniform 1/K), so the start is ignored. Each iteration is "
        "an E-step at the current parameters, THEN an M-step on those responsibilities.",
        lambda **kw: _loop(**kw, first_resp=_uniform_resp),
    ),
    Mistake(
        "loop_variances_around_old_means",
        "The variances were computed around the OLD means (those before this M-step). The M-step "
        "computes the new means first, then the variances around them.",
        lambda **kw: _loop(**kw, variance_around_old_mean=True),
    ),
    Mistake(
        "n_iter_minus_1_iterations",
        "It ran n_iter - 1 iterations (an off-by-one in the loop range): use `for t in range(n_iter)`.",
        lambda **kw: _loop(**kw, iterations=kw["n_iter"] - 1),
    ),
    Mistake(
        "n_iter_plus_1_iterations",
        "It ran n_iter + 1 iterations (an off-by-one in the loop range): use `for t in range(n_iter)`.",
        lambda **kw: _loop(**kw, iterations=kw["n_iter"] + 1),
    ),
)


_FIT_EM_ITEMS = ("weights", "means", "variances", "log_likelihoods")


def _learner_fit_em(fn, inputs):
    """Call the learner's fit_em once and insist on a tuple of four items."""
    return learner_tuple(fn, inputs, "fit_em(...)", _FIT_EM_ITEMS)


def _select(result, parts):
    """The items of a fit_em result that ``parts`` names: "parameters" (the first three), "history"."""
    chosen = list(result[:3]) if "parameters" in parts else []
    if "history" in parts:
        chosen.append(result[3])
    return tuple(chosen)


def _naming_unwritten_helpers(fn):
    """``fn`` wrapped so that a NotImplementedError raised in a function it calls names that function.

    Without this, a written ``fit_em`` that calls an unwritten ``e_step`` would be reported as
    "not written yet" itself.
    """
    own = getattr(fn, "__name__", "your function")

    def wrapped(**kwargs):
        try:
            return fn(**kwargs)
        except NotImplementedError:
            tb = sys.exc_info()[2]
            while tb.tb_next is not None:
                tb = tb.tb_next
            callee = tb.tb_frame.f_code.co_name
            if callee not in (own, "<module>"):
                raise AssertionError(
                    f"{own}(...) calls {callee}(...), which is not written yet: write {callee} first"
                ) from None
            raise

    wrapped.__name__ = own
    return wrapped


_STOPPED_AFTER = (
    "It stopped {when}. A stopping rule (notebook 05) has no place here: the contract runs exactly "
    "n_iter iterations, `for t in range(n_iter)`, with no break."
)
#: Named when the history is shorter than n_iter and the answer is em_lib.fit_em's after that many
#: iterations: its words say how many.
STOPPED_EARLY = Misconception("stopped_early", _STOPPED_AFTER.format(when="before n_iter iterations"))


def _stopped_early(result, inputs, parts):
    """The mistake of a loop that stopped after T < n_iter iterations (a stopping rule), when T is known."""
    try:
        T = int(np.size(result[3]))
    except Exception:
        return ()
    n_iter = inputs["n_iter"]
    if not 1 <= T < n_iter:
        return ()
    return (
        Mistake(
            STOPPED_EARLY.id,
            _STOPPED_AFTER.format(when=f"after {T} of the n_iter = {n_iter} iterations: the answer is "
                                       f"em_lib.fit_em's after {T} iterations"),
            lambda **kw: _select(reference_fit_em(**{**kw, "n_iter": T}), parts),
        ),
    )


@graded
def check_fit_em(fn, parts=("parameters", "history"), **inputs):
    """One graded check of ``fit_em`` against ``em_lib.fit_em``, naming a classic mistake of the loop.

    ``parts`` chooses what is compared: "parameters" (the weights, means and variances
    returned) and/or "history" (the log-likelihoods), so that a graded test can give the
    parameters and the history their own points.
    """
    result = _learner_fit_em(_naming_unwritten_helpers(fn), inputs)
    got = _select(result, parts)
    mistakes = tuple(
        m.with_answer(lambda m=m, **kw: _select(m.answer(**kw), parts)) for m in FIT_EM_MISTAKES
    ) + _stopped_early(result, inputs, parts)
    what = "fit_em(...)" if len(parts) == 2 else f"the {' and '.join(parts)} returned by fit_em(...)"
    try:
        check(lambda **kw: got, inputs, lambda **kw: _select(reference_fit_em(**kw), parts), mistakes, what=what)
    except AssertionError as exc:
        message = str(exc)
        if "parameters" in parts and len(parts) == 1 and message.startswith(f"{what} is not right"):
            # "the parameters ... are", not "is"
            message = f"{what} are not right" + message[len(f"{what} is not right"):]
        raise reworded(exc, message) from None
    return "fit_em(...): correct" if len(parts) == 2 else f"fit_em(...): {' and '.join(parts)} correct"


def reference_steps(namespace):
    """Inside the ``with`` block, ``e_step``, ``m_step`` and ``em_iteration`` in ``namespace`` are em_lib's.

    A graded test of ``fit_em`` runs in it, so only the loop is graded: a learner whose
    ``m_step`` (or ``em_iteration``) is wrong loses those points once, not again in
    ``fit_em``. The learner's functions are put back afterwards, even when the test fails.
    """
    return using_reference(namespace, e_step=reference_e_step, m_step=reference_m_step,
                           em_iteration=reference_em_iteration)


_XH = heights(200, seed=0)[0]
_START = _THETA0


def heights_and_start():
    """The notebook's data and starting guess, as fresh arrays: ``x, z, weights0, means0, variances0``.

    ``x``, ``z``: 1000 heights and their hidden groups (``datasets.heights(1000, seed=0)``);
    theta^(0): weights (0.5, 0.5), means (185, 150) cm, variances (100, 100) cm^2. The graded
    tests build their inputs from these rather than from the notebook's variables.
    """
    x, z = heights(1000, seed=0)
    return (x, z, *(a.copy() for a in _START))


#: Visible inputs of the fit_em self-check.
FIT_EM_INPUTS = {
    "heights": dict(x=_XH, weights=_START[0], means=_START[1], variances=_START[2], n_iter=10),
    "three components": dict(
        x=np.concatenate([heights(60, seed=4)[0], np.array([120.0, 125.0, 131.0, 200.0])]),
        weights=np.array([0.2, 0.5, 0.3]),
        means=np.array([130.0, 160.0, 180.0]),
        variances=np.array([80.0, 60.0, 60.0]),
        n_iter=3,
    ),
}


def _history(fn, inputs):
    return _history_of(call_learner(fn, inputs, "fit_em(...)"), inputs)


def _history_of(got, inputs):
    """The history in the answer ``got`` of fit_em, as a float array of shape (n_iter,); else what is wrong."""
    n_iter = inputs["n_iter"]
    message = not_a_tuple("fit_em(...)", got, _FIT_EM_ITEMS)
    if message is not None:
        raise AssertionError(message)
    history = as_real_array(got[3])
    if history is None:
        raise AssertionError(f"log_likelihoods should be numbers, got {kind_of(got[3])}")
    if history.shape != (n_iter,):
        for mistake in FIT_EM_MISTAKES[1:4]:
            if close(got, mistake.answer(**inputs)):
                raise mistake.found("fit_em(...)")
        raise AssertionError(
            f"log_likelihoods should have one entry per iteration, shape ({n_iter},), got shape {history.shape}"
        )
    return history


@graded
def check_fit_em_history(fn, **inputs):
    """One graded check of the history alone: one entry per iteration, never decreasing, and its
    last entry the log-likelihood of the parameters returned (so it is l AFTER the last M-step)."""
    got = _NO_ANSWER
    try:
        got = call_learner(fn, inputs, "fit_em(...)")   # called once: its answer serves every step below
        history = _history_of(got, inputs)
        _increasing(history)
        last = _log_likelihood_of_returned(inputs["x"], got[:3])
        if not abs(float(history[-1]) - last) <= 1e-9 * max(1.0, abs(last)):
            raise AssertionError(
                f"the last log-likelihood recorded, {float(history[-1]):.6f}, is not the log-likelihood of the "
                f"parameters returned, {last:.6f}: record em_lib.log_likelihood(x, weights, means, variances) "
                "after each M-step, with the new parameters."
            )
    except AssertionError as exc:
        if got is not _NO_ANSWER:
            _name_the_history_mistake(got, inputs)
        raise exc from None
    return "fit_em(...): the history is right"


_NO_ANSWER = object()


def _log_likelihood_of_returned(x, parameters):
    """em_lib's log-likelihood of the (weights, means, variances) fit_em returned; what is wrong with them if
    it has none."""
    arrays = []
    for name, value in zip(("weights", "means", "variances"), parameters):
        array = as_real_array(value)
        if array is None:
            raise AssertionError(
                f"the {name} returned by fit_em(...) should be a NumPy array of numbers, got {kind_of(value)}, "
                "so the log-likelihood recorded last cannot be compared with theirs"
            )
        arrays.append(array)
    try:
        with np.errstate(all="ignore"):   # weights of 1e308 overflow their sum: em_lib says they do not sum to 1
            return log_likelihood(x, *arrays)
    except ValueError as exc:   # em_lib's words for what is wrong with them
        raise AssertionError(
            f"the weights, means and variances returned by fit_em(...) are not the parameters of a mixture ({exc}), "
            "so the log-likelihood recorded last cannot be compared with theirs"
        ) from None


def _name_the_history_mistake(got, inputs):
    """Raise the named explanation when the history in ``got``, fit_em's answer, is that of a classic
    mistake of the loop."""
    try:
        history = as_real_array(got[3])
    except Exception:
        return
    if history is None:
        return
    for mistake in FIT_EM_MISTAKES:
        try:
            wrong = np.asarray(mistake.answer(**inputs)[3], dtype=float)
        except Exception:
            continue
        if close(history, wrong):
            raise mistake.found("the history returned by fit_em(...)") from None


def _never_decreases(fn, inputs):
    _increasing(_history(fn, inputs))


def _increasing(history):
    """What is wrong when the (n_iter,) float array ``history`` goes down, or holds NaN."""
    with np.errstate(all="ignore"):   # inf - inf: NaN, which is no decrease
        steps = np.diff(history)
    tolerance = 1e-9 * max(1.0, float(np.abs(history).max()))
    if np.isnan(history).any():
        raise AssertionError("log_likelihoods contains NaN: a step produced invalid parameters")
    if (steps < -tolerance).any():
        t = int(np.argmax(steps < -tolerance)) + 1
        raise AssertionError(
            f"the log-likelihood went DOWN at iteration {t} (from {history[t - 1]:.6f} to {history[t]:.6f}). "
            "EM cannot do that (notebook 04, the chain of inequalities), so a step is wrong or the "
            "history does not hold l(theta) after each iteration."
        )


def _loop_or_steps(fn, inputs, namespace):
    """Check against em_lib; if wrong but right with em_lib's steps, say the steps are to blame."""
    return blame(lambda: check_fit_em.verdict(fn, **inputs), "fit_em", namespace,
                 e_step=reference_e_step, m_step=reference_m_step)


def self_check_fit_em(fn, namespace=None):
    """The visible self-check of ``fit_em``. Pass ``globals()`` as ``namespace`` to learn whether a
    wrong answer comes from the loop or from your ``e_step``/``m_step``."""
    fn = _naming_unwritten_helpers(fn)
    run_self_check([
        (
            "returns (weights, means, variances, log_likelihoods), one log-likelihood per iteration",
            lambda: _history(fn, FIT_EM_INPUTS["heights"]),
        ),
        ("the log-likelihood never decreases", lambda: _never_decreases(fn, FIT_EM_INPUTS["heights"])),
        ("matches em_lib.fit_em on 200 heights, 10 iterations", lambda: _loop_or_steps(fn, FIT_EM_INPUTS["heights"], namespace)),
        ("matches em_lib.fit_em for K = 3, 3 iterations", lambda: _loop_or_steps(fn, FIT_EM_INPUTS["three components"], namespace)),
    ])
