"""Honest work written in unusual ways: each must get full marks, with no flag.

A learner who is not attacking anything still writes scratch cells, helpers in cells of
their own, prints, loops, warnings, SciPy instead of NumPy, an ``import pickle``, an
innocent ``eval``, magics, extra imports in the first cell, a variable of the notebook
rebound to see what happens. Grading must not charge any of it.
``tests/test_grading_honest.py`` grades each with the real ``nbgrader autograde``.

Fields: ``answers`` replace answer cells ({grade_id: source}); ``before`` and ``after`` add
cells of the student's just before / after a cell ([(grade_id, source)]; the grade_id
"setup" stands for the first cell); ``setup`` appends lines to the notebook's first cell.
"""

import textwrap
from dataclasses import dataclass, field


def _d(source):
    return textwrap.dedent(source).lstrip("\n")


@dataclass(frozen=True)
class Honest:
    name: str
    assignment: str
    answers: dict = field(default_factory=dict)
    before: tuple = ()
    after: tuple = ()
    setup: str = ""

    @property
    def student(self):
        return "honest_" + self.name


A01, A04, A05, A06, A07 = ("01_latent_variables", "04_e_and_m_steps", "05_em_in_practice", "06_beyond_gaussians",
                           "07_deriving_em")

RIGHT_LOG_JOINT = _d("""
    def log_joint(x, weights, means, variances):
        x = np.asarray(x, dtype=float)[:, None]
        return np.log(weights) - 0.5 * np.log(2 * np.pi * variances) - 0.5 * (x - means) ** 2 / variances
    """)

HONEST = (
    Honest("helper_in_a_cell_of_its_own", A01, before=(("log_joint_answer", _d("""
        LOG_2PI = np.log(2 * np.pi)

        def log_normal(x, mean, variance):
            return -0.5 * (LOG_2PI + np.log(variance)) - 0.5 * (x - mean) ** 2 / variance
        """)),), answers={"log_joint_answer": _d("""
        def log_joint(x, weights, means, variances):
            return np.log(weights) + log_normal(np.asarray(x, dtype=float)[:, None], means, variances)
        """)}),
    Honest("scratch_cells_with_prints_and_loops", A01, after=(
        ("log_joint_answer", _d("""
            for n in (1, 2, 3):
                print(n, log_joint(x[:n], weights, means, variances))
            total = 0
            for i in range(100000):
                total += i
            print(total)
            """)),
        ("test_log_likelihood_far_tail", _d("""
            print("my log-likelihood:", log_likelihood(x, weights, means, variances))
            """)))),
    Honest("pickle_and_em_lib_file_in_a_scratch_cell", A01, after=(("log_likelihood_answer", _d("""
        import pickle, inspect
        print(em_lib.__file__)
        print(pickle.dumps(log_joint)[:20])
        print(inspect.signature(log_likelihood))
        """)),)),
    Honest("an_innocent_eval", A01, answers={"log_joint_answer": _d("""
        def log_joint(x, weights, means, variances):
            half = eval("1 / 2")
            x = np.asarray(x, dtype=float)[:, None]
            return np.log(weights) - half * np.log(2 * np.pi * variances) - half * (x - means) ** 2 / variances
        """)}),
    Honest("warnings_logging_and_stderr_from_a_right_function", A01, answers={"log_joint_answer": _d("""
        import logging, sys, warnings
        def log_joint(x, weights, means, variances):
            warnings.warn("computing the log joint")
            logging.warning("log_joint called with %d samples", len(x))
            print("debug: shapes", np.shape(x), np.shape(weights), file=sys.stderr)
            print("debug: on stdout too")
            x = np.asarray(x, dtype=float)[:, None]
            return np.log(weights) - 0.5 * np.log(2 * np.pi * variances) - 0.5 * (x - means) ** 2 / variances
        """)}),
    Honest("notebook_variables_rebound_in_scratch_cells", A01, after=(
        ("log_joint_answer", "x = 'not the heights any more'\nweights, means, variances = None, [1, 2], {}\n"
                             "heights_model = None\nEXAMPLE_X = [0]\n"),
        ("test_log_joint_far_tail", "feedback = None\ndatasets = 'gone'\nem_lib = None\n"))),
    Honest("scipy_instead_of_numpy", A01, answers={
        "log_joint_answer": _d("""
            from scipy.stats import norm
            def log_joint(x, weights, means, variances):
                x = np.asarray(x, dtype=float)[:, None]
                return np.log(weights) + norm.logpdf(x, loc=means, scale=np.sqrt(variances))
            """),
        "log_likelihood_answer": _d("""
            from scipy.special import logsumexp
            def log_likelihood(x, weights, means, variances):
                return float(logsumexp(log_joint(x, weights, means, variances), axis=1).sum())
            """)}),
    Honest("imports_and_helpers_inside_the_function", A01, answers={"log_joint_answer": _d("""
        def log_joint(x, weights, means, variances, *, _log=None):
            import math
            import numpy
            log = _log or numpy.log
            def one(xi, w, m, v):
                return math.log(w) - 0.5 * math.log(2 * math.pi * v) - 0.5 * (xi - m) ** 2 / v
            return numpy.array([[one(xi, w, m, v) for w, m, v in zip(weights, means, variances)]
                                for xi in numpy.asarray(x, dtype=float)])
        """)}),
    Honest("magics_and_shell_escapes", A01, after=(("log_joint_answer", _d("""
        %timeit log_joint(np.arange(10.0), np.array([0.5, 0.5]), np.array([1.0, 2.0]), np.array([1.0, 1.0]))
        !ls
        %matplotlib inline
        """)),)),
    Honest("a_demo_after_the_def_in_the_answer_cell", A01, answers={"log_joint_answer": RIGHT_LOG_JOINT + _d("""
        print(log_joint(x[:3], weights, means, variances))   # uses the notebook's x: not there when graded
        log_joint(np.array([170.0]), *datasets.HEIGHTS_TRUE)
        """)}),
    Honest("imports_added_to_the_first_cell", A01, setup="from scipy.special import logsumexp as lse\n",
           answers={"log_likelihood_answer": _d("""
            def log_likelihood(x, weights, means, variances):
                return float(np.sum(lse(log_joint(x, weights, means, variances), axis=1)))
            """)}),
    Honest("a_helper_name_reused_by_a_later_answer", A04, answers={
        "m_step_answer": _d("""
            def share(counts, n):
                return counts / n
            def m_step(x, resp):
                counts = resp.sum(axis=0)
                means = resp.T @ x / counts
                variances = (resp * (x[:, None] - means) ** 2).sum(axis=0) / counts
                return share(counts, x.size), means, variances
            """),
        "em_iteration_answer": _d("""
            def share(q, x, theta):          # another helper, the same name: m_step's tests ran before this cell
                return em_lib.elbo(x, q, *theta)
            def em_iteration(x, weights, means, variances):
                q = em_lib.e_step(x, weights, means, variances)
                new = m_step(x, q)
                chain = [em_lib.log_likelihood(x, weights, means, variances), share(q, x, (weights, means, variances)),
                         share(q, x, new), em_lib.log_likelihood(x, *new)]
                return (*new, np.array(chain))
            """)}),
    Honest("a_loop_that_records_lists", A04, answers={"fit_em_answer": _d("""
        def fit_em(x, weights, means, variances, n_iter):
            history = []
            t = 0
            while t < n_iter:
                resp = em_lib.e_step(x, weights, means, variances)
                weights, means, variances = m_step(x, resp)
                history.append(em_lib.log_likelihood(x, weights, means, variances))
                t += 1
            print("done after", t, "iterations")
            return weights, means, variances, np.array(history)
        """)}),
    Honest("kmeans_with_scipy_distances", A05, answers={"kmeans_step_answer": _d("""
        from scipy.spatial.distance import cdist
        def kmeans_step(X, centres):
            X, centres = np.asarray(X, dtype=float), np.asarray(centres, dtype=float)
            labels = cdist(X, centres, "sqeuclidean").argmin(axis=1)
            new = centres.copy()
            for k in np.unique(labels):
                new[k] = X[labels == k].mean(axis=0)
            return labels, new
        """)}),
    Honest("coins_with_math_comb_and_a_class", A06, answers={
        "two_coins_em_answer": _d("""
            import math
            from dataclasses import dataclass

            @dataclass
            class Coin:
                theta: float
                def likelihood(self, h, n):
                    return math.comb(n, h) * self.theta ** h * (1 - self.theta) ** (n - h)

            def two_coins_em(heads, n_tosses, theta_a, theta_b, n_iter):
                a, b = Coin(theta_a), Coin(theta_b)
                for _ in range(n_iter):
                    w = [a.likelihood(int(h), int(n)) / (a.likelihood(int(h), int(n)) + b.likelihood(int(h), int(n)))
                         for h, n in zip(heads, n_tosses)]
                    a = Coin(sum(wi * h for wi, h in zip(w, heads)) / sum(wi * n for wi, n in zip(w, n_tosses)))
                    b = Coin(sum((1 - wi) * h for wi, h in zip(w, heads))
                             / sum((1 - wi) * n for wi, n in zip(w, n_tosses)))
                return a.theta, b.theta
            """)}),
    Honest("poisson_with_scipy_stats_and_a_loop_over_components", A07, answers={
        "poisson_e_step_answer": _d("""
            from scipy.special import logsumexp
            from scipy.stats import poisson

            def poisson_e_step(counts, weights, rates):
                log_joint = np.log(weights) + poisson.logpmf(np.asarray(counts)[:, None], rates)
                return np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))
            """),
        "poisson_m_step_answer": _d("""
            def poisson_m_step(counts, frequencies, resp):
                weights, rates = [], []
                for k in range(resp.shape[1]):
                    days = sum(f * r for f, r in zip(frequencies, resp[:, k]))      # expected days of kind k
                    weights.append(days / sum(frequencies))
                    rates.append(sum(f * r * y for f, r, y in zip(frequencies, resp[:, k], counts)) / days)
                return np.array(weights), np.array(rates)
            """)}),
    Honest("missing_data_row_by_row_with_a_helper_cell", A07, before=(("gaussian_missing_e_step_answer", _d("""
        def condition_on_seen(mean, cov, row):
            \"\"\"Conditional mean and covariance of a row's missing entries given its seen ones.\"\"\"
            m, o = np.isnan(row), ~np.isnan(row)
            if not o.any():
                return mean.copy(), cov.copy()
            gain = np.linalg.solve(cov[np.ix_(o, o)], cov[np.ix_(o, m)]).T
            return mean[m] + gain @ (row[o] - mean[o]), cov[np.ix_(m, m)] - gain @ cov[np.ix_(o, m)]
        """)),), answers={
        "gaussian_missing_e_step_answer": _d("""
            def gaussian_missing_e_step(X, mean, cov):
                X = np.asarray(X, dtype=float)
                n, d = X.shape
                expected_x, expected_xx = np.empty((n, d)), np.empty((n, d, d))
                for i, row in enumerate(X):
                    filled, extra = row.copy(), np.zeros((d, d))
                    m = np.isnan(row)
                    if m.any():
                        filled[m], extra[np.ix_(m, m)] = condition_on_seen(mean, cov, row)
                    expected_x[i], expected_xx[i] = filled, np.outer(filled, filled) + extra
                return expected_x, expected_xx
            """),
        "gaussian_missing_m_step_answer": _d("""
            def gaussian_missing_m_step(expected_x, expected_xx):
                mean = expected_x.mean(axis=0)
                return mean, np.einsum("nij->ij", expected_xx) / len(expected_x) - np.outer(mean, mean)
            """)}),
)
