"""A catalogue of realistic wrong answers, one per classic mistake, for every graded function.

Each entry is the complete source of an answer cell as a student would hand it in:
the signature of the release, a wrong body. ``tests/test_grading_wrong_answers.py``
puts each one into the otherwise filled solution and grades it with real nbgrader.

Fields of :class:`WrongAnswer`:

- ``assignment``, ``grade_id``: where the answer goes (the answer cell's grade_id);
- ``name``: a short name of the mistake;
- ``source``: the answer cell;
- ``partial``: the mistake leaves part of the function right AND the notebook's point
  split is meant to reward that part (checked by hand against the notebook's
  "Points:" line and its graded cells): the function must keep some of its points;
- ``feedback``: a phrase that the feedback shown in the failed graded cells must
  contain, so the learner is told which mistake it is (None: not asserted);
- ``keeps``: graded cells (grade_ids) that the mistake leaves right and that must keep
  full marks, so that the split rewards what is right (checked by hand, like ``partial``);
- ``mistake``: the id of the classic mistake (``em_lib.feedback``'s ``Mistake.id``) that the
  grader must record in the verdict of at least one of the function's failed graded cells,
  for an entry whose ``feedback`` names a classic mistake (None: not asserted).

``REFERENCE_CALLS`` holds one answer per graded function that only calls the
reference implementation. Graded code runs in a sandbox without em_lib (issue 7), so
each scores zero for that function, told why, while the others keep their points.
"""

import ast
import textwrap
from dataclasses import dataclass

from em_lib import contract


@dataclass(frozen=True)
class WrongAnswer:
    assignment: str
    grade_id: str
    name: str
    source: str
    partial: bool = False
    feedback: str | None = None
    keeps: tuple = ()
    mistake: str | None = None

    @property
    def function(self):
        """The graded function: the name the answer cell defines."""
        return function_name(self.source)

    @property
    def id(self):
        return f"{self.function}:{self.name}"


def function_name(source):
    """The name of the (first) function an answer cell defines."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef):
            return node.name
    raise ValueError("no function definition in the answer")


#: Each graded function's assignment.
_ASSIGNMENT_OF = {e.name: a.name for a in contract.ASSIGNMENTS.values() for e in a.functions}


def _answer(function, name, body, **kw):
    """The catalogue entry of ``function``'s answer cell: the release's signature, then ``body``.

    Where the answer goes (the assignment, the grade_id ``<function>_answer``) and the
    signature come from the exercise contract, em_lib/contract.py.
    """
    signature = f"def {function}({', '.join(contract.EXERCISES[function].parameters)}):\n"
    return WrongAnswer(_ASSIGNMENT_OF[function], f"{function}_answer", name, signature + body, **kw)


def _b(text):
    """A function body: dedented, then indented by four spaces."""
    return textwrap.indent(textwrap.dedent(text).strip("\n"), "    ") + "\n"


WRONG_ANSWERS = (
    # ------------------------------------------------------------------ 01 log_joint
    _answer("log_joint", "conditional_not_joint", _b("""
        # log p(x | z = k): the mixing weights are forgotten
        x = np.asarray(x, dtype=float)[:, None]
        return -0.5 * np.log(2 * np.pi * variances) - 0.5 * (x - means) ** 2 / variances
        """), partial=True, feedback="the mixing weights are forgotten", mistake="conditional_not_joint"),
    _answer("log_joint", "standard_deviation_for_variance", _b("""
        x = np.asarray(x, dtype=float)[:, None]
        sigma = np.sqrt(variances)
        return np.log(weights) - 0.5 * np.log(2 * np.pi * sigma) - 0.5 * (x - means) ** 2 / sigma
        """), partial=True, feedback="standard deviation is used where the variance belongs",
        mistake="standard_deviation_for_variance"),
    _answer("log_joint", "density_then_log_underflows", _b("""
        x = np.asarray(x, dtype=float)[:, None]
        density = weights * np.exp(-0.5 * (x - means) ** 2 / variances) / np.sqrt(2 * np.pi * variances)
        return np.log(density)
        """), partial=True, feedback="underflows to 0", mistake="log_of_underflowed_density"),
    _answer("log_joint", "scipy_scale_is_the_variance", _b("""
        from scipy.stats import norm
        x = np.asarray(x, dtype=float)[:, None]
        return np.log(weights) + norm.logpdf(x, loc=means, scale=variances)
        """), partial=True, feedback="`scale` is the standard deviation", mistake="variances_squared"),
    # ------------------------------------------------------------------ 01 log_likelihood
    _answer("log_likelihood", "sum_of_logs", _b("""
        # sum_i sum_k log p(x_i, k): the log of a sum taken as a sum of logs
        return float(np.sum(log_joint(x, weights, means, variances)))
        """), partial=True, feedback="sum of the logs", mistake="sum_of_logs"),
    _answer("log_likelihood", "naive_sum_of_densities_underflows", _b("""
        densities = np.exp(log_joint(x, weights, means, variances))
        return float(np.sum(np.log(densities.sum(axis=1))))
        """), partial=True, feedback="sum of densities underflows", mistake="sum_of_densities_underflows"),
    _answer("log_likelihood", "mean_instead_of_sum", _b("""
        a = log_joint(x, weights, means, variances)
        m = a.max(axis=1, keepdims=True)
        return float(np.mean(m[:, 0] + np.log(np.exp(a - m).sum(axis=1))))
        """), partial=True, feedback="It is the MEAN over samples", mistake="mean_over_samples_not_sum"),
    _answer("log_likelihood", "max_instead_of_log_sum_exp", _b("""
        # each person counted only under the group that explains them best
        return float(np.sum(log_joint(x, weights, means, variances).max(axis=1)))
        """), partial=True, feedback="keeps only the largest term", mistake="max_instead_of_logsumexp"),
    # ------------------------------------------------------------------ 02 jensen_gap
    _answer("jensen_gap", "sign_flipped", _b("""
        values, q = np.asarray(values, dtype=float), np.asarray(q, dtype=float)
        return float(q @ np.log(values) - np.log(q @ values))
        """), partial=True, feedback="The sign is flipped", mistake="gap_sign_flipped"),
    _answer("jensen_gap", "q_ignored", _b("""
        values = np.asarray(values, dtype=float)
        return float(np.log(np.mean(values)) - np.mean(np.log(values)))
        """), partial=True, feedback="The weights q are ignored", mistake="q_ignored"),
    _answer("jensen_gap", "log_forgotten_in_the_chord", _b("""
        values, q = np.asarray(values, dtype=float), np.asarray(q, dtype=float)
        return float(np.log(q @ values) - q @ values)
        """), feedback="The log of the values is missing in the second term", mistake="log_missing_in_chord"),
    _answer("jensen_gap", "chord_without_weights", _b("""
        # the chord point as the plain mean of the logs
        values, q = np.asarray(values, dtype=float), np.asarray(q, dtype=float)
        return float(np.log(q @ values) - np.mean(np.log(values)))
        """), partial=True, feedback="The chord point is not weighted", keeps=("test_jensen_gap_sign",),
        mistake="chord_not_weighted"),
    _answer("jensen_gap", "log_forgotten_on_the_curve", _b("""
        values, q = np.asarray(values, dtype=float), np.asarray(q, dtype=float)
        return float(q @ values - q @ np.log(values))
        """), partial=True, feedback="The log is missing in the first term", mistake="log_missing_on_curve"),
    # ------------------------------------------------------------------ 02 elbo
    _answer("elbo", "entropy_missing", _b("""
        q = np.asarray(q, dtype=float)
        return float(np.sum(q * em_lib.log_joint(x, weights, means, variances)))
        """), partial=True, feedback="The entropy term is missing", keeps=("test_elbo_one_hot_q",),
        mistake="entropy_missing"),
    _answer("elbo", "zero_log_zero_gives_nan", _b("""
        q = np.asarray(q, dtype=float)
        return float(np.sum(q * (em_lib.log_joint(x, weights, means, variances) - np.log(q))))
        """), partial=True, feedback="0 log 0 is not handled", mistake="zero_log_zero_not_handled",
        keeps=("test_elbo_values", "test_elbo_uniform_and_other_K")),
    _answer("elbo", "entropy_sign_flipped", _b("""
        q = np.asarray(q, dtype=float)
        q_log_q = np.where(q > 0, q * np.log(np.where(q > 0, q, 1.0)), 0.0)
        return float(np.sum(q * em_lib.log_joint(x, weights, means, variances)) + q_log_q.sum())
        """), partial=True, feedback="The sign of the entropy is flipped", keeps=("test_elbo_one_hot_q",),
        mistake="entropy_sign_flipped"),
    _answer("elbo", "mean_over_samples", _b("""
        q = np.asarray(q, dtype=float)
        log_p = em_lib.log_joint(x, weights, means, variances)
        log_q = np.log(np.where(q > 0, q, 1.0))
        return float(np.mean(np.sum(np.where(q > 0, q * (log_p - log_q), 0.0), axis=1)))
        """), feedback="It is the mean over samples", mistake="bound_averaged_over_samples"),
    # ------------------------------------------------------------------ 03 posterior
    _answer("posterior", "not_normalised", _b("""
        # the joint p(x_i, k): proportional to the posterior, but not divided by p(x_i)
        return np.exp(em_lib.log_joint(x, weights, means, variances))
        """), feedback="the rows are not normalised", mistake="joint_not_normalised"),
    _answer("posterior", "normalised_over_samples", _b("""
        joint = np.exp(em_lib.log_joint(x, weights, means, variances))
        return joint / joint.sum(axis=0, keepdims=True)
        """), feedback="normalises over the samples", mistake="normalised_over_samples"),
    _answer("posterior", "weights_forgotten", _b("""
        x = np.asarray(x, dtype=float)[:, None]
        log_density = -0.5 * np.log(2 * np.pi * variances) - 0.5 * (x - means) ** 2 / variances
        shifted = np.exp(log_density - log_density.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)
        """), partial=True, feedback="The mixing weights are missing", mistake="mixing_weights_missing"),
    _answer("posterior", "naive_exp_underflows", _b("""
        joint = np.exp(em_lib.log_joint(x, weights, means, variances))
        return joint / joint.sum(axis=1, keepdims=True)
        """), partial=True, feedback="It gives NaN for points far from every component",
        mistake="posterior_underflows_to_nan"),
    _answer("posterior", "hard_assignment", _b("""
        # each person wholly to the group that explains them best, as in k-means
        log_joint = em_lib.log_joint(x, weights, means, variances)
        return np.eye(log_joint.shape[1])[log_joint.argmax(axis=1)]
        """), partial=True, feedback="It is a hard assignment", keeps=("test_posterior_rows",),
        mistake="hard_assignment"),
    # ------------------------------------------------------------------ 04 em_iteration
    _answer("em_iteration", "bound_at_the_new_responsibilities", _b("""
        resp = em_lib.e_step(x, weights, means, variances)
        new = m_step(x, resp)
        chain = np.array([em_lib.log_likelihood(x, weights, means, variances),
                          em_lib.elbo(x, resp, weights, means, variances),
                          em_lib.elbo(x, em_lib.e_step(x, *new), *new),      # Q moved on with theta
                          em_lib.log_likelihood(x, *new)])
        return (*new, chain)
        """), partial=True, feedback="The third number is the bound at the NEW responsibilities",
        mistake="bound_at_new_responsibilities", keeps=("test_em_iteration_parameters", "test_em_iteration_order")),
    _answer("em_iteration", "q_function_instead_of_the_bound", _b("""
        resp = em_lib.e_step(x, weights, means, variances)
        new = m_step(x, resp)
        q_old = np.sum(resp * em_lib.log_joint(x, weights, means, variances))   # no entropy
        q_new = np.sum(resp * em_lib.log_joint(x, *new))
        chain = np.array([em_lib.log_likelihood(x, weights, means, variances), q_old, q_new,
                          em_lib.log_likelihood(x, *new)])
        return (*new, chain)
        """), partial=True, feedback="The bounds leave out the entropy of Q", keeps=("test_em_iteration_parameters",),
        mistake="bound_without_entropy"),
    _answer("em_iteration", "last_likelihood_at_the_old_parameters", _b("""
        resp = em_lib.e_step(x, weights, means, variances)
        new = m_step(x, resp)
        old = em_lib.log_likelihood(x, weights, means, variances)
        chain = np.array([old, em_lib.elbo(x, resp, weights, means, variances), em_lib.elbo(x, resp, *new), old])
        return (*new, chain)
        """), partial=True, feedback="The last number is the log-likelihood of the OLD parameters",
        mistake="last_log_likelihood_at_old_parameters", keeps=("test_em_iteration_parameters",)),
    _answer("em_iteration", "returns_the_start", _b("""
        resp = em_lib.e_step(x, weights, means, variances)
        new = m_step(x, resp)
        chain = np.array([em_lib.log_likelihood(x, weights, means, variances),
                          em_lib.elbo(x, resp, weights, means, variances),
                          em_lib.elbo(x, resp, *new), em_lib.log_likelihood(x, *new)])
        return weights, means, variances, chain      # the chain of the new parameters, but the old ones
        """), partial=True, keeps=("test_em_iteration_chain", "test_em_iteration_order")),
    # ------------------------------------------------------------------ 04 m_step
    _answer("m_step", "variances_divided_by_n", _b("""
        counts = resp.sum(axis=0)
        weights = counts / x.size
        means = resp.T @ x / counts
        variances = (resp * (x[:, None] - means) ** 2).sum(axis=0) / x.size
        return weights, means, variances
        """), partial=True, feedback="divided by n instead of N_k", mistake="variance_divided_by_n_not_n_k"),
    _answer("m_step", "standard_deviations_returned", _b("""
        counts = resp.sum(axis=0)
        means = resp.T @ x / counts
        spread = np.sqrt((resp * (x[:, None] - means) ** 2).sum(axis=0) / counts)
        return counts / x.size, means, spread
        """), partial=True, feedback="These are standard deviations", mistake="standard_deviations_returned"),
    _answer("m_step", "variances_around_unweighted_mean", _b("""
        counts = resp.sum(axis=0)
        means = resp.T @ x / counts
        variances = (resp * (x[:, None] - x.mean()) ** 2).sum(axis=0) / counts
        return counts / x.size, means, variances
        """), partial=True, feedback="around the mean of all the data", mistake="variance_around_data_mean"),
    _answer("m_step", "means_divided_by_n", _b("""
        counts = resp.sum(axis=0)
        means = resp.T @ x / x.size
        variances = (resp * (x[:, None] - means) ** 2).sum(axis=0) / counts
        return counts / x.size, means, variances
        """), partial=True, feedback="divided by n instead of N_k", mistake="mean_divided_by_n_not_n_k",
        keeps=("test_m_step_weights", "test_m_step_variances")),
    # ------------------------------------------------------------------ 04 fit_em
    _answer("fit_em", "history_recorded_before_the_m_step", _b("""
        log_likelihoods = np.empty(n_iter)
        for t in range(n_iter):
            log_likelihoods[t] = em_lib.log_likelihood(x, weights, means, variances)
            resp = em_lib.e_step(x, weights, means, variances)
            weights, means, variances = m_step(x, resp)
        return weights, means, variances, log_likelihoods
        """), partial=True, feedback="each entry was recorded BEFORE the M-step",
        mistake="history_recorded_before_m_step", keeps=("test_fit_em_heights", "test_fit_em_other_data")),
    _answer("fit_em", "parameters_not_fed_back", _b("""
        log_likelihoods = np.empty(n_iter)
        for t in range(n_iter):
            resp = em_lib.e_step(x, weights, means, variances)
            new_weights, new_means, new_variances = m_step(x, resp)
            log_likelihoods[t] = em_lib.log_likelihood(x, new_weights, new_means, new_variances)
        return new_weights, new_means, new_variances, log_likelihoods
        """), feedback="fit_em(...) are not right. The new parameters are not fed back",
        mistake="parameters_not_fed_back"),
    _answer("fit_em", "e_and_m_swapped", _b("""
        resp = np.full((np.size(x), np.size(weights)), 1.0 / np.size(weights))
        log_likelihoods = np.empty(n_iter)
        for t in range(n_iter):
            weights, means, variances = m_step(x, resp)
            resp = em_lib.e_step(x, weights, means, variances)
            log_likelihoods[t] = em_lib.log_likelihood(x, weights, means, variances)
        return weights, means, variances, log_likelihoods
        """), feedback="E and M are swapped", mistake="e_and_m_swapped"),
    _answer("fit_em", "one_iteration_too_few", _b("""
        log_likelihoods = []
        for t in range(1, n_iter):
            resp = em_lib.e_step(x, weights, means, variances)
            weights, means, variances = m_step(x, resp)
            log_likelihoods.append(em_lib.log_likelihood(x, weights, means, variances))
        return weights, means, variances, np.array(log_likelihoods)
        """), feedback="It ran n_iter - 1 iterations", mistake="n_iter_minus_1_iterations"),
    _answer("fit_em", "history_holds_the_bound", _b("""
        log_likelihoods = np.empty(n_iter)
        for t in range(n_iter):
            resp = em_lib.e_step(x, weights, means, variances)
            weights, means, variances = m_step(x, resp)
            joint = em_lib.log_joint(x, weights, means, variances)       # the bound L(resp, new theta)
            with np.errstate(divide="ignore", invalid="ignore"):
                log_likelihoods[t] = np.where(resp > 0, resp * (joint - np.log(resp)), 0.0).sum()
        return weights, means, variances, log_likelihoods
        """), partial=True, feedback="The history holds the lower bound", mistake="history_holds_bound",
        keeps=("test_fit_em_heights", "test_fit_em_other_data")),
    _answer("fit_em", "stops_early_when_converged", _b("""
        # a stopping rule (notebook 05) in a loop whose contract is exactly n_iter iterations
        log_likelihoods = []
        for t in range(n_iter):
            resp = em_lib.e_step(x, weights, means, variances)
            weights, means, variances = m_step(x, resp)
            log_likelihoods.append(em_lib.log_likelihood(x, weights, means, variances))
            if t > 0 and log_likelihoods[-1] - log_likelihoods[-2] < 1e-6 * abs(log_likelihoods[-1]):
                break
        return weights, means, variances, np.array(log_likelihoods)
        """), partial=True, feedback="A stopping rule (notebook 05) has no place here", mistake="stopped_early",
        keeps=("test_fit_em_heights",)),
    # ------------------------------------------------------------------ 05 n_gmm_params
    _answer("n_gmm_params", "k_free_weights", _b("""
        return K + K * d + K * d * (d + 1) // 2
        """), feedback="It counts K free weights", mistake="k_free_weights"),
    _answer("n_gmm_params", "d_squared_covariance_entries", _b("""
        return (K - 1) + K * d + K * d * d
        """), feedback="It counts d * d entries per covariance", mistake="full_square_covariance"),
    _answer("n_gmm_params", "diagonal_covariances", _b("""
        return (K - 1) + K * d + K * d
        """), feedback="It counts only the d variances", mistake="diagonal_covariance_only"),
    _answer("n_gmm_params", "covariances_without_the_diagonal", _b("""
        return (K - 1) + K * d + K * d * (d - 1) // 2
        """), feedback="only the d(d-1)/2 covariances above the diagonal", mistake="variances_left_out"),
    _answer("n_gmm_params", "one_shared_covariance", _b("""
        return (K - 1) + K * d + d * (d + 1) // 2
        """), feedback="one covariance shared by all components", mistake="one_shared_covariance"),
    # ------------------------------------------------------------------ 05 kmeans_step
    _answer("kmeans_step", "farthest_centre", _b("""
        X, centres = np.asarray(X, dtype=float), np.asarray(centres, dtype=float)
        squared = ((X[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        labels = squared.argmax(axis=1)
        new_centres = centres.copy()
        for k in range(len(centres)):
            if np.any(labels == k):
                new_centres[k] = X[labels == k].mean(axis=0)
        return labels, new_centres
        """), feedback="FARTHEST centre", mistake="farthest_centre"),
    _answer("kmeans_step", "empty_centre_becomes_nan", _b("""
        X, centres = np.asarray(X, dtype=float), np.asarray(centres, dtype=float)
        squared = ((X[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        labels = squared.argmin(axis=1)
        new_centres = np.array([X[labels == k].mean(axis=0) for k in range(len(centres))])
        return labels, new_centres
        """), partial=True, feedback="the mean of no points", mistake="empty_centre_nan",
        keeps=("test_kmeans_step_small", "test_kmeans_step_faithful")),
    _answer("kmeans_step", "ties_to_the_higher_index", _b("""
        X, centres = np.asarray(X, dtype=float), np.asarray(centres, dtype=float)
        labels = np.zeros(len(X), dtype=int)
        for i, point in enumerate(X):
            best = np.inf
            for k, centre in enumerate(centres):
                distance = np.sum((point - centre) ** 2)
                if distance <= best:                    # <=: a tie goes to the later centre
                    best, labels[i] = distance, k
        new_centres = centres.copy()
        for k in range(len(centres)):
            if np.any(labels == k):
                new_centres[k] = X[labels == k].mean(axis=0)
        return labels, new_centres
        """), partial=True, feedback="went to the HIGHER index", mistake="ties_to_higher_index",
        keeps=("test_kmeans_step_empty_centre", "test_kmeans_step_faithful")),
    _answer("kmeans_step", "centres_updated_in_place", _b("""
        squared = ((X[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        labels = squared.argmin(axis=1)
        for k in range(len(centres)):
            if np.any(labels == k):
                centres[k] = X[labels == k].mean(axis=0)
        return labels, centres
        """), feedback="changed the centres array it was given", mistake="centres_changed_in_place"),
    _answer("kmeans_step", "sums_not_means", _b("""
        X, centres = np.asarray(X, dtype=float), np.asarray(centres, dtype=float)
        labels = ((X[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
        new_centres = centres.copy()
        for k in range(len(centres)):
            if np.any(labels == k):
                new_centres[k] = X[labels == k].sum(axis=0)
        return labels, new_centres
        """), feedback="SUMS of their points", mistake="centres_are_sums"),
    # ------------------------------------------------------------------ 06 two_coins_em
    _answer("two_coins_em", "hard_assignment", _b("""
        heads, n_tosses = np.asarray(heads, dtype=float), np.asarray(n_tosses, dtype=float)
        for _ in range(n_iter):
            log_a = heads * np.log(theta_a) + (n_tosses - heads) * np.log(1 - theta_a)
            log_b = heads * np.log(theta_b) + (n_tosses - heads) * np.log(1 - theta_b)
            w = (log_a >= log_b).astype(float)           # each set goes wholly to one coin
            theta_a = float(w @ heads / (w @ n_tosses))
            theta_b = float((1 - w) @ heads / ((1 - w) @ n_tosses))
        return theta_a, theta_b
        """), feedback="'hard' EM", mistake="hard_em"),
    _answer("two_coins_em", "coins_swapped", _b("""
        heads, n_tosses = np.asarray(heads, dtype=float), np.asarray(n_tosses, dtype=float)
        for _ in range(n_iter):
            log_a = heads * np.log(theta_a) + (n_tosses - heads) * np.log(1 - theta_a)
            log_b = heads * np.log(theta_b) + (n_tosses - heads) * np.log(1 - theta_b)
            w = 1 / (1 + np.exp(log_b - log_a))
            theta_a, theta_b = float(w @ heads / (w @ n_tosses)), float((1 - w) @ heads / ((1 - w) @ n_tosses))
        return theta_b, theta_a
        """), feedback="came back swapped", mistake="coins_swapped"),
    _answer("two_coins_em", "divided_by_all_tosses", _b("""
        heads, n_tosses = np.asarray(heads, dtype=float), np.asarray(n_tosses, dtype=float)
        for _ in range(n_iter):
            log_a = heads * np.log(theta_a) + (n_tosses - heads) * np.log(1 - theta_a)
            log_b = heads * np.log(theta_b) + (n_tosses - heads) * np.log(1 - theta_b)
            w = 1 / (1 + np.exp(log_b - log_a))
            theta_a = float(w @ heads / n_tosses.sum())
            theta_b = float((1 - w) @ heads / n_tosses.sum())
        return theta_a, theta_b
        """), feedback="divided the expected heads of a coin by the total number of tosses",
        mistake="divided_by_all_tosses"),
    _answer("two_coins_em", "one_iteration_too_few", _b("""
        heads, n_tosses = np.asarray(heads, dtype=float), np.asarray(n_tosses, dtype=float)
        for _ in range(1, n_iter):
            log_a = heads * np.log(theta_a) + (n_tosses - heads) * np.log(1 - theta_a)
            log_b = heads * np.log(theta_b) + (n_tosses - heads) * np.log(1 - theta_b)
            w = 1 / (1 + np.exp(log_b - log_a))
            theta_a = float(w @ heads / (w @ n_tosses))
            theta_b = float((1 - w) @ heads / ((1 - w) @ n_tosses))
        return theta_a, theta_b
        """), feedback="one iteration too few", mistake="one_iteration_too_few"),
    _answer("two_coins_em", "prior_estimated", _b("""
        # the mixing prior re-estimated as in the three-coin model, though the problem fixes it at 1/2
        heads, n_tosses = np.asarray(heads, dtype=float), np.asarray(n_tosses, dtype=float)
        prior = 0.5
        for _ in range(n_iter):
            log_a = np.log(prior) + heads * np.log(theta_a) + (n_tosses - heads) * np.log(1 - theta_a)
            log_b = np.log(1 - prior) + heads * np.log(theta_b) + (n_tosses - heads) * np.log(1 - theta_b)
            w = 1 / (1 + np.exp(log_b - log_a))
            prior = float(w.mean())
            theta_a = float(w @ heads / (w @ n_tosses))
            theta_b = float((1 - w) @ heads / ((1 - w) @ n_tosses))
        return theta_a, theta_b
        """), partial=True, feedback="The prior of the coins was re-estimated", mistake="coin_prior_re_estimated",
        keeps=("test_two_coins_em_one_iteration",)),
    # ------------------------------------------------------------------ 06 three_coins_em
    # Not here: running n_iter + 1 iterations, or the E-step once before the loop. Three-coin
    # EM reaches its fixed point after one iteration for any data (notebook 06's written
    # answer shows why), so with n_iter >= 1 those give exactly the right answer.
    _answer("three_coins_em", "p_and_q_swapped_in_mu", _b("""
        y = np.asarray(y, dtype=float)
        for _ in range(n_iter):
            from_b = pi * q**y * (1 - q) ** (1 - y)
            from_c = (1 - pi) * p**y * (1 - p) ** (1 - y)
            mu = from_b / (from_b + from_c)
            pi, p, q = float(mu.mean()), float(mu @ y / mu.sum()), float((1 - mu) @ y / (1 - mu).sum())
        return pi, p, q
        """), feedback="p and q swapped", mistake="p_and_q_swapped_in_mu"),
    _answer("three_coins_em", "pi_not_updated", _b("""
        y = np.asarray(y, dtype=float)
        for _ in range(n_iter):
            from_b = pi * p**y * (1 - p) ** (1 - y)
            from_c = (1 - pi) * q**y * (1 - q) ** (1 - y)
            mu = from_b / (from_b + from_c)
            p, q = float(mu @ y / mu.sum()), float((1 - mu) @ y / (1 - mu).sum())
        return pi, p, q
        """), feedback="pi was never updated", mistake="pi_not_updated"),
    _answer("three_coins_em", "divided_by_n", _b("""
        y = np.asarray(y, dtype=float)
        for _ in range(n_iter):
            from_b = pi * p**y * (1 - p) ** (1 - y)
            from_c = (1 - pi) * q**y * (1 - q) ** (1 - y)
            mu = from_b / (from_b + from_c)
            pi, p, q = float(mu.mean()), float(mu @ y / y.size), float((1 - mu) @ y / y.size)
        return pi, p, q
        """), feedback="divided by n, the number of tosses", mistake="p_and_q_divided_by_n"),
    _answer("three_coins_em", "one_iteration_too_few", _b("""
        y = np.asarray(y, dtype=float)
        for _ in range(1, n_iter):
            from_b = pi * p**y * (1 - p) ** (1 - y)
            from_c = (1 - pi) * q**y * (1 - q) ** (1 - y)
            mu = from_b / (from_b + from_c)
            pi, p, q = float(mu.mean()), float(mu @ y / mu.sum()), float((1 - mu) @ y / (1 - mu).sum())
        return pi, p, q
        """), feedback="one iteration too few", mistake="one_iteration_too_few"),
    # ------------------------------------------------------------------ 07 poisson_e_step
    _answer("poisson_e_step", "mixing_weights_forgotten", _b("""
        # p(y | z = k) normalised: pi_k left out of the joint
        y = np.asarray(counts, dtype=float)[:, None]
        log_lik = y * np.log(rates) - rates
        log_lik = log_lik - log_lik.max(axis=1, keepdims=True)
        return np.exp(log_lik) / np.exp(log_lik).sum(axis=1, keepdims=True)
        """), partial=True, feedback="The mixing weights are missing", keeps=("test_poisson_e_step_rows",),
        mistake="poisson_mixing_weights_missing"),
    _answer("poisson_e_step", "joint_not_normalised", _b("""
        from scipy.special import gammaln
        y = np.asarray(counts, dtype=float)[:, None]
        return np.exp(np.log(weights) + y * np.log(rates) - rates - gammaln(y + 1))
        """), feedback="the rows are not normalised", mistake="poisson_joint_not_normalised"),
    _answer("poisson_e_step", "no_log_space", _b("""
        # the right formula with the probabilities themselves: rates**y overflows for large counts
        import math
        y = np.asarray(counts, dtype=float)[:, None]
        factorials = np.array([float(math.factorial(int(v))) for v in counts])[:, None]
        joint = weights * rates**y * np.exp(-rates) / factorials
        return joint / joint.sum(axis=1, keepdims=True)
        """), partial=True, feedback="Work in log space", mistake="poisson_overflow",
        keeps=("test_poisson_e_step_rows", "test_poisson_e_step_hasselblad")),
    _answer("poisson_e_step", "exp_factor_forgotten", _b("""
        y = np.asarray(counts, dtype=float)[:, None]
        log_joint = np.log(weights) + y * np.log(rates)          # e^(-lambda) dropped with the y!
        log_joint = log_joint - log_joint.max(axis=1, keepdims=True)
        return np.exp(log_joint) / np.exp(log_joint).sum(axis=1, keepdims=True)
        """), partial=True, feedback="e^(-lambda_k) was left out", keeps=("test_poisson_e_step_rows",),
        mistake="exp_minus_rate_dropped"),
    _answer("poisson_e_step", "normalised_over_the_counts", _b("""
        y = np.asarray(counts, dtype=float)[:, None]
        log_joint = np.log(weights) + y * np.log(rates) - rates
        joint = np.exp(log_joint)
        return joint / joint.sum(axis=0, keepdims=True)
        """), feedback="over the counts (axis 0)", mistake="normalised_over_counts"),
    # ------------------------------------------------------------------ 07 poisson_m_step
    _answer("poisson_m_step", "frequencies_forgotten", _b("""
        counts = np.asarray(counts, dtype=float)
        expected = resp.sum(axis=0)                               # each distinct count counted once
        return expected / len(counts), resp.T @ counts / expected
        """), feedback="The frequencies were forgotten", mistake="frequencies_forgotten_in_weights"),
    _answer("poisson_m_step", "rate_divided_by_all_days", _b("""
        counts, frequencies = np.asarray(counts, dtype=float), np.asarray(frequencies, dtype=float)
        weights = frequencies @ resp / frequencies.sum()
        rates = (frequencies * counts) @ resp / frequencies.sum()
        return weights, rates
        """), partial=True, feedback="divided by n, all the days", keeps=("test_poisson_m_step_weights",),
        mistake="rate_divided_by_all_days"),
    _answer("poisson_m_step", "frequencies_in_the_numerator_only", _b("""
        counts, frequencies = np.asarray(counts, dtype=float), np.asarray(frequencies, dtype=float)
        weights = frequencies @ resp / frequencies.sum()
        rates = (frequencies * counts) @ resp / resp.sum(axis=0)
        return weights, rates
        """), partial=True, feedback="in the numerator but not in the denominator",
        mistake="frequencies_in_numerator_only", keeps=("test_poisson_m_step_weights",)),
    _answer("poisson_m_step", "weights_over_distinct_counts", _b("""
        counts, frequencies = np.asarray(counts, dtype=float), np.asarray(frequencies, dtype=float)
        expected_days = frequencies @ resp
        return expected_days / len(counts), (frequencies * counts) @ resp / expected_days
        """), partial=True, feedback="divided by m, the number of distinct counts",
        mistake="divided_by_distinct_counts", keeps=("test_poisson_m_step_rates",)),
    _answer("poisson_m_step", "rate_as_one_over_the_mean", _b("""
        # the rate of an exponential waiting time, 1 / mean, in the place of a Poisson's rate
        counts, frequencies = np.asarray(counts, dtype=float), np.asarray(frequencies, dtype=float)
        expected_days = frequencies @ resp
        return expected_days / frequencies.sum(), expected_days / ((frequencies * counts) @ resp)
        """), partial=True, feedback="1 / (mean count)", keeps=("test_poisson_m_step_weights",),
        mistake="rate_as_inverse_mean"),
    # ------------------------------------------------------------------ 07 gaussian_missing_e_step
    _answer("gaussian_missing_e_step", "conditional_covariance_forgotten", _b("""
        # the holes filled with their conditional means, as if then known exactly
        X = np.asarray(X, dtype=float)
        expected_x = X.copy()
        for i in range(len(X)):
            m = np.isnan(X[i])
            o = ~m
            expected_x[i, m] = mean[m] + cov[np.ix_(m, o)] @ np.linalg.solve(cov[np.ix_(o, o)], X[i, o] - mean[o])
        return expected_x, expected_x[:, :, None] * expected_x[:, None, :]
        """), partial=True, feedback="The conditional covariance is missing", mistake="conditional_covariance_missing",
        keeps=("test_gaussian_missing_e_step_seen", "test_gaussian_missing_e_step_expected_x")),
    _answer("gaussian_missing_e_step", "mean_imputation", _b("""
        X = np.asarray(X, dtype=float)
        expected_x = np.where(np.isnan(X), mean, X)
        return expected_x, expected_x[:, :, None] * expected_x[:, None, :]
        """), partial=True, feedback="mean imputation", keeps=("test_gaussian_missing_e_step_seen",),
        mistake="mean_imputation"),
    _answer("gaussian_missing_e_step", "regression_reversed", _b("""
        # S_mm^-1 S_mo (x_o - mu_o) in the place of S_mo S_oo^-1 (x_o - mu_o); the second moment is right
        X = np.asarray(X, dtype=float)
        n, d = X.shape
        expected_x, expected_xx = X.copy(), np.empty((n, d, d))
        for i in range(n):
            m = np.isnan(X[i])
            o = ~m
            expected_x[i, m] = mean[m] + np.linalg.solve(cov[np.ix_(m, m)], cov[np.ix_(m, o)] @ (X[i, o] - mean[o]))
            C = np.zeros((d, d))
            C[np.ix_(m, m)] = cov[np.ix_(m, m)] - cov[np.ix_(m, o)] @ np.linalg.solve(cov[np.ix_(o, o)], cov[np.ix_(o, m)])
            expected_xx[i] = np.outer(expected_x[i], expected_x[i]) + C
        return expected_x, expected_xx
        """), partial=True, feedback="The regression runs the wrong way", mistake="regression_reversed",
        keeps=("test_gaussian_missing_e_step_seen", "test_gaussian_missing_e_step_expected_xx")),
    _answer("gaussian_missing_e_step", "marginal_covariance_added", _b("""
        X = np.asarray(X, dtype=float)
        n, d = X.shape
        expected_x, expected_xx = X.copy(), np.empty((n, d, d))
        for i in range(n):
            m = np.isnan(X[i])
            o = ~m
            expected_x[i, m] = mean[m] + cov[np.ix_(m, o)] @ np.linalg.solve(cov[np.ix_(o, o)], X[i, o] - mean[o])
            extra = np.zeros((d, d))
            extra[np.ix_(m, m)] = cov[np.ix_(m, m)]              # the marginal, not the conditional, covariance
            expected_xx[i] = np.outer(expected_x[i], expected_x[i]) + extra
        return expected_x, expected_xx
        """), partial=True, feedback="MARGINAL covariance", mistake="marginal_covariance_added",
        keeps=("test_gaussian_missing_e_step_seen", "test_gaussian_missing_e_step_expected_x")),
    # ------------------------------------------------------------------ 07 gaussian_missing_m_step
    _answer("gaussian_missing_m_step", "covariance_of_the_filled_data", _b("""
        mean = expected_x.mean(axis=0)
        return mean, np.cov(expected_x.T, bias=True)              # expected_xx left unused
        """), partial=True, feedback="expected_xx was not used", keeps=("test_gaussian_missing_m_step_mean",),
        mistake="covariance_of_filled_rows"),
    _answer("gaussian_missing_m_step", "np_cov_default", _b("""
        return expected_x.mean(axis=0), np.cov(expected_x.T)
        """), partial=True, feedback="np.cov's default", keeps=("test_gaussian_missing_m_step_mean",),
        mistake="np_cov_of_filled_rows"),
    _answer("gaussian_missing_m_step", "mean_squared_not_outer", _b("""
        mean = expected_x.mean(axis=0)
        return mean, expected_xx.mean(axis=0) - mean**2
        """), partial=True, feedback="OUTER product", keeps=("test_gaussian_missing_m_step_mean",),
        mistake="mean_squared_not_outer"),
    _answer("gaussian_missing_m_step", "sum_not_divided_by_n", _b("""
        # the covariance is right around the mean it computes: only the mean is wrong
        mean = expected_x.sum(axis=0)
        return mean, expected_xx.mean(axis=0) - np.outer(mean, mean)
        """), partial=True, feedback="not yet divided by n", keeps=("test_gaussian_missing_m_step_cov",),
        mistake="mean_sum_not_divided"),
)


def _calls_the_reference(function):
    """An answer that only returns what the reference computes.

    Notebook 05's functions have no em_lib counterpart: their references live in
    em_lib.feedback.practice, which the notebook imports as ``feedback``.
    """
    arguments = ", ".join(contract.EXERCISES[function].parameters)
    reference = "feedback.reference_" if _ASSIGNMENT_OF[function] == "05_em_in_practice" else "em_lib."
    return _answer(function, "calls_the_reference", _b(f"return {reference}{function}({arguments})"))


#: One answer per graded function that returns what the reference computes.
REFERENCE_CALLS = tuple(_calls_the_reference(function) for function in contract.EXERCISES)
