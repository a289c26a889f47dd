"""
Spectral versus Frobenius penalty: accuracy against the certified Lipschitz bound
================================================================================

L2 weight decay (``penalty="frobenius"``) and spectral norm regularisation
(``penalty="spectral"``) both shrink the network's Lipschitz constant, but they
do not shrink the same thing: the Frobenius norm sums every squared singular
value, the spectral norm is only the largest. This example sweeps ``alpha`` for
each penalty on the digits data and plots test accuracy against the certified
Lipschitz bound of the whole pipeline (with respect to raw pixels), along with
each layer's stable rank ``||W||_F^2 / ||W||_2^2``.
"""

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklip import LipschitzMLPClassifier, lipschitz_bound

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

# %%
# Sweep the penalty strength. Equal ``alpha`` is not equal strength: compare
# the curves, not single points.
alphas = {"frobenius": [0.1, 1, 3, 10, 30], "spectral": [0.1, 10, 30, 100, 300]}
results = {}
for penalty, grid in alphas.items():
    rows = []
    for alpha in grid:
        model = make_pipeline(
            StandardScaler(),
            LipschitzMLPClassifier(
                hidden_layer_sizes=(64,),
                penalty=penalty,
                alpha=alpha,
                max_iter=60,
                random_state=0,
            ),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X_train, y_train)
        mlp = model[-1]
        stable_rank = np.mean(
            [np.linalg.norm(W) ** 2 / np.linalg.norm(W, 2) ** 2 for W in mlp.coefs_]
        )
        rows.append((lipschitz_bound(model), model.score(X_test, y_test), stable_rank))
        print(
            f"{penalty:9s} alpha={alpha:<6g} L<={rows[-1][0]:8.3g} "
            f"acc={rows[-1][1]:.3f} mean stable rank={stable_rank:.1f}"
        )
    results[penalty] = np.array(rows)

# %%
fig, (ax_acc, ax_rank) = plt.subplots(1, 2, figsize=(10, 4))
for penalty, rows in results.items():
    ax_acc.plot(rows[:, 0], rows[:, 1], "o-", label=penalty)
    ax_rank.plot(rows[:, 0], rows[:, 2], "o-", label=penalty)
ax_acc.set(xscale="log", xlabel="certified Lipschitz bound", ylabel="test accuracy")
ax_rank.set(xscale="log", xlabel="certified Lipschitz bound", ylabel="stable rank")
ax_acc.legend()
fig.tight_layout()
plt.show()
