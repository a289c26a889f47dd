"""Small fitted models shared by the robustness tests (cached: fit once)."""

import warnings
from functools import lru_cache

import numpy as np
from sklearn.datasets import load_digits, make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


@lru_cache
def digits(n=300):
    X, y = load_digits(return_X_y=True)
    return X[:n], y[:n]


@lru_cache
def blobs(n_classes=2, n=200, seed=0):
    X, y = make_classification(
        n_samples=n,
        n_features=6,
        n_informative=4,
        n_redundant=0,
        n_classes=n_classes,
        n_clusters_per_class=1,
        class_sep=1.0,
        random_state=seed,
    )
    return X, y


@lru_cache
def regression(n=150):
    X, y = make_regression(n_samples=n, n_features=5, noise=5.0, random_state=0)
    return X, y / np.std(y)


@lru_cache
def mlp_digits():
    X, y = digits()
    return MLPClassifier((16,), max_iter=300, random_state=0).fit(X, y)


@lru_cache
def mlp_binary(activation="relu"):
    X, y = blobs(2)
    return MLPClassifier((8,), activation=activation, max_iter=500, random_state=0).fit(
        X, y
    )


@lru_cache
def mlp_multi(activation="relu", hidden=(8,)):
    X, y = blobs(3)
    return MLPClassifier(
        hidden, activation=activation, max_iter=500, random_state=0
    ).fit(X, y)


@lru_cache
def logreg(n_classes=2):
    X, y = blobs(n_classes)
    return LogisticRegression().fit(X, y)


@lru_cache
def scaled_logreg():
    X, y = blobs(2)
    # Features in very different units: the raw-space radius must account
    # for the scaler.
    X = X * np.array([1.0, 10.0, 0.1, 1.0, 5.0, 1.0])
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y), X, y


@lru_cache
def mlp_regressor():
    X, y = regression()
    return MLPRegressor(
        hidden_layer_sizes=(16,), activation="tanh", max_iter=800, random_state=0
    ).fit(X, y)


@lru_cache
def ridge():
    X, y = regression()
    return Ridge().fit(X, y)


def classifiers():
    """(name, model, X, y) for the attack invariants."""
    out = [
        ("mlp_digits", mlp_digits(), *digits()),
        ("mlp_binary", mlp_binary(), *blobs(2)),
        ("mlp_multi", mlp_multi(), *blobs(3)),
        ("logreg", logreg(), *blobs(2)),
    ]
    pipe, X, y = scaled_logreg()
    out.append(("pipeline", pipe, X, y))
    return out


NUMERIC = ["x1", "x2", "x3"]


@lru_cache
def mixed_frame(n=240, seed=0):
    """A DataFrame with numeric columns in different units and a string
    column, and a label depending on both."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "x1": 10.0 * rng.standard_normal(n),
            "x2": rng.standard_normal(n),
            "region": rng.choice(["north", "south", "east"], n),
            "x3": rng.standard_normal(n),
        }
    )
    score = df.x1 / 10 + df.x2 + (df.region == "north") - 0.5 * (df.region == "east")
    y = np.where(score > 0.4, "high", np.where(score > -0.6, "mid", "low"))
    return df, y


def mixed_pipeline(final, *, sklip_pipeline=False, binary=False):
    """``ColumnTransformer([scaler on numeric, one-hot on region]) -> final``
    fitted on :func:`mixed_frame`."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder

    from sklip.pipeline import make_pipeline as sklip_make_pipeline

    df, y = mixed_frame()
    if binary:
        y = np.where(y == "high", "high", "other")
    make = sklip_make_pipeline if sklip_pipeline else make_pipeline
    ct = ColumnTransformer(
        [("num", StandardScaler(), NUMERIC), ("cat", OneHotEncoder(), ["region"])]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return make(ct, final).fit(df, y), df, y


@lru_cache
def mixed_models():
    """(name, fitted pipeline, df, y) over final models and pipeline kinds."""
    from sklip import LipschitzMLPClassifier

    def sklip_mlp(**kw):
        return LipschitzMLPClassifier(
            (16,), solver="lbfgs", max_iter=300, random_state=0, **kw
        )

    out = []
    for name, final, sk, binary in [
        ("sklip-mlp", sklip_mlp(alpha=1e-3), False, False),
        ("sklip-mlp-handover", sklip_mlp(penalty="spectral", alpha=1.0), True, False),
        ("sklip-mlp-binary", sklip_mlp(activation="tanh"), True, True),
        (
            "sklearn-mlp",
            MLPClassifier((8,), max_iter=800, random_state=0),
            False,
            False,
        ),
        ("logreg", LogisticRegression(), False, False),
    ]:
        out.append((name, *mixed_pipeline(final, sklip_pipeline=sk, binary=binary)))
    return tuple(out)
