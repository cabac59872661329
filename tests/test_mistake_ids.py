"""Stable mistake ids: every classic mistake of em_lib.feedback has one, and the checks raise it.

The grader records ``exc.mistake`` of the AssertionError a failed graded test raised (a
``MistakeFound``) as the verdict's mistake id, and the instructor's class report counts
students per id and shows the words of ``mistake_catalogue()`` for it. So:

- every Mistake (and Misconception) defined in the feedback modules has a snake_case id;
- one id is one misconception: its texts are the same, or one extends the other;
- within one table, two mistakes share an id only when they are the same misconception;
- ``judge`` raises MistakeFound with the id of the mistake it names, and the checks that name a
  mistake outside ``judge`` do too; a wrong answer no mistake explains carries no id;
- the catalogue has every id, with its base words.
"""

import importlib
import pickle
import pkgutil
import re

import numpy as np
import pytest

import em_lib
import em_lib.feedback
from em_lib import datasets
from em_lib.bound import jensen_gap
from em_lib.feedback import coins, deriving, jensen, likelihood, namespace, posterior, practice, steps
from em_lib.feedback.core import (
    Misconception,
    Mistake,
    MistakeFound,
    Unexplained,
    close,
    judge,
    mistake_catalogue,
)

ID = re.compile(r"^[a-z][a-z0-9_]*$")

MODULES = [importlib.import_module(f"em_lib.feedback.{m.name}") for m in pkgutil.iter_modules(em_lib.feedback.__path__)]


def _walk(value, path):
    """(path, Misconception) for every Misconception (Mistakes included) in ``value``, however nested."""
    if isinstance(value, Misconception):
        yield path, value
    elif isinstance(value, (tuple, list)):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{path}[{key!r}]")


DEFINED = [(f"{module.__name__.rsplit('.', 1)[-1]}.{name}{path}", found)
           for module in MODULES for name, value in vars(module).items() for path, found in _walk(value, "")]

#: The tables: module-level tuples of Mistakes (a check's list of classic mistakes).
TABLES = {f"{module.__name__.rsplit('.', 1)[-1]}.{name}": value
          for module in MODULES for name, value in vars(module).items()
          if isinstance(value, tuple) and value and all(isinstance(m, Mistake) for m in value)}


def _texts_by_id(found):
    texts = {}
    for _, misconception in found:
        texts.setdefault(misconception.id, set()).add(misconception.explanation)
    return texts


def _one_misconception(texts):
    """True when every text extends the shortest one (the same words, or those words and a few more)."""
    base = min(texts, key=len)
    return all(text.startswith(base) for text in texts)


# --------------------------------------------------------------------------
# Every mistake has an id; one id is one misconception
# --------------------------------------------------------------------------


def test_the_feedback_modules_define_their_mistakes_with_ids():
    assert len(TABLES) >= 20 and len(DEFINED) >= 150
    for module in ("coins", "deriving", "jensen", "likelihood", "posterior", "practice", "steps"):
        assert any(where.startswith(f"{module}.") for where in TABLES), module
    bad = [(where, m.id) for where, m in DEFINED if not isinstance(m.id, str) or not ID.match(m.id)]
    assert not bad


def test_an_id_that_is_not_snake_case_is_refused():
    for bad in ("Weights left equal", "weights-left-equal", "1_weights", "", None, "_private"):
        with pytest.raises(ValueError, match="snake_case"):
            Mistake(bad, "words", lambda **kw: 0)
    with pytest.raises(TypeError):
        Mistake("words only", lambda **kw: 0)   # the id comes first, and is required


def test_one_id_is_one_misconception():
    spread = {i: texts for i, texts in _texts_by_id(DEFINED).items() if not _one_misconception(texts)}
    assert not spread, f"ids with unrelated explanations: {sorted(spread)}"


def test_two_ids_never_share_their_words():
    catalogue = mistake_catalogue()
    for a, text_a in catalogue.items():
        for b, text_b in catalogue.items():
            assert a == b or text_a not in text_b, f"{a}'s words are inside {b}'s: a message naming {b} names {a} too"


@pytest.mark.parametrize("table", sorted(TABLES))
def test_ids_are_unique_in_a_table_except_for_one_misconception_said_twice(table):
    mistakes = TABLES[table]
    by_id = {}
    for m in mistakes:
        by_id.setdefault(m.id, set()).add(m.explanation)
    for i, texts in by_id.items():
        assert _one_misconception(texts), f"{table}: {i} names two misconceptions"
    explanations = [m.explanation for m in mistakes]
    for m in mistakes:   # and the same words are never given two ids
        assert {n.id for n in mistakes if n.explanation == m.explanation} == {m.id}, table
    assert len(by_id) >= min(3, len(mistakes)) and len(set(explanations)) >= len(by_id)


def test_shared_misconceptions_share_one_id():
    """The mistakes that restate another's misconception carry its id: the wrong-axis sums of notebook 04, the
    variance mistakes around the learner's own means, the coins' loop one iteration short."""
    assert {m.id for m in steps.WEIGHTS_MISTAKES[2:]} == {"resp_summed_over_wrong_axis"}
    assert steps.MEANS_MISTAKES[2].id == steps.VARIANCES_MISTAKES[-1].id == "resp_summed_over_wrong_axis"
    assert [m.id for m in steps._VARIANCES_AROUND] == [steps.VARIANCES_MISTAKES[i].id for i in (0, 2, 3)]
    assert coins.TWO_COINS_MISTAKES[9].id == coins.THREE_COINS_MISTAKES[-1].id == "one_iteration_too_few"
    assert [m.id for m in deriving.POISSON_E_STEP_MISTAKES[:4]] == ["poisson_joint_not_normalised"] * 2 + [
        "normalised_over_counts"] * 2


# --------------------------------------------------------------------------
# The catalogue: every id, with its base words
# --------------------------------------------------------------------------


def test_the_catalogue_has_every_id_with_its_base_words():
    catalogue = mistake_catalogue()
    texts = _texts_by_id(DEFINED)
    assert set(catalogue) == set(texts)
    for i, words in catalogue.items():
        assert words == min(texts[i], key=len) and all(t.startswith(words) for t in texts[i]), i
    assert catalogue["resp_summed_over_wrong_axis"] == steps._WRONG_AXIS.explanation
    assert "(Here each 'mean'" not in catalogue["resp_summed_over_wrong_axis"]
    assert list(catalogue) == sorted(catalogue)


def test_mistakes_made_by_a_check_on_the_fly_are_in_the_catalogue():
    """Mistakes built while checking (around the learner's own means, a loop stopped after T iterations,
    cut to some items of fit_em's answer) keep an id the catalogue has, with words it extends or instantiates."""
    catalogue = mistake_catalogue()
    old_means = steps._around_old_means(steps._THETA0)
    assert old_means.id == "variance_around_old_means" and "(185, 150)" in old_means.explanation
    inputs = steps.FIT_EM_INPUTS["three components"]
    stopped = steps._stopped_early(em_lib.fit_em(**{**inputs, "n_iter": 2}), inputs, ("history",))
    assert [m.id for m in stopped] == ["stopped_early"] and "after 2 of the n_iter = 3" in stopped[0].explanation
    ex = em_lib.gaussian_missing_e_step(**deriving.MISSING_E_STEP_INPUTS["three dimensions"])[0]
    dynamic = [old_means, *stopped, *deriving._around(deriving.EXPECTED_XX_MISTAKES, ex),
               *deriving._around(deriving.COV_MISTAKES, np.zeros(3))]
    for m in dynamic:
        assert m.id in catalogue, m.id
    assert catalogue["stopped_early"].startswith("It stopped before n_iter iterations.")
    assert "(185, 150)" not in catalogue["variance_around_old_means"]


def test_the_catalogue_is_importable_from_the_package():
    from em_lib.feedback import MistakeFound as exported, mistake_catalogue as catalogue  # noqa: PLC0415

    assert exported is MistakeFound and catalogue() == mistake_catalogue()


# --------------------------------------------------------------------------
# judge raises MistakeFound with the id
# --------------------------------------------------------------------------

_M_STEP = steps.M_STEP_INPUTS["three components"]
_POISSON_M = deriving.POISSON_M_STEP_INPUTS["three components"]
_MISSING_E = deriving.MISSING_E_STEP_INPUTS["three dimensions"]
_MISSING_M = deriving.MISSING_M_STEP_INPUTS["three dimensions"]
_EX = em_lib.gaussian_missing_e_step(**_MISSING_E)[0]
_MEAN = em_lib.gaussian_missing_m_step(**_MISSING_M)[0]


def _item(fn, j):
    return lambda **kw: fn(**kw)[j]


_HEIGHTS = likelihood.heights_model()

#: table -> (reference, mistakes, input sets): on one of the sets at least, each mistake of the table gives a
#: wrong answer of its own.
JUDGED = {
    "likelihood.LOG_JOINT_MISTAKES": (em_lib.log_joint, likelihood.LOG_JOINT_MISTAKES, [
        likelihood._inputs(likelihood.TYPO_X, *likelihood.THREE_COMPONENTS)]),
    "likelihood.LOG_LIKELIHOOD_MISTAKES": (em_lib.log_likelihood, likelihood.LOG_LIKELIHOOD_MISTAKES, [
        likelihood._inputs(likelihood.EXAMPLE_X, *likelihood.THREE_COMPONENTS),
        likelihood._inputs(likelihood.TYPO_X, *_HEIGHTS)]),
    "jensen.JENSEN_GAP_MISTAKES": (jensen_gap, jensen.JENSEN_GAP_MISTAKES, [
        jensen._jensen_inputs([0.5, 2.0, 8.0], [0.5, 0.3, 0.2])]),
    "jensen.ELBO_MISTAKES": (em_lib.elbo, jensen.ELBO_MISTAKES, [
        jensen._elbo_inputs(jensen.EXAMPLE_X, jensen.example_q(), *_HEIGHTS)]),
    "posterior.POSTERIOR_MISTAKES": (em_lib.posterior, posterior.POSTERIOR_MISTAKES, [
        posterior.SELF_CHECK_INPUTS["three components"]]),
    "practice.N_PARAMS_MISTAKES": (practice.reference_n_gmm_params, practice.N_PARAMS_MISTAKES, [dict(K=3, d=4)]),
    "practice.KMEANS_MISTAKES": (practice.reference_kmeans_step, practice.KMEANS_MISTAKES, [
        # a point nearer to centre 1 than to centre 0, but not in the Manhattan distance; no point for centre 2
        dict(X=np.array([[2.0, 0.0], [0.0, 0.5], [1.3, 2.0], [0.0, 0.0], [2.0, 1.0]]),
             centres=np.array([[0.0, 0.0], [1.3, 1.5], [9.0, 9.0]])),
        # (0, 0) and (2, 0) are as far from centre 0 as from centre 1
        dict(X=np.array([[0.0, 0.0], [2.0, 0.0], [5.0, 5.0], [6.0, 5.0]]),
             centres=np.array([[1.0, 1.0], [1.0, -1.0], [5.5, 5.0]]))]),
    "coins.TWO_COINS_MISTAKES": (em_lib.two_coins_em, coins.TWO_COINS_MISTAKES, [
        dict(heads=np.array([3, 17, 12, 1, 9, 14]), n_tosses=np.array([8, 20, 15, 6, 12, 20]),
             theta_a=0.3, theta_b=0.8, n_iter=2)]),
    "coins.THREE_COINS_MISTAKES": (em_lib.three_coins_em, coins.THREE_COINS_MISTAKES, [
        dict(y=datasets.three_coins(), pi=0.4, p=0.6, q=0.7, n_iter=1)]),
    "steps.WEIGHTS_MISTAKES": (_item(em_lib.m_step, 0), steps.WEIGHTS_MISTAKES, [_M_STEP]),
    "steps.MEANS_MISTAKES": (_item(em_lib.m_step, 1), steps.MEANS_MISTAKES, [_M_STEP]),
    "steps.VARIANCES_MISTAKES": (_item(em_lib.m_step, 2), steps.VARIANCES_MISTAKES, [_M_STEP]),
    "steps.CHAIN_MISTAKES": (_item(em_lib.em_iteration, 3), steps.CHAIN_MISTAKES, [
        steps.EM_ITERATION_INPUTS["heights"]]),
    "steps.FIT_EM_MISTAKES": (em_lib.fit_em, steps.FIT_EM_MISTAKES, [steps.FIT_EM_INPUTS["three components"]]),
    "deriving.POISSON_E_STEP_MISTAKES": (em_lib.poisson_e_step, deriving.POISSON_E_STEP_MISTAKES, [
        deriving.POISSON_E_STEP_INPUTS["three components"]]),
    "deriving.POISSON_WEIGHTS_MISTAKES": (_item(em_lib.poisson_m_step, 0), deriving.POISSON_WEIGHTS_MISTAKES,
                                          [_POISSON_M]),
    "deriving.POISSON_RATES_MISTAKES": (_item(em_lib.poisson_m_step, 1), deriving.POISSON_RATES_MISTAKES,
                                        [_POISSON_M]),
    "deriving.EXPECTED_X_MISTAKES": (_item(em_lib.gaussian_missing_e_step, 0), deriving.EXPECTED_X_MISTAKES,
                                     [_MISSING_E]),
    "deriving.EXPECTED_XX_MISTAKES": (_item(em_lib.gaussian_missing_e_step, 1),
                                      deriving._around(deriving.EXPECTED_XX_MISTAKES, _EX), [_MISSING_E]),
    "deriving.MISSING_MEAN_MISTAKES": (_item(em_lib.gaussian_missing_m_step, 0), deriving.MISSING_MEAN_MISTAKES,
                                       [_MISSING_M]),
    "deriving.COV_MISTAKES": (_item(em_lib.gaussian_missing_m_step, 1), deriving._around(deriving.COV_MISTAKES, _MEAN),
                              [_MISSING_M]),
}

#: Mistakes whose wrong answer is NaN where it differs: NaN equals nothing, so judge cannot match them (the check
#: of their exercise matches the NaN pattern instead, see below).
NAN_ONLY = {"zero_log_zero_not_handled"}


def test_every_table_with_mistakes_of_one_answer_is_judged_here():
    judged_elsewhere = {"steps._VARIANCES_AROUND", "steps._ITEMS", "deriving._POISSON_M_ITEMS"}
    assert set(TABLES) - judged_elsewhere <= set(JUDGED)


@pytest.mark.parametrize("table", sorted(JUDGED))
def test_judge_raises_mistake_found_with_the_id_of_each_mistake(table):
    """A wrong answer is named by the id (and the words) of the first mistake of the table that gives it."""
    reference, mistakes, input_sets = JUDGED[table]
    named = set()
    for inputs in input_sets:
        with np.errstate(all="ignore"):
            right = reference(**inputs)
            answers = [m.answer(**inputs) for m in mistakes]
        for answer in answers:
            first = next((m for m, wrong in zip(mistakes, answers) if close(answer, wrong)), None)
            if first is None or close(answer, right):
                continue   # NaN, which matches nothing; or a mistake that does no harm on these inputs
            with pytest.raises(MistakeFound) as info, np.errstate(all="ignore"):
                judge(inputs, answer, reference, mistakes, what="f(...)")
            found = info.value
            assert (found.mistake, found.explanation) == (first.id, first.explanation), table
            assert str(found) == f"f(...) is not right. {first.explanation}" and isinstance(found, AssertionError)
            named.add(found.mistake)
    assert named == {m.id for m in mistakes} - NAN_ONLY, f"{table}: never named on these inputs"


def test_judge_names_the_first_mistake_that_matches_and_an_unexplained_answer_has_no_id():
    reference, _, (inputs, _) = JUDGED["likelihood.LOG_LIKELIHOOD_MISTAKES"]
    twice = [Mistake("first_reading", "first", likelihood.LOG_LIKELIHOOD_MISTAKES[0].answer),
             Mistake("second_reading", "second", likelihood.LOG_LIKELIHOOD_MISTAKES[0].answer)]
    with pytest.raises(MistakeFound) as info:
        judge(inputs, twice[1].answer(**inputs), reference, twice)
    assert info.value.mistake == "first_reading"
    with pytest.raises(Unexplained) as info:
        judge(inputs, reference(**inputs) + 1.0, reference, likelihood.LOG_LIKELIHOOD_MISTAKES)
    assert not isinstance(info.value, MistakeFound) and getattr(info.value, "mistake", None) is None


def test_mistake_found_survives_a_pickle_and_a_rewording():
    found = steps.WEIGHTS_MISTAKES[0].found("m_step(...)")
    again = pickle.loads(pickle.dumps(found))
    assert (type(again), str(again), again.mistake, again.explanation) == (
        MistakeFound, str(found), "weights_left_equal", steps.WEIGHTS_MISTAKES[0].explanation)
    assert found.reworded("other words").mistake == "weights_left_equal"


# --------------------------------------------------------------------------
# The checks that name a mistake outside judge raise MistakeFound too
# --------------------------------------------------------------------------

CATALOGUE = mistake_catalogue()


def _failure(run):
    with pytest.raises(AssertionError) as info, np.errstate(all="ignore"):
        run()
    return info.value


def _named(run, mistake_id):
    """``run()`` fails with a MistakeFound for ``mistake_id``, whose message has the mistake's words."""
    exc = _failure(run)
    assert isinstance(exc, MistakeFound), f"no mistake id on: {exc}"
    assert exc.mistake == mistake_id, str(exc)
    named_in_words = [i for i, words in CATALOGUE.items() if words in str(exc)]
    assert named_in_words in ([mistake_id], []), named_in_words
    return exc


def _not_named(run):
    """``run()`` fails with a message that names no classic mistake, and carries no id."""
    exc = _failure(run)
    assert getattr(exc, "mistake", None) is None, str(exc)
    assert not [i for i, words in CATALOGUE.items() if words in str(exc)], str(exc)
    return exc


def _returning(value):
    def fn(**kwargs):
        return value
    return fn


def test_a_transposed_log_joint_is_named_by_the_shape_check():
    x, heights = likelihood.EXAMPLE_X, likelihood.heights_model()
    transposed = _returning(em_lib.log_joint(x, *heights).T)
    _named(lambda: likelihood._log_joint_shape(transposed, x, *heights), "log_joint_transposed")
    _not_named(lambda: likelihood._log_joint_shape(_returning(np.zeros(5)), x, *heights))


def test_nan_answers_named_by_their_pattern_carry_the_id():
    naive = _returning(jensen._naive_elbo(jensen.EXAMPLE_X, jensen.one_hot_q(), *jensen.heights_model()))
    _named(lambda: jensen._elbo_value(naive, jensen.EXAMPLE_X, jensen.one_hot_q(), *jensen.heights_model()),
           "zero_log_zero_not_handled")


def test_posterior_underflow_and_hard_assignment_carry_their_ids():
    tails = posterior.SELF_CHECK_INPUTS["far tails"]
    with np.errstate(all="ignore"):
        joint = np.exp(em_lib.log_joint(**tails))
        naive = joint / joint.sum(axis=1, keepdims=True)
    _named(lambda: posterior.check_posterior.verdict(_returning(naive), **tails), "posterior_underflows_to_nan")
    _named(lambda: posterior.check_posterior_rows.verdict(_returning(naive), **tails), "posterior_underflows_to_nan")
    heights = posterior.SELF_CHECK_INPUTS["heights"]
    hard = posterior._hard_assignment(**heights)
    _named(lambda: posterior.check_posterior.verdict(_returning(hard), **heights), "hard_assignment")
    _not_named(lambda: posterior.check_posterior_rows.verdict(_returning(np.full((4, 2), 0.3)), **heights))


def test_poisson_overflow_and_columns_summing_to_one_carry_their_ids():
    large = deriving.POISSON_E_STEP_INPUTS["large counts"]
    with np.errstate(all="ignore"):
        overflowing = deriving._e_over_counts(**large) * np.nan
    _named(lambda: deriving.check_poisson_e_step.verdict(_returning(overflowing), **large), "poisson_overflow")

    def factorials(counts, weights, rates):
        import math  # noqa: PLC0415
        return float(math.factorial(int(max(counts))))

    _named(lambda: deriving.check_poisson_e_step.verdict(factorials, **large), "poisson_overflow")
    small = deriving.POISSON_E_STEP_INPUTS["three components"]
    _named(lambda: deriving.check_poisson_e_step_rows.verdict(_returning(deriving._e_over_counts(**small)), **small),
           "normalised_over_counts")
    _named(lambda: deriving.check_poisson_e_step.verdict(_returning(deriving._e_hard(**small)), **small),
           "poisson_hard_assignment")


def test_missing_entries_left_nan_carry_the_id():
    inputs = deriving.MISSING_E_STEP_INPUTS["three dimensions"]
    ex, exx = em_lib.gaussian_missing_e_step(**inputs)
    left = _returning((inputs["X"], exx))
    _named(lambda: deriving.check_gaussian_missing_e_step.verdict(left, **inputs), "missing_entries_left_nan")
    _named(lambda: deriving.check_gaussian_missing_e_step_seen.verdict(left, **inputs), "missing_entries_left_nan")


def test_kmeans_empty_centre_and_in_place_update_carry_their_ids():
    centres = [[0.0, 0.0], [6.0, 6.0], [50.0, 50.0]]
    labels, _ = practice.reference_kmeans_step(practice.SMALL_X, np.array(centres))
    nan_centre = _returning((labels, practice._empty_gives_nan(practice.SMALL_X, np.array(centres))[1]))
    _named(lambda: practice.check_kmeans_step.verdict(nan_centre, practice.SMALL_X, centres), "empty_centre_nan")

    def in_place(X, centres):
        labels, new = practice.reference_kmeans_step(X, centres)
        centres[:] = new
        return labels, centres

    _named(lambda: practice.check_kmeans_step.verdict(in_place, practice.SMALL_X, centres), "centres_changed_in_place")


def test_m_step_weights_of_one_per_sample_and_old_means_carry_their_ids():
    def per_sample(x, resp):
        return resp.mean(axis=1), *em_lib.m_step(x, resp)[1:]

    _named(lambda: steps._weights_sum_to_one(per_sample), "resp_summed_over_wrong_axis")

    def two_weights_too_many(x, resp):
        w, m, v = em_lib.m_step(x, resp)
        return np.append(w, [0.0, 0.0]), m, v

    _not_named(lambda: steps._weights_sum_to_one(two_weights_too_many))
    inputs, theta0 = steps.M_STEP_INPUTS["heights"], steps._THETA0

    def around_old(x, resp):
        w, m, _ = em_lib.m_step(x, resp)
        return w, m, steps._scatter(x, resp, theta0[1]) / resp.sum(axis=0)

    exc = _named(lambda: steps.check_m_step.verdict(around_old, computed_at=theta0, **inputs),
                 "variance_around_old_means")
    assert "(185, 150)" in str(exc)


def test_a_chain_without_entropy_is_named_by_the_order_check_only_when_it_is_that_mistake():
    inputs = steps.EM_ITERATION_INPUTS["heights"]
    w, m, v, chain = em_lib.em_iteration(**inputs)
    no_entropy = _returning((w, m, v, steps._without_entropy(**inputs)))
    _named(lambda: steps.check_em_iteration_order.verdict(no_entropy, **inputs), "bound_without_entropy")
    shifted = _returning((w, m, v, chain - np.array([0.0, 1.0, 0.0, 0.0])))
    exc = _not_named(lambda: steps.check_em_iteration_order.verdict(shifted, **inputs))
    assert "first two numbers differ" in str(exc)


def test_fit_em_loop_mistakes_carry_their_ids_in_every_check():
    inputs = steps.FIT_EM_INPUTS["three components"]
    for mistake in steps.FIT_EM_MISTAKES:
        answer = _returning(mistake.answer(**inputs))
        _named(lambda: steps.check_fit_em.verdict(answer, **inputs), mistake.id)
    fed = next(m for m in steps.FIT_EM_MISTAKES if m.id == "parameters_not_fed_back")
    exc = _named(lambda: steps.check_fit_em.verdict(_returning(fed.answer(**inputs)), parts=("parameters",), **inputs),
                 "parameters_not_fed_back")
    assert "the parameters returned by fit_em(...) are not right" in str(exc)   # reworded, the id kept
    for mistake in steps.FIT_EM_MISTAKES[1:4]:   # histories of the wrong length, named by the history check
        _named(lambda: steps.check_fit_em_history.verdict(_returning(mistake.answer(**inputs)), **inputs), mistake.id)
    heights = steps.FIT_EM_INPUTS["heights"]
    stopped = _returning(em_lib.fit_em(**{**heights, "n_iter": 4}))
    exc = _named(lambda: steps.check_fit_em.verdict(stopped, **heights), "stopped_early")
    assert "It stopped after 4 of the n_iter = 10 iterations" in str(exc)


def test_blame_keeps_the_id_of_the_functions_own_mistake():
    x, heights = likelihood.EXAMPLE_X, likelihood.heights_model()

    def broken_log_joint(x, weights, means, variances):
        return em_lib.log_joint(x, weights, means, variances) + 1.0

    space = {"log_joint": broken_log_joint}

    def log_likelihood(x, weights, means, variances):   # the mean over samples, on the learner's own log_joint
        a = space["log_joint"](x, weights, means, variances)
        top = a.max(axis=1, keepdims=True)
        return float(np.mean(top[:, 0] + np.log(np.exp(a - top).sum(axis=1))))

    check = lambda: likelihood._log_likelihood_value(log_likelihood, x, *heights)  # noqa: E731
    exc = _named(lambda: namespace.blame(check, "log_likelihood", space, log_joint=em_lib.log_joint),
                 "mean_over_samples_not_sum")
    assert "With em_lib's log_joint in place of yours" in str(exc)

    def right(x, weights, means, variances):
        a = space["log_joint"](x, weights, means, variances)
        top = a.max(axis=1, keepdims=True)
        return float(np.sum(top[:, 0] + np.log(np.exp(a - top).sum(axis=1))))

    exc = _not_named(lambda: namespace.blame(lambda: likelihood._log_likelihood_value(right, x, *heights),
                                             "log_likelihood", space, log_joint=em_lib.log_joint))
    assert "the mistake is in your log_joint" in str(exc)


def test_messages_that_only_describe_a_difference_carry_no_id():
    x, heights = likelihood.EXAMPLE_X, likelihood.heights_model()
    _not_named(lambda: likelihood.check_log_joint(_returning(np.zeros((5, 2))), x, *heights))
    _not_named(lambda: likelihood.check_log_likelihood(_returning("a number"), x, *heights))

    def unwritten(**kwargs):
        raise NotImplementedError()

    _not_named(lambda: likelihood.check_log_joint(unwritten, x, *heights))
    _not_named(lambda: steps.check_m_step.verdict(_returning((1.0, 2.0)), **steps.M_STEP_INPUTS["heights"]))
