"""Small fitted models shared by the robustness tests (cached: fit once)."""

from functools import lru_cache

import numpy as np
from sklearn.datasets import load_digits, make_classification, make_regression
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
