"""em_lib.feedback.steps: the classic mistakes of notebook 04 (m_step, em_iteration, fit_em) are named.

The wrong learner functions are written as a learner would write them, independently
of the Mistake catalogue, so the tests check that real wrong code is recognised.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import positive_distribution_rows, samples

import em_lib
from em_lib.feedback import steps as fb

def not_written(*args, **kwargs):
    raise NotImplementedError()


# --------------------------------------------------------------------------
# m_step
# --------------------------------------------------------------------------


def m_divide_by_n(x, resp):
    n = len(x)
    means = resp.T @ x / n
    variances = (resp * (x[:, None] - means) ** 2).sum(axis=0) / n
    return resp.sum(axis=0) / n, means, variances


def m_equal_weights(x, resp):
    nk = resp.sum(axis=0)
    means = resp.T @ x / nk
    return np.ones(resp.shape[1]) / resp.shape[1], means, (resp * (x[:, None] - means) ** 2).sum(axis=0) / nk


def m_counts_as_weights(x, resp):
    _, means, variances = em_lib.m_step(x, resp)
    return resp.sum(axis=0), means, variances


def m_variance_about_data_mean(x, resp):
    nk = resp.sum(axis=0)
    return nk / len(x), resp.T @ x / nk, (resp * (x[:, None] - x.mean()) ** 2).sum(axis=0) / nk


def m_standard_deviation(x, resp):
    nk = resp.sum(axis=0)
    means = resp.T @ x / nk
    return nk / len(x), means, np.sqrt((resp * (x[:, None] - means) ** 2).sum(axis=0) / nk)


def m_wrong_axis(x, resp):
    nk = resp.sum(axis=1)
    return nk / len(x), (resp * x[:, None]).sum(axis=1) / nk, np.ones(len(x))


def m_loop_no_division(x, resp):
    weights, means, variances = [], [], []
    for k in range(resp.shape[1]):
        nk = resp[:, k].sum()
        weights.append(nk / len(x))
        means.append((resp[:, k] * x).sum())  # forgot / nk
        variances.append((resp[:, k] * (x - means[-1] / nk) ** 2).sum() / nk)
    return np.array(weights), np.array(means), np.array(variances)


def m_bessel(x, resp):
    w, m, v = em_lib.m_step(x, resp)
    nk = resp.sum(axis=0)
    return w, m, v * nk / (nk - 1)


def m_second_moment(x, resp):
    w, m, _ = em_lib.m_step(x, resp)
    return w, m, resp.T @ x**2 / resp.sum(axis=0)


def m_returns_two(x, resp):
    w, m, v = em_lib.m_step(x, resp)
    return m, v


M_WRONG = [
    (m_divide_by_n, "means", "divided by n instead of N_k"),
    (m_equal_weights, "weights", "left equal"),
    (m_counts_as_weights, "weights", "counts N_k"),
    (m_variance_about_data_mean, "variances", "mean of all the data"),
    (m_standard_deviation, "variances", "standard deviations"),
    (m_wrong_axis, "weights", "wrong axis"),
    (m_loop_no_division, "means", "not yet divided by N_k"),
    (m_bessel, "variances", "N_k - 1"),
    (m_second_moment, "variances", "second moment"),
]


@pytest.mark.parametrize("fn, item, words", M_WRONG, ids=[f.__name__ for f, _, _ in M_WRONG])
@pytest.mark.parametrize("key", ["heights", "three components"])
def test_m_step_mistakes_name_the_array_and_the_mistake(fn, item, words, key):
    with pytest.raises(AssertionError) as info:
        fb.check_m_step.verdict(fn, **fb.M_STEP_INPUTS[key])
    message = str(info.value)
    assert f"the {item} array returned by m_step" in message and words in message


def test_m_step_must_return_three_arrays():
    with pytest.raises(AssertionError, match="tuple \\(weights, means, variances\\)"):
        fb.check_m_step.verdict(m_returns_two, **fb.M_STEP_INPUTS["heights"])


def test_m_step_reference_passes_and_unwritten_is_told(capsys):
    fb.self_check_m_step(em_lib.m_step)
    assert "All 4 checks passed." in capsys.readouterr().out
    for inputs in fb.M_STEP_INPUTS.values():
        assert fb.check_m_step.verdict(em_lib.m_step, **inputs) == "m_step(...): correct"
    with pytest.raises(AssertionError, match="4 of 4"):
        fb.self_check_m_step(not_written)
    assert "m_step(...) is not written yet" in capsys.readouterr().out


def test_one_hot_responsibilities_give_group_means_and_variances():
    inputs = fb.M_STEP_INPUTS["one-hot"]
    weights, means, variances = em_lib.m_step(**inputs)
    groups = inputs["resp"].argmax(axis=1)
    for k in range(3):
        assert means[k] == pytest.approx(inputs["x"][groups == k].mean())
        assert variances[k] == pytest.approx(inputs["x"][groups == k].var())


# --------------------------------------------------------------------------
# fit_em
# --------------------------------------------------------------------------


def make_fit_em(e_step, m_step, variant="right"):
    """A learner's fit_em; ``variant`` picks one classic mistake of the loop."""

    def fit_em(x, weights, means, variances, n_iter):
        start = (weights, means, variances)
        history = []
        if variant == "with start":
            history.append(em_lib.log_likelihood(x, weights, means, variances))
        resp = np.full((len(x), len(weights)), 1 / len(weights))
        for t in range(n_iter if variant != "one short" else n_iter - 1):
            if variant == "before":
                history.append(em_lib.log_likelihood(x, weights, means, variances))
            if variant == "swapped":
                weights, means, variances = m_step(x, resp)
                resp = e_step(x, weights, means, variances)
            elif variant == "not fed back":
                new = m_step(x, e_step(x, *start))
                weights, means, variances = new
            else:
                resp = e_step(x, weights, means, variances)
                weights, means, variances = m_step(x, resp)
            if variant in ("right", "with start", "swapped", "not fed back", "one short"):
                history.append(em_lib.log_likelihood(x, weights, means, variances))
            if variant == "bound":
                history.append(em_lib.elbo(x, resp, weights, means, variances))
        if variant == "last only":
            return weights, means, variances, em_lib.log_likelihood(x, weights, means, variances)
        return weights, means, variances, np.array(history)

    return fit_em


LOOP_WRONG = [
    ("before", "off by one"),
    ("with start", "n_iter + 1 entries"),
    ("last only", "Only the final"),
    ("bound", "lower bound"),
    ("not fed back", "not fed back"),
    ("swapped", "E and M are swapped"),
    ("one short", "n_iter - 1 iterations"),
]


@pytest.mark.parametrize("variant, words", LOOP_WRONG, ids=[v for v, _ in LOOP_WRONG])
@pytest.mark.parametrize("key", ["heights", "three components"])
def test_fit_em_loop_mistakes_are_named(variant, words, key):
    fn = make_fit_em(em_lib.e_step, em_lib.m_step, variant)
    with pytest.raises(AssertionError) as info:
        fb.check_fit_em.verdict(fn, **fb.FIT_EM_INPUTS[key])
    assert words in str(info.value)


def test_fit_em_right_loop_passes_and_the_reference_too(capsys):
    fb.self_check_fit_em(make_fit_em(em_lib.e_step, em_lib.m_step))
    fb.self_check_fit_em(em_lib.fit_em)
    assert capsys.readouterr().out.count("All 4 checks passed.") == 2


def test_fit_em_unwritten_is_told(capsys):
    with pytest.raises(AssertionError, match="4 of 4"):
        fb.self_check_fit_em(not_written)
    assert "fit_em(...) is not written yet" in capsys.readouterr().out


def _loop_through(namespace):
    """A right fit_em loop that calls whatever e_step and m_step ``namespace`` holds, as a notebook's would."""

    def fit_em(x, weights, means, variances, n_iter):
        history = []
        for _ in range(n_iter):
            weights, means, variances = namespace["m_step"](x, namespace["e_step"](x, weights, means, variances))
            history.append(em_lib.log_likelihood(x, weights, means, variances))
        return weights, means, variances, np.array(history)

    return fit_em


def test_a_wrong_step_is_blamed_on_the_step_not_the_loop(capsys):
    """With the namespace given, the self-check sees that the loop is right and the step wrong."""
    namespace = {"e_step": em_lib.e_step, "m_step": m_divide_by_n}

    fit_em = _loop_through(namespace)

    with pytest.raises(AssertionError):
        fb.self_check_fit_em(fit_em, namespace)
    out = capsys.readouterr().out
    assert "the mistake is in your e_step or m_step, so fix them first (see their self-checks)" in out
    assert "itself is right" not in out   # never said beside a failing check of fit_em
    assert namespace["m_step"] is m_divide_by_n  # put back


def test_reference_steps_swaps_and_restores_even_on_failure():
    namespace = {"e_step": not_written, "m_step": not_written}
    with pytest.raises(RuntimeError):
        with fb.reference_steps(namespace):
            assert namespace["e_step"] is em_lib.e_step and namespace["m_step"] is em_lib.m_step
            raise RuntimeError
    assert namespace == {"e_step": not_written, "m_step": not_written}
    empty = {}
    with fb.reference_steps(empty):
        assert set(empty) == {"e_step", "m_step", "em_iteration"}
    assert empty == {}


def test_a_decreasing_history_is_reported(capsys):
    def fit_em(x, weights, means, variances, n_iter):
        w, m, v, h = em_lib.fit_em(x, weights, means, variances, n_iter)
        return w, m, v, h[::-1]

    with pytest.raises(AssertionError):
        fb.self_check_fit_em(fit_em)
    assert "went DOWN" in capsys.readouterr().out


def test_the_variance_around_the_old_mean_is_named():
    def fit_em(x, weights, means, variances, n_iter):
        history = []
        for _ in range(n_iter):
            resp = em_lib.e_step(x, weights, means, variances)
            nk = resp.sum(axis=0)
            variances = (resp * (x[:, None] - means) ** 2).sum(axis=0) / nk  # old means
            weights, means = nk / len(x), resp.T @ x / nk
            history.append(em_lib.log_likelihood(x, weights, means, variances))
        return weights, means, variances, np.array(history)

    with pytest.raises(AssertionError, match="OLD means"):
        fb.check_fit_em.verdict(fit_em, **fb.FIT_EM_INPUTS["heights"])


@pytest.mark.parametrize("part, fn", [("weights", m_equal_weights), ("means", m_divide_by_n), ("variances", m_bessel)])
def test_m_step_parts_grade_one_array_each(part, fn):
    inputs = fb.M_STEP_INPUTS["three components"]
    with pytest.raises(AssertionError, match=f"the {part} array"):
        fb.check_m_step.verdict(fn, parts=(part,), **inputs)
    others = tuple(p for p in ("weights", "means", "variances") if p != part)
    if fn is not m_divide_by_n:  # dividing by n spoils the means and the variances
        assert fb.check_m_step.verdict(fn, parts=others, **inputs).endswith("correct")


def test_fit_em_history_check():
    inputs = fb.FIT_EM_INPUTS["heights"]
    assert fb.check_fit_em_history.verdict(em_lib.fit_em, **inputs).endswith("right")
    with pytest.raises(AssertionError, match="off by one"):
        fb.check_fit_em_history.verdict(make_fit_em(em_lib.e_step, em_lib.m_step, "before"), **inputs)
    with pytest.raises(AssertionError, match="n_iter \\+ 1 entries"):
        fb.check_fit_em_history.verdict(make_fit_em(em_lib.e_step, em_lib.m_step, "with start"), **inputs)


def test_fit_em_parts_separate_the_parameters_from_the_history():
    inputs = fb.FIT_EM_INPUTS["heights"]
    off_by_one = make_fit_em(em_lib.e_step, em_lib.m_step, "before")
    assert fb.check_fit_em.verdict(off_by_one, parts=("parameters",), **inputs).endswith("parameters correct")
    with pytest.raises(AssertionError, match="off by one"):
        fb.check_fit_em.verdict(off_by_one, parts=("history",), **inputs)
    not_fed_back = make_fit_em(em_lib.e_step, em_lib.m_step, "not fed back")
    with pytest.raises(AssertionError, match="the parameters returned by fit_em.*not fed back"):
        fb.check_fit_em.verdict(not_fed_back, parts=("parameters",), **inputs)


def test_fit_em_must_return_four_items():
    def three(x, weights, means, variances, n_iter):
        return em_lib.fit_em(x, weights, means, variances, n_iter)[:3]

    with pytest.raises(AssertionError, match="should return a tuple \\(weights, means, variances, log_likelihoods\\)"):
        fb.check_fit_em.verdict(three, **fb.FIT_EM_INPUTS["heights"])


def test_an_unwritten_step_is_named_not_the_loop(capsys):
    namespace = {"e_step": not_written, "m_step": em_lib.m_step}

    fit_em = _loop_through(namespace)

    with pytest.raises(AssertionError):
        fb.self_check_fit_em(fit_em)
    out = capsys.readouterr().out
    assert "calls not_written(...), which is not written yet" in out
    assert "fit_em(...) is not written yet" not in out
    with pytest.raises(AssertionError, match="which is not written yet"):
        fb.check_fit_em.verdict(fit_em, **fb.FIT_EM_INPUTS["heights"])
    # a fit_em that is itself unwritten is still told so
    with pytest.raises(AssertionError, match="fit_em\\(...\\) is not written yet"):
        fb.check_fit_em.verdict(not_written, **fb.FIT_EM_INPUTS["heights"])


def test_the_visible_m_step_inputs_tell_the_mistakes_apart():
    """On the soft visible inputs no two mistakes of one array give the same answer, nor the right one."""
    for key in ("heights", "three components"):
        inputs = fb.M_STEP_INPUTS[key]
        expected = em_lib.m_step(**inputs)
        for j, mistakes in enumerate((fb.WEIGHTS_MISTAKES, fb.MEANS_MISTAKES, fb.VARIANCES_MISTAKES)):
            answers = [np.asarray(m.answer(**inputs)) for m in mistakes]
            for a in answers:
                assert a.shape != expected[j].shape or not np.allclose(a, expected[j]), (key, j)
            for i in range(len(answers)):
                for k in range(i + 1, len(answers)):
                    a, b = answers[i], answers[k]
                    same_mistake = mistakes[i].id == mistakes[k].id
                    assert same_mistake or a.shape != b.shape or not np.allclose(a, b), (key, j, i, k)


@st.composite
def positive_distribution_rows_problem(draw):
    x = draw(samples(min_size=2, max_size=30, tails=False))
    K = draw(st.integers(1, 4))
    return x, draw(positive_distribution_rows(x.size, K))


@given(positive_distribution_rows_problem())
def test_the_reference_m_step_passes_on_any_responsibilities(problem):
    x, resp = problem
    assert fb.check_m_step.verdict(em_lib.m_step, x=x, resp=resp) == "m_step(...): correct"


# --------------------------------------------------------------------------
# Each cell names the mistake it sees; each array and each step earns its points
# --------------------------------------------------------------------------


@pytest.mark.parametrize("variant, words", [("before", "recorded BEFORE the M-step"), ("bound", "holds the lower bound")])
@pytest.mark.parametrize("key", ["heights", "three components"])
def test_the_history_check_names_the_mistake(variant, words, key):
    with pytest.raises(AssertionError, match=words):
        fb.check_fit_em_history.verdict(make_fit_em(em_lib.e_step, em_lib.m_step, variant), **fb.FIT_EM_INPUTS[key])


def test_an_unknown_history_mistake_still_gets_the_general_message():
    def fit_em(x, weights, means, variances, n_iter):
        w, m, v, h = em_lib.fit_em(x, weights, means, variances, n_iter)
        return w, m, v, h - 1.0

    with pytest.raises(AssertionError, match="is not the log-likelihood of the parameters returned"):
        fb.check_fit_em_history.verdict(fit_em, **fb.FIT_EM_INPUTS["heights"])


def test_wrong_parameters_are_reported_in_plural():
    with pytest.raises(AssertionError, match=r"^the parameters returned by fit_em\(\.\.\.\) are not right\. The new parameters"):
        fb.check_fit_em.verdict(make_fit_em(em_lib.e_step, em_lib.m_step, "not fed back"), parts=("parameters",),
                        **fb.FIT_EM_INPUTS["heights"])
    with pytest.raises(AssertionError, match=r"^the history returned by fit_em\(\.\.\.\) is not right"):
        fb.check_fit_em.verdict(make_fit_em(em_lib.e_step, em_lib.m_step, "one short"), parts=("history",),
                        **fb.FIT_EM_INPUTS["heights"])


def m_means_divided_by_n(x, resp):
    counts = resp.sum(axis=0)
    means = resp.T @ x / len(x)
    return counts / len(x), means, (resp * (x[:, None] - means) ** 2).sum(axis=0) / counts


@pytest.mark.parametrize("key", sorted(fb.M_STEP_INPUTS))
def test_the_variances_are_graded_around_the_learners_own_means(key):
    inputs = fb.M_STEP_INPUTS[key]
    with pytest.raises(AssertionError, match="the means array.*divided by n instead of N_k"):
        fb.check_m_step.verdict(m_means_divided_by_n, parts=("means",), **inputs)
    assert fb.check_m_step.verdict(m_means_divided_by_n, parts=("weights", "variances"), **inputs).endswith("correct")


def test_variance_mistakes_around_the_learners_own_means_are_named():
    inputs = fb.M_STEP_INPUTS["three components"]

    def wrong_means_and_variances_by_n(x, resp):
        w, means, _ = m_means_divided_by_n(x, resp)
        return w, means, (resp * (x[:, None] - means) ** 2).sum(axis=0) / len(x)

    with pytest.raises(AssertionError, match="around the means it returned.*divided by n instead of N_k"):
        fb.check_m_step.verdict(wrong_means_and_variances_by_n, parts=("variances",), **inputs)

    def right_variances_beside_wrong_means(x, resp):
        w, m, v = em_lib.m_step(x, resp)
        return w, m * 2.0, v

    assert fb.check_m_step.verdict(right_variances_beside_wrong_means, parts=("variances",), **inputs).endswith("correct")
    with pytest.raises(AssertionError, match="the means array"):
        fb.check_m_step.verdict(right_variances_beside_wrong_means, **inputs)


def test_a_loop_that_stops_early_is_named():
    def fit_em(x, weights, means, variances, n_iter):
        history = []
        for t in range(n_iter):
            weights, means, variances = em_lib.m_step(x, em_lib.e_step(x, weights, means, variances))
            history.append(em_lib.log_likelihood(x, weights, means, variances))
            if t == 1:
                break
        return weights, means, variances, np.array(history)

    inputs = fb.FIT_EM_INPUTS["heights"]
    for parts in (("parameters",), ("history",), ("parameters", "history")):
        with pytest.raises(AssertionError, match="It stopped after 2 of the n_iter = 10 iterations"):
            fb.check_fit_em.verdict(fit_em, parts=parts, **inputs)
    assert fb.check_fit_em.verdict(fit_em, **{**inputs, "n_iter": 2}).endswith("correct")


# --------------------------------------------------------------------------
# m_step: variances around the old means
# --------------------------------------------------------------------------


def test_variances_around_the_means_resp_was_computed_at_are_named(capsys):
    theta0 = (np.array([0.5, 0.5]), np.array([185.0, 150.0]), np.array([100.0, 100.0]))
    inputs = fb.M_STEP_INPUTS["heights"]

    def around_old_means(x, resp):
        weights, means, _ = em_lib.m_step(x, resp)
        counts = resp.sum(axis=0)
        return weights, means, (resp * (x[:, None] - theta0[1]) ** 2).sum(axis=0) / counts

    with pytest.raises(AssertionError, match="measured around the OLD means, the ones the responsibilities were "
                                             "computed from \\(185, 150\\)"):
        fb.check_m_step.verdict(around_old_means, parts=("variances",), computed_at=theta0, **inputs)
    with pytest.raises(AssertionError):
        fb.self_check_m_step(around_old_means)
    assert "OLD means" in capsys.readouterr().out   # the self-check knows where its resp comes from


# --------------------------------------------------------------------------
# em_iteration: each number of the chain at the right Q and theta
# --------------------------------------------------------------------------

EM_IN = fb.EM_ITERATION_INPUTS["heights"]


def _with_chain(make_chain):
    def em_iteration(x, weights, means, variances):
        resp = em_lib.e_step(x, weights, means, variances)
        new = em_lib.m_step(x, resp)
        return (*new, np.asarray(make_chain(x, (weights, means, variances), resp, new), dtype=float))
    return em_iteration


def _bound_without_entropy(x, theta, q):
    return float(np.sum(q * em_lib.log_joint(x, *theta)))


@pytest.mark.parametrize("fn, words", [
    (_with_chain(lambda x, t, q, n: [em_lib.log_likelihood(x, *t), em_lib.elbo(x, q, *t),
                                     em_lib.elbo(x, em_lib.e_step(x, *n), *n), em_lib.log_likelihood(x, *n)]),
     "bound at the NEW responsibilities"),
    (_with_chain(lambda x, t, q, n: [em_lib.log_likelihood(x, *t), _bound_without_entropy(x, t, q),
                                     _bound_without_entropy(x, n, q), em_lib.log_likelihood(x, *n)]),
     "leave out the entropy of Q"),
    (_with_chain(lambda x, t, q, n: [em_lib.log_likelihood(x, *t), em_lib.elbo(x, q, *t), em_lib.elbo(x, q, *n),
                                     em_lib.log_likelihood(x, *t)]),
     "log-likelihood of the OLD parameters"),
    (_with_chain(lambda x, t, q, n: np.array([em_lib.log_likelihood(x, *t), em_lib.elbo(x, q, *t),
                                              em_lib.elbo(x, q, *n), em_lib.log_likelihood(x, *n)]) / x.size),
     "per sample"),
    (_with_chain(lambda x, t, q, n: [em_lib.log_likelihood(x, *n), em_lib.elbo(x, q, *n), em_lib.elbo(x, q, *t),
                                     em_lib.log_likelihood(x, *t)]),
     "reverse order"),
])
def test_chain_mistakes_are_named(fn, words):
    with pytest.raises(AssertionError, match="the chain returned by em_iteration") as info:
        fb.check_em_iteration.verdict(fn, parts=("chain",), **EM_IN)
    assert words in str(info.value)
    assert fb.check_em_iteration.verdict(fn, parts=("parameters",), **EM_IN).endswith("parameters correct")


def test_the_order_check_holds_for_any_right_iteration_and_names_a_broken_link():
    assert fb.check_em_iteration_order.verdict(em_lib.em_iteration, **EM_IN).startswith("em_iteration(...): l(theta_t)")
    no_entropy = _with_chain(lambda x, t, q, n: [em_lib.log_likelihood(x, *t), _bound_without_entropy(x, t, q),
                                                 _bound_without_entropy(x, n, q), em_lib.log_likelihood(x, *n)])
    with pytest.raises(AssertionError, match="first two numbers differ"):
        fb.check_em_iteration_order.verdict(no_entropy, **EM_IN)
    old_last = _with_chain(lambda x, t, q, n: [em_lib.log_likelihood(x, *t), em_lib.elbo(x, q, *t),
                                               em_lib.elbo(x, q, *n), em_lib.log_likelihood(x, *t)])
    with pytest.raises(AssertionError, match="above the log-likelihood"):
        fb.check_em_iteration_order.verdict(old_last, **EM_IN)


def test_em_iteration_that_returns_the_start_loses_the_parameters_only():
    def returns_start(x, weights, means, variances):
        *_, chain = em_lib.em_iteration(x, weights, means, variances)
        return weights, means, variances, chain

    with pytest.raises(AssertionError, match="the parameters returned by em_iteration"):
        fb.check_em_iteration.verdict(returns_start, parts=("parameters",), **EM_IN)
    fb.check_em_iteration.verdict(returns_start, parts=("chain",), **EM_IN)


def test_em_iteration_self_check_blames_a_wrong_m_step(capsys):
    def m_divide_by_n(x, resp):
        weights, means, _ = em_lib.m_step(x, resp)
        return weights, means, (resp * (x[:, None] - means) ** 2).sum(axis=0) / x.size

    namespace = {"m_step": m_divide_by_n}

    def em_iteration(x, weights, means, variances):
        resp = em_lib.e_step(x, weights, means, variances)
        new = namespace["m_step"](x, resp)
        chain = np.array([em_lib.log_likelihood(x, weights, means, variances), em_lib.elbo(x, resp, weights, means, variances),
                          em_lib.elbo(x, resp, *new), em_lib.log_likelihood(x, *new)])
        return (*new, chain)

    with pytest.raises(AssertionError):
        fb.self_check_em_iteration(em_iteration, namespace)
    out = capsys.readouterr().out
    assert "the mistake is in your m_step, so fix it first" in out
    fb.self_check_em_iteration(em_lib.em_iteration)
    assert "All 4 checks passed." in capsys.readouterr().out
