"""The default attack: APGD, APGD-T, Square Attack, the exact linear attack
and their ensemble, checked against closed forms, brute force and each other."""

import numpy as np
import pytest
from scipy.optimize import linprog, minimize
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.tree import DecisionTreeClassifier

from sklip.lipschitz import as_network
from sklip.robustness import (
    certified_radius,
    make_robustness_scorer,
    max_output_deviation,
    perturb,
    robust_accuracy,
)
from sklip.robustness._apgd import checkpoints
from sklip.robustness._attacks import ensemble
from sklip.robustness._common import make_rng
from sklip.robustness._geometry import linear_max, project, row_norms
from sklip.robustness._objectives import Objective, make_objective

from .._helpers import norms
from .._robustness_models import (
    blobs,
    digits,
    logreg,
    mlp_binary,
    mlp_digits,
    mlp_multi,
    regression,
    ridge,
    scaled_logreg,
)

NORMS = [2, np.inf]
GRADIENT_ATTACKS = ["auto", "apgd-ce", "apgd-dlr", "apgd-t", "square"]


def _exact_distance(model, X, y, norm, mask=None):
    """Oracle: distance of each correctly classified sample to the closest
    other class region of a linear model, ``min_j (f_y - f_j) /
    ||w_y - w_j||_*`` (0 when misclassified)."""
    net = as_network(model)
    W, b = net.coefs[0], net.intercepts[0]
    F = X @ W + b
    if mask is not None:  # only the masked columns may move
        W = W * mask[:, None]
    dual = 1 if norm == np.inf else 2
    y = np.searchsorted(model.classes_, y)
    if W.shape[1] == 1:
        t = np.where(y == 1, 1.0, -1.0)
        return np.maximum(t * F[:, 0], 0) / np.linalg.norm(W[:, 0], dual)
    rows = np.arange(len(y))
    D = np.full(F.shape, np.inf)
    with np.errstate(invalid="ignore"):  # j == y: 0 / 0, overwritten below
        for j in range(W.shape[1]):
            C = W[:, [j]] - W[:, y]
            D[:, j] = (F[rows, y] - F[:, j]) / np.linalg.norm(C, dual, axis=0)
    D[rows, y] = np.inf
    return np.maximum(D.min(axis=1), 0)


def _linear_cases():
    yield "binary", logreg(2), *blobs(2)
    yield "multiclass", logreg(3), *blobs(3)
    yield "pipeline", *scaled_logreg()


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("case", ["binary", "multiclass", "pipeline"])
def test_linear_models_exact_at_defaults(case, norm):
    """robust_accuracy (default attack) == exact robust accuracy, at radii
    half-way between consecutive exact distances (no ties)."""
    _, model, X, y = next(c for c in _linear_cases() if c[0] == case)
    d = np.sort(_exact_distance(model, X, y, norm))
    d = d[d > 0]
    dist = _exact_distance(model, X, y, norm)
    for q in (0.1, 0.5, 0.9):
        i = int(q * (len(d) - 1))
        eps = 0.5 * (d[i] + d[i + 1])
        exact = np.mean(dist > eps)
        assert robust_accuracy(model, X, y, eps=eps, norm=norm) == exact
        assert 0 < exact < model.score(X, y)


def _box_oracle(c, x, eps, norm, low, high):
    """max c @ delta over the ball and the box, by a generic solver."""
    lo, hi = low - x, high - x
    if norm == np.inf:
        bounds = list(zip(np.maximum(lo, -eps), np.minimum(hi, eps)))
        return -linprog(-c, bounds=bounds, method="highs").fun
    res = minimize(
        lambda d: -c @ d,
        np.zeros_like(c),
        jac=lambda d: -c,
        bounds=list(zip(lo, hi)),
        constraints=[{"type": "ineq", "fun": lambda d: eps**2 - d @ d}],
        method="SLSQP",
        options={"ftol": 1e-12, "maxiter": 500},
    )
    return -res.fun


@pytest.mark.parametrize("norm", NORMS)
def test_linear_max_inside_a_box_matches_a_solver(norm):
    rng = np.random.default_rng(0)
    n, d = 25, 6
    X = rng.uniform(0, 1, size=(n, d))
    C = rng.standard_normal((n, d))
    C[:, 0] = 0.0  # a direction with no gain
    low, high = np.zeros(d), np.ones(d)
    eps = 0.6 if norm == 2 else 0.3
    box = (low - X, high - X)
    delta = linear_max(C, eps, norm, box)
    assert np.all(norms(delta, norm) <= eps * (1 + 1e-12))
    assert np.all(X + delta >= low - 1e-15) and np.all(X + delta <= high + 1e-15)
    got = np.einsum("ij,ij->i", C, delta)
    want = [_box_oracle(C[i], X[i], eps, norm, low, high) for i in range(n)]
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)
    # A box that does not bind gives the textbook maximiser eps * ||c||_*.
    free = linear_max(C, eps, norm)
    dual = 1 if norm == np.inf else 2
    np.testing.assert_allclose(
        np.einsum("ij,ij->i", C, free), eps * np.linalg.norm(C, dual, axis=1)
    )


@pytest.mark.parametrize("norm", NORMS)
def test_linear_exact_with_clip_breaks_exactly_what_the_box_allows(norm):
    """With a clip box the worst point of the margin is still exact: a
    sample is broken iff some class pair's solver optimum is positive."""
    X, y = blobs(3, n=60)
    model = logreg(3)
    low, high = X.min(axis=0) - 0.1, X.max(axis=0) + 0.1
    eps = 1.0 if norm == 2 else 0.4
    X_adv = perturb(model, X, y, eps=eps, norm=norm, clip=(low, high))
    assert np.all(X_adv >= low) and np.all(X_adv <= high)
    net = as_network(model)
    W, b = net.coefs[0], net.intercepts[0]
    F = X @ W + b
    broken = model.predict(X_adv) != y
    for i in range(len(y)):
        gains = [
            F[i, j]
            - F[i, y[i]]
            + _box_oracle(W[:, j] - W[:, y[i]], X[i], eps, norm, low, high)
            for j in range(3)
            if j != y[i]
        ]
        if abs(max(gains)) > 1e-6:
            assert broken[i] == (max(gains) > 0), i


@pytest.mark.parametrize("norm", NORMS)
def test_linear_regressor_deviation_is_exact(norm):
    X, _ = regression()
    w = ridge().coef_
    dual = 1 if norm == np.inf else 2
    found = max_output_deviation(ridge(), X, eps=0.5, norm=norm)
    assert found == pytest.approx(np.linalg.norm(w, dual) * 0.5, rel=1e-12)


@pytest.mark.parametrize("attack", GRADIENT_ATTACKS)
@pytest.mark.parametrize("norm", NORMS)
def test_never_outside_ball_or_box(attack, norm):
    X, y = digits(120)
    model = mlp_digits()
    before = X.copy()
    for eps in (0.5, 3.0, 40.0):
        eps = eps if norm == 2 else eps / 8
        X_adv = perturb(
            model, X, y, eps=eps, norm=norm, attack=attack, clip=(0, 16),
            n_iter=10, n_queries=50, random_state=0,
        )  # fmt: skip
        assert np.all(norms(X_adv - X, norm) <= eps * (1 + 1e-12))
        assert X_adv.min() >= 0 and X_adv.max() <= 16
    np.testing.assert_array_equal(X, before)


def test_checkpoints_follow_the_paper():
    # p = 0.22, 0.41, 0.57, 0.70, 0.80, 0.87, 0.93, 0.99 (then > 1).
    assert checkpoints(100) == [22, 41, 57, 70, 80, 87, 93, 99]
    for n_iter in range(1, 150):
        marks = checkpoints(n_iter)
        assert marks == sorted(set(marks)) and 1 <= marks[0] and marks[-1] <= n_iter


@pytest.mark.parametrize("kind", ["ce", "dlr", "targeted"])
def test_attack_losses_gradients_match_finite_differences(kind):
    rng = np.random.default_rng(0)
    F = rng.standard_normal((7, 5)) * 3
    y = rng.integers(5, size=7)
    base = Objective("margin", y, n_classes=5)
    obj = base.targeted((y + 2) % 5) if kind == "targeted" else base.attack_loss(kind)
    G = np.empty_like(F)
    obj(F, G)
    h = 1e-6
    for i in range(7):
        for j in range(5):
            E = np.zeros_like(F)
            E[i, j] = h
            fd = (obj(F + E)[i] - obj(F - E)[i]) / (2 * h)
            assert G[i, j] == pytest.approx(fd, abs=1e-6)


def _ensemble_stages(model, X, y, eps, norm, stages):
    net = as_network(model)
    obj = make_objective(model, net, X, y)
    X_adv = ensemble(
        net, obj, X, eps=eps, norm=norm, n_iter=20, n_restarts=1, n_targets=3,
        n_queries=200, clip=None, rng=make_rng(0), stages=stages, exact=False,
    )  # fmt: skip
    return model.predict(X_adv) != y


@pytest.mark.parametrize("norm", NORMS)
def test_adding_a_stage_never_raises_robust_accuracy(norm):
    for model, (X, y), eps in [
        (mlp_digits(), digits(), 1.5),
        (mlp_multi(), blobs(3), 0.5),
        (mlp_binary(), blobs(2), 0.5),
    ]:
        eps = eps if norm == 2 else eps / 4
        previous = None
        for k in range(1, 4):
            broken = _ensemble_stages(
                model, X, y, eps, norm, ("apgd-ce", "apgd-t", "square")[:k]
            )
            if previous is not None:
                assert np.all(broken[previous])  # a broken sample stays broken
            previous = broken
        assert previous.any()


def test_apgd_beats_or_matches_pgd_on_an_mlp():
    """Not a theorem, but the reason for the default: on digits APGD-CE
    with the same 20 steps breaks at least as many samples as PGD."""
    X, y = digits()
    model = mlp_digits()
    kw = dict(eps=1.5, n_iter=20, random_state=0)
    assert robust_accuracy(model, X, y, attack="apgd-ce", **kw) <= robust_accuracy(
        model, X, y, attack="pgd", **kw
    )


def _tree_problem(n_features, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(100, n_features))
    y = (X[:, 0] > 0).astype(int)
    tree = DecisionTreeClassifier(max_depth=1, random_state=0).fit(X, y)
    threshold = tree.tree_.threshold[0]
    # The only split is on feature 0: the distance to the decision boundary
    # is |x_0 - threshold| in every norm.
    return tree, X, y, np.abs(X[:, 0] - threshold)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("n_features", [2, 5])
def test_square_attack_breaks_a_tree_exactly_within_reach(norm, n_features):
    tree, X, y, dist = _tree_problem(n_features)
    assert tree.score(X, y) == 1.0
    for eps in (0.1, 0.3):
        X_adv = perturb(tree, X, y, eps=eps, norm=norm, random_state=0)
        broken = tree.predict(X_adv) != y
        assert not np.any(broken & (dist > eps))  # sound: cannot do better
        np.testing.assert_array_equal(broken, dist < eps)


def test_black_box_scorer_in_grid_search_identical_under_n_jobs():
    X, y = blobs(2, n=120)
    robust = make_robustness_scorer(eps=0.6, n_queries=200)
    scoring = {"acc": "accuracy", "robust": robust}

    def search(n_jobs):
        return GridSearchCV(
            KNeighborsClassifier(),
            {"n_neighbors": [1, 7]},
            scoring=scoring,
            refit=False,
            cv=KFold(3),
            n_jobs=n_jobs,
        ).fit(X, y)

    r1, r2 = search(1).cv_results_, search(2).cv_results_
    np.testing.assert_array_equal(r1["mean_test_robust"], r2["mean_test_robust"])
    # A real attack: clearly below the clean accuracy.
    assert np.all(r1["mean_test_robust"] < r1["mean_test_acc"] - 0.05)


@pytest.mark.parametrize("model_name", ["mlp_digits", "logreg3", "mlp_binary"])
def test_huge_l2_radius_breaks_everything(model_name):
    model, (X, y) = {
        "mlp_digits": (mlp_digits(), digits(100)),
        "logreg3": (logreg(3), blobs(3)),
        "mlp_binary": (mlp_binary(), blobs(2)),
    }[model_name]
    eps = 1e200
    X_adv = perturb(model, X, y, eps=eps, random_state=0)
    assert np.all(np.isfinite(X_adv))
    assert np.all(row_norms(X_adv - X, 2) <= eps * (1 + 1e-12))
    assert robust_accuracy(model, X, y, eps=eps, random_state=0) == 0.0
    # The certificate agrees that nothing is safe that far.
    assert np.all(certified_radius(model, X) < eps)


def test_projection_and_norms_of_huge_vectors():
    D = np.full((3, 64), 1e200)
    D[1] = 1e-170
    D[2] = 0.0
    np.testing.assert_allclose(row_norms(D, 2), [8e200, 8e-170, 0.0], rtol=1e-12)
    X = np.zeros((3, 64))
    P = project(X, D.copy(), 1e199, 2, None)
    np.testing.assert_allclose(row_norms(P[:1], 2), [1e199], rtol=1e-12)
    assert np.all(P[0] > 0)  # the projection rescales, never collapses to 0


@pytest.mark.parametrize("attack", GRADIENT_ATTACKS + ["pgd", "fgsm", "noise"])
@pytest.mark.parametrize("norm", NORMS)
def test_mask_freezes_the_other_columns(attack, norm):
    X, y = digits(100)
    model = mlp_digits()
    mask = np.zeros(64, dtype=bool)
    mask[20:40] = True
    X_adv = perturb(
        model, X, y, eps=2.0, norm=norm, attack=attack, n_iter=10, n_queries=50,
        random_state=0, features=mask,
    )  # fmt: skip
    np.testing.assert_array_equal(X_adv[:, ~mask], X[:, ~mask])
    assert np.any(X_adv[:, mask] != X[:, mask])


@pytest.mark.parametrize("norm", NORMS)
def test_mask_on_a_linear_model_is_exact_on_the_masked_columns(norm):
    X, y = blobs(3)
    model = logreg(3)
    mask = np.array([True, False, True, True, False, False])
    dist = _exact_distance(model, X, y, norm, mask)
    d = np.sort(dist[dist > 0])
    eps = 0.5 * (d[len(d) // 2] + d[len(d) // 2 + 1])
    X_adv = perturb(model, X, y, eps=eps, norm=norm, features=mask)
    np.testing.assert_array_equal(X_adv[:, ~mask], X[:, ~mask])
    assert np.mean(model.predict(X_adv) == y) == np.mean(dist > eps)


def test_bad_mask_and_budgets_raise():
    X, y = blobs(2)
    with pytest.raises(ValueError, match="features"):
        perturb(logreg(), X, y, eps=0.1, features=np.ones(3, bool))
    with pytest.raises(ValueError, match="n_targets"):
        perturb(logreg(), X, y, eps=0.1, n_targets=0)
    with pytest.raises(ValueError, match="n_queries"):
        perturb(logreg(), X, y, eps=0.1, n_queries=0)
    with pytest.raises(ValueError, match="apgd-t"):
        perturb(ridge(), *regression(), eps=0.1, attack="apgd-t")


@pytest.mark.parametrize("attack", ["auto", "apgd-ce", "square"])
def test_reproducible_under_random_state(attack):
    X, y = digits(100)
    kw = dict(eps=1.5, attack=attack, n_restarts=2, n_iter=10, n_queries=100)
    a = perturb(mlp_digits(), X, y, random_state=3, **kw)
    b = perturb(mlp_digits(), X, y, random_state=3, **kw)
    np.testing.assert_array_equal(a, b)


def test_black_box_regressor_deviation_within_the_leaf_range():
    """Square Attack on a tree regressor: the deviation found is real
    (recomputed from predict) and no larger than the spread of the leaves."""
    from sklearn.tree import DecisionTreeRegressor

    X, y = regression()
    tree = DecisionTreeRegressor(max_depth=3, random_state=0).fit(X, y)
    X_adv = perturb(tree, X, eps=0.5, n_queries=200, random_state=0)
    assert np.all(norms(X_adv - X, 2) <= 0.5 * (1 + 1e-12))
    dev = np.abs(tree.predict(X_adv) - tree.predict(X))
    leaves = tree.tree_.value[tree.tree_.children_left == -1].ravel()
    assert dev.max() > 0 and dev.max() <= np.ptp(leaves) + 1e-12
    found = max_output_deviation(tree, X, eps=0.5, n_queries=200, random_state=0)
    assert found == pytest.approx(dev.max())
