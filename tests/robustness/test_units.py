"""The one default-eps rule: its formula, and that it is informative."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from sklip.cli._model import View, make_model, mlp_param
from sklip.cli._units import Units
from sklip.robustness import default_eps


def test_default_eps_is_a_fraction_of_the_rms_distance():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5)) * [1, 10, 100, 0.1, 3] + 7
    dist = np.linalg.norm(X - X.mean(axis=0), axis=1)
    assert default_eps(X) == pytest.approx(0.2 * np.sqrt(np.mean(dist**2)))
    linf = np.abs(X - X.mean(axis=0)).max(axis=1)
    assert default_eps(X, norm=np.inf, fraction=0.5) == pytest.approx(
        0.5 * np.sqrt(np.mean(linf**2))
    )
    # Units: scaling the data scales the radius; shifting it does not matter.
    assert default_eps(3 * X - 5) == pytest.approx(3 * default_eps(X))
    # In standard deviations every feature counts alike: 0.2 * sqrt(d).
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    assert default_eps(Z) == pytest.approx(0.2 * np.sqrt(5))
    assert default_eps(np.ones((4, 3))) == 0.0
    # Huge values do not overflow when squared.
    assert np.isfinite(default_eps(X * 1e200))
    with pytest.raises(ValueError, match="fraction"):
        default_eps(X, fraction=0)
    with pytest.raises(ValueError, match="norm"):
        default_eps(X, norm=1)


def test_display_default_grid_is_built_on_default_eps(pyplot=None):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.linear_model import LogisticRegression

    from sklip.robustness import RobustnessCurveDisplay

    X, y = load_iris(return_X_y=True)
    clf = LogisticRegression(max_iter=500).fit(X, y)
    disp = RobustnessCurveDisplay.from_estimator(clf, X, y, attacks=("noise",))
    assert disp.eps[5] == pytest.approx(default_eps(X))
    assert disp.eps[-1] == pytest.approx(2 * default_eps(X))
    plt.close("all")


@pytest.mark.parametrize(
    "load",
    [load_digits, load_iris, load_wine, load_breast_cancer],
    ids=["digits", "iris", "wine", "breast_cancer"],
)
def test_default_eps_in_std_units_is_informative(load):
    """At the default radius the attack hurts but does not destroy: on every
    built-in data set, the CLI's model (as with --quick) keeps some but not
    all of its accuracy under PGD, and certifies some but not all points."""
    X, y = load(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    names = [f"x{j}" for j in range(X.shape[1])]
    units = Units.fit("std", X_train, names, [])
    eps = units.default_eps()
    # 0.2 standard deviations per numeric feature, constant columns included
    # (the CLI's units count every numeric column).
    assert eps == pytest.approx(0.2 * np.sqrt(X.shape[1]))
    robust, certified = [], []
    for penalty, alpha in [("none", 0.0), ("spectral", 10.0)]:
        model = make_model(
            "classification",
            "passthrough",
            units="std",
            hidden=[32],
            solver="adam",
            max_iter=100,
            random_state=0,
        )
        model.set_params(
            **{mlp_param(model, "penalty"): penalty, mlp_param(model, "alpha"): alpha}
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X_train, y_train)
        view = View(model, units)
        clean = model.score(X_test, y_test)
        robust.append(view.robust(X_test, y_test, eps, random_state=0))
        certified.append(view.certified(X_test, y_test, eps))
        assert 0.0 < robust[-1] < clean
        assert certified[-1] <= robust[-1]
    assert max(certified) > 0.0 and min(certified) < 1.0
