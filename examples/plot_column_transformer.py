"""
==================================================================
Mixed data: a ColumnTransformer pipeline on a DataFrame
==================================================================

Real tables mix numeric columns with categorical ones. A perturbation of a
category ("region = north" moved by 0.1?) means nothing, so sklip holds the
encoded columns fixed and perturbs, bounds and certifies only the numeric
ones (``features=``). The pipeline is sklip's
(:func:`sklip.pipeline.make_pipeline`): it hands the preprocessing's map to
the estimator, so the penalty acts on the numeric columns in their raw units,
the units of the certificate.
"""

# %%
# A synthetic table
# -----------------
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklip import (
    LipschitzMLPClassifier,
    RobustnessCurveDisplay,
    certified_accuracy,
    lipschitz_bound,
    robust_accuracy,
)
from sklip.pipeline import make_pipeline
from sklip.robustness import default_eps, perturb

rng = np.random.default_rng(0)
n = 1200
df = pd.DataFrame(
    {
        "age": rng.uniform(18, 80, n),
        "income": rng.lognormal(10, 0.5, n),  # thousands of times age's scale
        "hours": rng.normal(40, 8, n),
        "region": rng.choice(["north", "south", "east", "west"], n),
        "contract": rng.choice(["fixed", "temporary"], n),
    }
)
score = (
    (df["age"] - 45) / 15
    + (np.log(df["income"]) - 10) / 0.5
    + 0.8 * (df["region"] == "north")
    - 0.8 * (df["contract"] == "temporary")
)
y = np.where(score + rng.normal(0, 0.5, n) > 0, "yes", "no")
numeric = ["age", "income", "hours"]
X_train, X_test, y_train, y_test = train_test_split(
    df, y, test_size=0.3, stratify=y, random_state=0
)

# %%
# The pipeline, and why raw units fail here
# -----------------------------------------
# Income spans tens of thousands, age tens: the default radius of the raw
# numeric columns (:func:`~sklip.robustness.default_eps`) is set by income,
# and a ball that moves income by a typical amount moves age by thousands of
# years. Nothing survives it.


def fit_models(X):
    preprocess = ColumnTransformer(
        [
            ("num", StandardScaler(), numeric),
            ("cat", OneHotEncoder(), ["region", "contract"]),
        ]
    )
    models = {}
    for penalty, alpha in [("none", 0.0), ("spectral", 3.0)]:
        model = make_pipeline(
            preprocess,
            LipschitzMLPClassifier(
                hidden_layer_sizes=(32,),
                penalty=penalty,
                alpha=alpha,
                solver="lbfgs",
                max_iter=300,
                random_state=0,
            ),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            models[penalty] = model.fit(X, y_train)
    return models


def report(models, X_train, X_test, unit):
    eps = default_eps(X_train[numeric].to_numpy())
    print(f"default eps over the numeric columns: {eps:.3g} ({unit})")
    for penalty, model in models.items():
        L = lipschitz_bound(model, features=numeric)
        pgd = robust_accuracy(
            model, X_test, y_test, eps=eps, features=numeric, random_state=0
        )
        cert = certified_accuracy(model, X_test, y_test, eps=eps, features=numeric)
        print(
            f"  penalty={penalty:8s} accuracy {model.score(X_test, y_test):.3f}  "
            f"L <= {L:.3g}  PGD {pgd:.3f} >= certified {cert:.3f}"
        )


report(fit_models(X_train), X_train, X_test, "L2, raw units")

# %%
# Choose units in which the numeric columns compare
# -------------------------------------------------
# Express each numeric column in its training standard deviations before
# the model sees it (the command line's ``--eps-units std`` does the same).
# sklip's pipeline then penalises the network in those units, the default
# radius is ``0.2 * sqrt(3)`` (0.2 standard deviations per column, root mean
# square), and the certificate says something.
mean, std = X_train[numeric].mean(), X_train[numeric].std(ddof=0)


def in_std_units(X):
    X = X.copy()
    X[numeric] = (X[numeric] - mean) / std
    return X


Z_train, Z_test = in_std_units(X_train), in_std_units(X_test)
models = fit_models(Z_train)
report(models, Z_train, Z_test, "L2, standard deviations of each numeric column")

# %%
# The categorical columns never move
# ----------------------------------
# ``perturb`` returns a DataFrame in the model's column order; only the
# numeric columns differ from the clean data.
X_adv = perturb(models["spectral"], Z_test, y_test, eps=0.5, features=numeric)
changed = (X_adv != Z_test).any(axis=0)
print("columns changed by the attack:", list(changed[changed].index))

# %%
# Robustness curves over the numeric columns
# ------------------------------------------
# Without ``eps`` the display draws radii up to twice the default.
fig, ax = plt.subplots(figsize=(7, 4.5))
for penalty, model in models.items():
    RobustnessCurveDisplay.from_estimator(
        model, Z_test, y_test, features=numeric, ax=ax, name=penalty
    )
ax.set_xlabel("eps (L2, standard deviations of age, income and hours)")
ax.set_title("Mixed data: perturbing the numeric columns only")
plt.show()
