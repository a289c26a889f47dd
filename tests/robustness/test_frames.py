"""DataFrames, ColumnTransformer pipelines and ``features=`` in every
robustness function, scorer, the display and the bounds.

Oracles: scikit-learn itself (the fitted pipeline's own ``transform`` /
``decision_function``), brute-force sampling for soundness, and the
invariants "held columns never change" and "certified <= attacked <= clean".
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.compose import ColumnTransformer
from sklearn.feature_selection import SelectKBest, VarianceThreshold, f_classif
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    StandardScaler,
)

from sklip import LipschitzMLPClassifier
from sklip._core import inputs as core_inputs
from sklip._core.view import ModelView
from sklip.lipschitz import (
    as_network,
    lipschitz_bound,
    make_lipschitz_scorer,
    pairwise_lipschitz_bounds,
)
from sklip.robustness import (
    RobustnessCurveDisplay,
    certified_accuracy,
    certified_radius,
    make_robustness_scorer,
    perturb,
    prediction_stability,
    robust_accuracy,
)

from .._helpers import mlp_logits
from .._robustness_models import NUMERIC, blobs, logreg, mixed_frame, mixed_models

pd = pytest.importorskip("pandas")

MODELS = mixed_models()
MODEL_IDS = [m[0] for m in MODELS]


@pytest.fixture(autouse=True)
def _no_warnings():
    # "No spurious warnings": any warning raised by the code under test fails.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.mark.parametrize("case", MODELS, ids=MODEL_IDS)
@pytest.mark.parametrize("attack", ["noise", "fgsm", "pgd"])
def test_perturb_keeps_the_frame_and_holds_categorical_columns(case, attack):
    _, model, df, y = case
    eps = 0.7
    X_adv = perturb(model, df, y, eps=eps, attack=attack, random_state=0)
    assert isinstance(X_adv, pd.DataFrame)
    assert list(X_adv.columns) == list(df.columns)
    assert (X_adv["region"] == df["region"]).all()
    delta = X_adv[NUMERIC].to_numpy() - df[NUMERIC].to_numpy()
    assert np.all(np.linalg.norm(delta, axis=1) <= eps * (1 + 1e-12))
    assert np.any(delta != 0)
    # features as names, indices or a mask: the same columns, the same draws.
    for features in ([1], ["x2"], [False, True, False, False]):
        X_one = perturb(
            model, df, y, eps=eps, attack=attack, random_state=0, features=features
        )
        moved = (X_one.to_numpy() != df.to_numpy()).any(axis=0)
        assert not moved[[0, 2, 3]].any()
        pd.testing.assert_frame_equal(
            X_one,
            perturb(model, df, y, eps=eps, attack=attack, random_state=0, features=1),
        )


@pytest.mark.parametrize("case", MODELS, ids=MODEL_IDS)
def test_certified_below_attacked_below_clean(case):
    _, model, df, y = case
    radius = certified_radius(model, df, features=NUMERIC)
    for q in (0.3, 0.7):
        eps = float(np.quantile(radius, q))
        clean = model.score(df, y)
        robust = robust_accuracy(
            model, df, y, eps=eps, features=NUMERIC, n_restarts=2, random_state=0
        )
        cert = certified_accuracy(model, df, y, eps=eps, features=NUMERIC)
        assert cert <= robust <= clean
        assert 0 < cert < clean  # the radius matters on this data
    # The default holds the categorical column fixed: same as features=NUMERIC.
    assert certified_accuracy(model, df, y, eps=eps) == cert
    np.testing.assert_array_equal(certified_radius(model, df), radius)


@pytest.mark.parametrize("case", MODELS, ids=MODEL_IDS)
def test_certified_samples_survive_strong_pgd_on_pipelines(case):
    """Soundness: no sample certified over the numeric columns at eps is
    broken by PGD moving those columns (categorical held)."""
    _, model, df, y = case
    radius = certified_radius(model, df, features=NUMERIC)
    n_cert = 0
    for q in (0.25, 0.5, 0.75):
        eps = float(np.quantile(radius, q))
        cert = (model.predict(df) == y) & (radius > eps)
        X_adv = perturb(
            model,
            df,
            y,
            eps=eps,
            features=NUMERIC,
            n_iter=30,
            n_restarts=3,
            random_state=0,
        )
        assert not np.any(cert & (model.predict(X_adv) != y))
        n_cert += cert.sum()
    assert n_cert > 100


def _raw_outputs(model, X):
    """Logits: the decision function, or for MLPs a plain forward pass of
    ``coefs_`` on the pipeline's own transform (independent of sklip)."""
    final = model[-1]
    if not hasattr(final, "coefs_"):
        F = model.decision_function(X)
        return np.asarray(F, dtype=np.float64).reshape(len(X), -1)
    return mlp_logits(final, model[:-1].transform(X))


@pytest.mark.parametrize("case", MODELS, ids=MODEL_IDS)
def test_sampled_pairs_never_exceed_the_bound_over_features(case):
    """For pairs that differ in the numeric columns only, with the
    categorical column at *any* value (the bound must hold for all),
    ||f(x) - f(x')|| <= L_S ||x_S - x'_S||."""
    name, model, df, y = case
    L = lipschitz_bound(model, features=NUMERIC)
    rng = np.random.default_rng(0)
    a = df.sample(200, replace=True, random_state=1).reset_index(drop=True)
    a["region"] = rng.choice(["north", "south", "east"], len(a))
    b = a.copy()
    step = rng.standard_normal((len(a), 3)) * rng.uniform(0.01, 3, (len(a), 1))
    b[NUMERIC] = a[NUMERIC].to_numpy() + step
    Fa, Fb = _raw_outputs(model, a), _raw_outputs(model, b)
    ratio = np.linalg.norm(Fa - Fb, axis=1) / np.linalg.norm(step, axis=1)
    assert ratio.max() <= L * (1 + 1e-9)
    assert ratio.max() > 0.05 * L  # not vacuous


def test_scorers_in_grid_search_with_features():
    df, y = mixed_frame()
    model = MODELS[0][1]
    scoring = {
        "accuracy": "accuracy",
        "robust": make_robustness_scorer(eps=0.3, features=NUMERIC),
        "certified": make_robustness_scorer(
            eps=0.3, metric="certified_accuracy", features=NUMERIC
        ),
        "stability": make_robustness_scorer(
            eps=0.3, metric="prediction_stability", features=NUMERIC
        ),
        "lipschitz": make_lipschitz_scorer(features=NUMERIC),
    }
    with warnings.catch_warnings():
        # lbfgs with few iterations: the fit's business, not the scorers'.
        warnings.filterwarnings("ignore", message=".*failed to converge")
        warnings.filterwarnings("ignore", message=".*[Mm]aximum iterations")
        search = GridSearchCV(
            model,
            {"lipschitzmlpclassifier__alpha": [1e-3, 3.0]},
            scoring=scoring,
            refit="robust",
            cv=2,
            error_score="raise",
        ).fit(df, y)
    res = search.cv_results_
    for i in range(2):
        assert (
            res["mean_test_certified"][i]
            <= res["mean_test_robust"][i]
            <= res["mean_test_accuracy"][i]
        )
    assert np.all(res["mean_test_lipschitz"] < 0)
    assert "features=('x1', 'x2', 'x3')" in repr(scoring["robust"])


def test_display_on_a_frame_without_warnings():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _, model, df, y = MODELS[0]
    display = RobustnessCurveDisplay.from_estimator(
        model, df, y, eps=[0.0, 0.3], attacks=("noise", "pgd", "certified")
    )
    scores = display.scores
    # On a frame the curves are the metrics' own numbers.
    np.testing.assert_array_equal(
        scores["pgd"],
        robust_accuracy(model, df, y, eps=[0.0, 0.3], attack="pgd", random_state=0),
    )
    np.testing.assert_array_equal(
        scores["certified"], certified_accuracy(model, df, y, eps=[0.0, 0.3])
    )
    # At eps=0 every curve starts at the clean accuracy.
    for attack in ("noise", "pgd", "certified"):
        assert scores[attack][0] == pytest.approx(model.score(df, y))
    assert np.all(scores["certified"] <= scores["pgd"])
    plt.close(display.figure_)


# --------------------------------------------------------------------------
# The wrong columns: every function refuses what predict refuses.

SEED = dict(random_state=0)
ALL_FUNCTIONS = {
    "perturb": lambda m, X, y: perturb(m, X, y, eps=0.1, **SEED),
    "robust_accuracy": lambda m, X, y: robust_accuracy(m, X, y, eps=0.1, **SEED),
    "prediction_stability": lambda m, X, y: prediction_stability(m, X, eps=0.1, **SEED),
    "certified_accuracy": lambda m, X, y: certified_accuracy(m, X, y, eps=0.1),
    "certified_radius": lambda m, X, y: certified_radius(m, X),
    "scorer": lambda m, X, y: make_robustness_scorer(eps=0.1, **SEED)(m, X, y),
}


@pytest.mark.parametrize("func", ALL_FUNCTIONS.values(), ids=ALL_FUNCTIONS.keys())
def test_reordered_or_renamed_columns_are_refused(func):
    _, model, df, y = MODELS[-1]
    with pytest.raises(ValueError, match="feature names"):
        func(model, df[df.columns[::-1]], y)
    with pytest.raises(ValueError, match="feature names"):
        func(model, df.rename(columns={"x1": "z"}), y)


@pytest.mark.parametrize("func", ALL_FUNCTIONS.values(), ids=ALL_FUNCTIONS.keys())
def test_frame_on_an_all_numeric_model_gives_no_warning(func):
    X, y = blobs(2)
    cols = [f"f{i}" for i in range(X.shape[1])]
    df = pd.DataFrame(X, columns=cols)
    model = LogisticRegression().fit(df, y)
    # No warning (the autouse fixture turns one into an error), and the
    # numbers of the same model fitted on the bare array.
    got = np.asarray(func(model, df, y), dtype=np.float64)
    want = np.asarray(func(logreg(), X, y), dtype=np.float64)
    np.testing.assert_allclose(got, want, rtol=1e-9)


def test_frame_and_array_give_the_same_numbers():
    X, y = blobs(2)
    cols = [f"f{i}" for i in range(X.shape[1])]
    df = pd.DataFrame(X, columns=cols)
    on_frame = LogisticRegression().fit(df, y)
    on_array = logreg()
    np.testing.assert_allclose(
        certified_radius(on_frame, df), certified_radius(on_array, X), rtol=1e-12
    )
    X_adv = perturb(on_frame, df, y, eps=0.5, random_state=0)
    np.testing.assert_allclose(
        X_adv.to_numpy(), perturb(on_array, X, y, eps=0.5, random_state=0)
    )


# --------------------------------------------------------------------------
# features= over every function that takes it.

FEATURE_FUNCTIONS = {
    "perturb": lambda m, X, y, f: perturb(m, X, y, eps=0.1, features=f),
    "perturb-noise": lambda m, X, y, f: perturb(
        m, X, y, eps=0.1, attack="noise", features=f
    ),
    "robust_accuracy": lambda m, X, y, f: robust_accuracy(m, X, y, eps=0.1, features=f),
    "certified_accuracy": lambda m, X, y, f: certified_accuracy(
        m, X, y, eps=0.1, features=f
    ),
    "certified_radius": lambda m, X, y, f: certified_radius(m, X, features=f),
    "lipschitz_bound": lambda m, X, y, f: lipschitz_bound(m, features=f),
    "scorer": lambda m, X, y, f: make_robustness_scorer(eps=0.1, features=f)(m, X, y),
    "lipschitz_scorer": lambda m, X, y, f: make_lipschitz_scorer(features=f)(m, X, y),
}


@pytest.mark.parametrize(
    "func", FEATURE_FUNCTIONS.values(), ids=FEATURE_FUNCTIONS.keys()
)
@pytest.mark.parametrize(
    "features, error, match",
    [
        (["region"], ValueError, "'region'"),
        (["nope"], ValueError, "unknown column"),
        ([], ValueError, "features"),
        ([7], ValueError, "out-of-range"),
        (["x1", 0], ValueError, "features"),
        ([True, False], ValueError, "mask"),
    ],
    ids=["categorical", "unknown", "empty", "range", "mixed", "mask-length"],
)
def test_bad_features_are_clear_errors(func, features, error, match):
    _, model, df, y = MODELS[-1]
    with pytest.raises(error, match=match):
        func(model, df, y, features)


@pytest.mark.parametrize(
    "func", FEATURE_FUNCTIONS.values(), ids=FEATURE_FUNCTIONS.keys()
)
def test_features_restrict_bounds_and_certificates(func):
    """Fewer columns, smaller (or equal) constants and larger radii."""
    _, model, df, y = MODELS[-1]
    func(model, df, y, ["x1"])  # runs
    assert lipschitz_bound(model, features=["x1"]) <= lipschitz_bound(
        model, features=NUMERIC
    )
    assert np.all(
        certified_radius(model, df, features=["x1"])
        >= certified_radius(model, df, features=NUMERIC) * (1 - 1e-12)
    )


def test_restricted_bound_of_a_linear_model_is_exact():
    """Logistic regression behind a scaler: over the columns S the constant
    is exactly ||(coef / scale)[S]|| per logit difference."""
    _, model, df, y = MODELS[-1]
    scaler = model[0].named_transformers_["num"]
    W = model[-1].coef_[:, :3] / scaler.scale_  # (n_classes, 3) in raw units
    K = pairwise_lipschitz_bounds(model, features=["x1", "x3"])
    for i in range(3):
        for j in range(3):
            exact = np.linalg.norm(W[i, [0, 2]] - W[j, [0, 2]])
            assert K[i, j] == pytest.approx(exact, rel=1e-9)


def test_encoded_numeric_column_is_categorical():
    """A numeric column one-hot or ordinal encoded is held by default and
    refused by name when asked for."""
    df, y = mixed_frame()
    df = df.assign(level=np.arange(len(df)) % 3)
    ct = ColumnTransformer(
        [
            ("num", StandardScaler(), NUMERIC),
            ("cat", OneHotEncoder(), ["region"]),
            ("lvl", OrdinalEncoder(), ["level"]),
        ]
    )
    model = make_pipeline(ct, LogisticRegression()).fit(df, y)
    X_adv = perturb(model, df, y, eps=1.0, random_state=0)
    assert (X_adv["level"] == df["level"]).all()
    with pytest.raises(
        ValueError, match="'level' is categorical.*columntransformer__lvl"
    ):
        perturb(model, df, y, eps=1.0, features=["x1", "level"])
    with pytest.raises(ValueError, match="'level' is categorical"):
        lipschitz_bound(model, features=["level"])


def test_non_affine_column_needs_noise_or_features():
    df, y = mixed_frame()
    ct = ColumnTransformer(
        [
            ("num", StandardScaler(), ["x1", "x2"]),
            ("log", FunctionTransformer(np.abs), ["x3"]),
            ("cat", OneHotEncoder(), ["region"]),
        ]
    )
    model = make_pipeline(ct, LogisticRegression()).fit(df, y)
    with pytest.raises(TypeError, match="'x3'.*columntransformer__log.*noise"):
        perturb(model, df, y, eps=0.5, attack="pgd")
    # The default attack falls back to Square Attack on the scores.
    X_auto = perturb(model, df, y, eps=0.5, n_queries=50, random_state=0)
    assert (X_auto["x3"] != df["x3"]).any()
    assert (X_auto["region"] == df["region"]).all()
    with pytest.raises(TypeError, match="'x3'.*columntransformer__log"):
        certified_accuracy(model, df, y, eps=0.5)
    # Held out of features: fine; the black-box attack may move it.
    assert certified_accuracy(model, df, y, eps=0.5, features=["x1", "x2"]) <= 1
    X_adv = perturb(model, df, y, eps=0.5, attack="noise", random_state=0)
    assert (X_adv["x3"] != df["x3"]).any() and (X_adv["region"] == df["region"]).all()


# --------------------------------------------------------------------------
# as_network reads ColumnTransformer, selectors and imputers exactly.


def _numeric_frame():
    df, y = mixed_frame()
    rng = np.random.default_rng(1)
    out = df[NUMERIC].assign(x4=rng.standard_normal(len(df)) * 1e-3, x5=1.0)
    return out, y


AFFINE_PIPELINES = {
    "ct-scalers-drop": lambda: ColumnTransformer(
        [("a", StandardScaler(), ["x3", "x1"]), ("b", MinMaxScaler(), ["x2"])],
        remainder="drop",
    ),
    "ct-passthrough": lambda: ColumnTransformer(
        [("a", StandardScaler(), ["x1"])], remainder="passthrough"
    ),
    "ct-overlap": lambda: ColumnTransformer(
        [("a", StandardScaler(), ["x1", "x2"]), ("b", MinMaxScaler(), ["x2", "x3"])]
    ),
    "nested": lambda: make_pipeline(
        ColumnTransformer(
            [
                ("a", make_pipeline(SimpleImputer(), StandardScaler()), NUMERIC),
                ("b", "passthrough", ["x4"]),
            ]
        ),
        VarianceThreshold(1e-5),
    ),
    "selectors": lambda: make_pipeline(
        StandardScaler(), SelectKBest(f_classif, k=3), VarianceThreshold()
    ),
    "imputer-indicator": lambda: make_pipeline(
        SimpleImputer(add_indicator=True), StandardScaler()
    ),
}


@pytest.mark.parametrize(
    "make_pre", AFFINE_PIPELINES.values(), ids=AFFINE_PIPELINES.keys()
)
@pytest.mark.parametrize("final", ["logreg", "mlp"])
def test_as_network_reproduces_affine_column_pipelines(make_pre, final):
    X, y = _numeric_frame()
    train = X.copy()
    train.iloc[::7, 1] = np.nan  # the imputer sees missing values in fit
    clf = (
        LogisticRegression()
        if final == "logreg"
        else MLPClassifier((6,), max_iter=50, random_state=0)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = make_pipeline(make_pre(), clf)
        model.fit(train if "imputer" in str(model) else X, y)
    net = as_network(model)
    assert net.n_features_in == X.shape[1]
    np.testing.assert_allclose(
        net.forward(X.to_numpy()), _raw_outputs(model, X), rtol=1e-9, atol=1e-9
    )


def test_input_map_rest_is_what_the_held_columns_contribute():
    """z = x_S @ A_S + rest(x_F): moving x_S leaves rest unchanged."""
    _, model, df, _ = MODELS[0]
    view = ModelView(model)
    cols = np.array([0, 1, 3])
    A_S = view.input_map.rows_of(cols)
    rest = view.preprocess(df) - df[NUMERIC].to_numpy() @ A_S
    moved = df.copy()
    moved[NUMERIC] = df[NUMERIC].to_numpy() + 3.0
    rest_moved = view.preprocess(moved) - moved[NUMERIC].to_numpy() @ A_S
    np.testing.assert_allclose(rest, rest_moved, atol=1e-12)
    # The held column is reported with the step that encodes it.
    assert view.input_map.held == {
        2: ("categorical", "columntransformer__cat", "OneHotEncoder")
    }


def test_handover_penalises_numeric_columns_in_raw_units():
    """sklip's Pipeline hands the estimator a map whose rows are the numeric
    raw columns (A_S, raw units) and one unit row per encoded column."""
    _, model, df, _ = MODELS[1]  # sklip Pipeline, spectral penalty
    m = model[-1].input_map_
    assert m.raw_rows.tolist() == [0, 1, 3, -1, -1, -1]
    scaler = model[0].named_transformers_["num"]
    np.testing.assert_allclose(m.A[:3, :3], np.diag(1 / scaler.scale_))
    np.testing.assert_array_equal(m.A[3:], np.eye(6)[3:])
    # Penalised in raw units, its bound over the numeric columns is smaller
    # than the one of the same network trained in model units.
    assert lipschitz_bound(model, features=NUMERIC) < lipschitz_bound(
        MODELS[0][1], features=NUMERIC
    )


# --------------------------------------------------------------------------
# Sparse X.


def test_sparse_inputs_are_densified_and_returned_sparse(monkeypatch):
    X, y = blobs(2)
    model = logreg()
    Xs = sp.csr_matrix(X)
    X_adv = perturb(model, Xs, y, eps=0.5, random_state=0)
    assert sp.issparse(X_adv) and X_adv.format == "csr"
    np.testing.assert_allclose(
        X_adv.toarray(), perturb(model, X, y, eps=0.5, random_state=0)
    )
    assert certified_accuracy(model, Xs, y, eps=0.3) == certified_accuracy(
        model, X, y, eps=0.3
    )
    monkeypatch.setattr(core_inputs, "MAX_DENSE_BYTES", 100)
    with pytest.raises(ValueError, match="Sparse X .* MiB"):
        robust_accuracy(model, Xs, y, eps=0.5)


def test_sklip_estimator_without_pipeline_on_frame():
    df, y = mixed_frame()
    X = df[NUMERIC]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LipschitzMLPClassifier((8,), max_iter=30, random_state=0).fit(X, y)
    X_adv = perturb(model, X, y, eps=0.2, random_state=0, features=["x2"])
    assert isinstance(X_adv, pd.DataFrame)
    assert (X_adv[["x1", "x3"]] == X[["x1", "x3"]]).all().all()


def test_handover_refuses_unreadable_steps_before_fitting():
    from sklip.pipeline import make_pipeline as sklip_make_pipeline

    df, y = mixed_frame()
    ct = ColumnTransformer(
        [
            ("num", FunctionTransformer(np.abs), NUMERIC),
            ("cat", OneHotEncoder(), ["region"]),
        ]
    )
    model = sklip_make_pipeline(ct, LipschitzMLPClassifier(max_iter=5))
    with pytest.raises(
        TypeError, match="'columntransformer__num' \\(FunctionTransformer\\)"
    ):
        model.fit(df, y)
    assert not hasattr(model[-1], "coefs_")


@pytest.mark.parametrize(
    "name", ["mlp_multi", "mlp_binary", "scaled_logreg"], ids=lambda n: n
)
@pytest.mark.parametrize("norm", [2, np.inf])
def test_features_on_arrays_soundness_and_held_columns(name, norm):
    """Plain arrays, no encoder: features=[0, 2] moves only columns 0 and 2,
    and no sample certified over them is broken by PGD over them."""
    from .. import _robustness_models as models

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fitting the cached models
        if name == "scaled_logreg":
            model, X, y = models.scaled_logreg()
        else:
            model = getattr(models, name)()
            X, y = blobs(3 if name == "mlp_multi" else 2)
    features = [0, 2]
    lip = {"method": "lipschitz"}  # the closed-form radii and their Linf scale
    radius = certified_radius(model, X, features=features, **lip)
    full = certified_radius(model, X, **lip)
    assert np.all(radius >= full * (1 - 1e-12))  # fewer columns, larger radii
    scale = np.sqrt(len(features)) if norm == np.inf else 1.0
    n_cert = 0
    for q in (0.3, 0.6):
        eps = float(np.quantile(radius[radius > 0], q)) / scale
        X_adv = perturb(
            model,
            X,
            y,
            eps=eps,
            norm=norm,
            features=features,
            n_iter=30,
            n_restarts=3,
            random_state=0,
        )
        np.testing.assert_array_equal(X_adv[:, [1, 3, 4, 5]], X[:, [1, 3, 4, 5]])
        cert = (model.predict(X) == y) & (radius > eps * scale)
        assert not np.any(cert & (model.predict(X_adv) != y))
        assert certified_accuracy(
            model, X, y, eps=eps, norm=norm, features=features, **lip
        ) == pytest.approx(cert.mean())
        n_cert += cert.sum()
    assert n_cert > 20


def test_as_network_of_an_encoding_pipeline_names_the_encoder():
    _, model, _, _ = MODELS[-1]
    with pytest.raises(TypeError, match="'columntransformer__cat'.*encodes.*'region'"):
        as_network(model)


@pytest.mark.parametrize("penalty", ["spectral", "frobenius"])
def test_penalty_gradient_through_a_column_transformer_map(penalty):
    """The handed map of a ColumnTransformer (numeric rows in raw units plus
    unit rows for the encoded columns) through the training objective:
    finite differences agree with the gradient."""
    from .._helpers import numerical_gradient, objective_and_gradient

    _, model, df, y = MODELS[1]
    input_map = model[-1].input_map_
    Xt = model[0].transform(df.iloc[:11])
    est = LipschitzMLPClassifier((4,), penalty=penalty, alpha=0.9, random_state=2)
    f, theta = objective_and_gradient(est, Xt, y[:11], input_map=input_map)
    _, grad = f(theta)
    num = numerical_gradient(f, theta)
    assert np.linalg.norm(grad - num) / np.linalg.norm(num) <= 1e-6
