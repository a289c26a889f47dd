"""
===================================================================
Grid search over alpha: the most accurate model that is robust
===================================================================

``GridSearchCV`` with several scorers at once: accuracy, the certified
Lipschitz bound (:data:`sklip.lipschitz_scorer`, the negated bound) and
robust accuracy under an L2 PGD attack
(:func:`sklip.make_robustness_scorer`). A callable ``refit`` then picks the
**most accurate candidate whose robust accuracy meets a requirement**, and
says so, falling back to the most robust candidate, when none does.

The radius is :func:`sklip.robustness.default_eps` of the training pixels,
in raw pixel units (0-16).
"""

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from sklip import LipschitzMLPClassifier, lipschitz_scorer, make_robustness_scorer
from sklip.robustness import default_eps

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)
eps = default_eps(X_train)
print(f"eps = {eps:.2f} (L2, raw pixel units)")

pipe = make_pipeline(
    MinMaxScaler(),
    LipschitzMLPClassifier(hidden_layer_sizes=(32,), max_iter=80, random_state=0),
)
param_grid = {
    "lipschitzmlpclassifier__penalty": ["spectral", "frobenius"],
    "lipschitzmlpclassifier__alpha": [0.1, 1.0, 10.0, 30.0],
}
scoring = {
    "accuracy": "accuracy",
    "lipschitz": lipschitz_scorer,
    "robust": make_robustness_scorer(eps=eps, random_state=0),
}


# %%
# The refit rule
# --------------
# ``refit`` receives ``cv_results_`` and returns the index of the candidate
# to refit on the whole training set. An empty selection is not an error:
# it is reported, and the most robust candidate is used instead.
def most_accurate_robust(cv_results, minimum=0.5):
    acc = np.asarray(cv_results["mean_test_accuracy"])
    robust = np.asarray(cv_results["mean_test_robust"])
    ok = np.flatnonzero(robust >= minimum)
    if ok.size == 0:
        best = int(np.argmax(robust))
        print(
            f"no candidate reaches robust accuracy {minimum:.2f} at eps={eps:.2f}; "
            f"refitting the most robust one ({robust[best]:.3f})"
        )
        return best
    best = int(ok[np.argmax(acc[ok])])
    print(
        f"{ok.size} candidate(s) reach robust accuracy {minimum:.2f}; the most "
        f"accurate has accuracy {acc[best]:.3f}"
    )
    return best


search = GridSearchCV(
    pipe, param_grid, scoring=scoring, refit=most_accurate_robust, cv=3
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    search.fit(X_train, y_train)
print("chosen:", search.best_params_)
print(f"test accuracy {search.best_estimator_.score(X_test, y_test):.3f}")

# %%
# A requirement no candidate meets is reported, not a crash:
choice = most_accurate_robust(search.cv_results_, minimum=0.99)

# %%
# The trade-off the rule navigates
# --------------------------------
res = search.cv_results_
fig, ax = plt.subplots(figsize=(6, 4))
for penalty, marker in [("spectral", "o"), ("frobenius", "s")]:
    mask = np.asarray(res["param_lipschitzmlpclassifier__penalty"]) == penalty
    ax.scatter(
        res["mean_test_robust"][mask],
        res["mean_test_accuracy"][mask],
        marker=marker,
        label=penalty,
    )
    for a, r, acc in zip(
        res["param_lipschitzmlpclassifier__alpha"][mask],
        res["mean_test_robust"][mask],
        res["mean_test_accuracy"][mask],
    ):
        ax.annotate(f"{a:g}", (r, acc), textcoords="offset points", xytext=(4, 2))
ax.axvline(0.5, color="0.6", linestyle="--", label="requirement")
ax.scatter(
    res["mean_test_robust"][search.best_index_],
    res["mean_test_accuracy"][search.best_index_],
    s=200,
    facecolors="none",
    edgecolors="k",
    label="chosen",
)
ax.set(
    xlabel=f"cross-validated robust accuracy (PGD, eps={eps:.2f} pixels)",
    ylabel="cross-validated accuracy",
)
ax.legend()
fig.tight_layout()
plt.show()
