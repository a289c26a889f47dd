"""Time PGD (20 steps) on 1000 samples; compare with ART where importable.

Workloads: a 64 -> 256 -> 256 -> 10 MLP and a 10-class LogisticRegression on
load_digits (pixels scaled to [0, 1]). Where ``adversarial-robustness-toolbox``
is importable (it is *not* a dependency of sklip) its ProjectedGradientDescent
attacks the same LogisticRegression at the same eps, step and iterations in
the same run; robust accuracy (lower = stronger attack) and the time ratio
are reported. Times are medians of repeats.

    python benchmarks/bench_robustness.py [--repeats 5] [--eps 1.0] [--norm 2]
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

from sklip.robustness import perturb

N_ITER = 20


def median_time(func, repeats):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), result


def data(n=1000):
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    return X[:n], y[:n], X, y


def art_pgd(model, X, y, eps, norm, step, repeats):
    """ART's PGD on the same model, or None when ART is not importable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from art.attacks.evasion import ProjectedGradientDescent
            from art.estimators.classification.scikitlearn import (
                ScikitlearnLogisticRegression,
            )
    except ImportError:
        return None
    wrapped = ScikitlearnLogisticRegression(model)
    attack = ProjectedGradientDescent(
        wrapped,
        norm=norm,
        eps=eps,
        eps_step=step,
        max_iter=N_ITER,
        num_random_init=1,
        batch_size=len(X),
        verbose=False,
    )
    n_classes = len(model.classes_)
    Y = np.eye(n_classes)[np.searchsorted(model.classes_, y)]
    return median_time(lambda: attack.generate(X, Y), repeats)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--eps", type=float, default=1.0)
    parser.add_argument("--norm", default="2", choices=["2", "inf"])
    args = parser.parse_args()
    norm = np.inf if args.norm == "inf" else 2
    eps = args.eps if norm == 2 else args.eps / 8
    step = 2.5 * eps / N_ITER
    X, y, X_all, y_all = data()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp = MLPClassifier((256, 256), max_iter=30, random_state=0).fit(X_all, y_all)
    logreg = LogisticRegression(max_iter=1000).fit(X_all, y_all)
    print(
        f"PGD, {N_ITER} steps, {len(X)} samples, norm={args.norm}, eps={eps:g}, "
        f"step={step:g}, median of {args.repeats} repeats"
    )
    print(f"\n  {'model / attack':36s} {'time':>9s}   robust acc   (clean)")
    for name, model in [
        ("MLP 64-256-256-10 / sklip", mlp),
        ("LogisticRegression / sklip", logreg),
    ]:
        t, X_adv = median_time(
            lambda m=model: perturb(
                m,
                X,
                y,
                eps=eps,
                norm=norm,
                n_iter=N_ITER,
                step_size=step,
                random_state=0,
            ),
            args.repeats,
        )
        acc = np.mean(model.predict(X_adv) == y)
        print(
            f"  {name:36s} {t * 1e3:7.1f} ms   {acc:10.4f}   ({model.score(X, y):.4f})"
        )
        if model is logreg:
            t_sklip, acc_sklip = t, acc

    art = art_pgd(logreg, X, y, eps, norm, step, args.repeats)
    if art is None:
        print("\n  adversarial-robustness-toolbox not importable: no comparison.")
        return
    t_art, X_art = art
    D = X_art - X
    dist = np.abs(D).max(axis=1) if norm == np.inf else np.linalg.norm(D, axis=1)
    acc_art = np.mean(logreg.predict(X_art) == y)
    print(
        f"  {'LogisticRegression / ART PGD':36s} {t_art * 1e3:7.1f} ms   "
        f"{acc_art:10.4f}   (max ||delta|| = {dist.max():.4g})"
    )
    print(
        f"\n  time ART / sklip: {t_art / t_sklip:.1f}x; robust accuracy "
        f"sklip {acc_sklip:.4f} vs ART {acc_art:.4f} (lower = stronger)"
    )


if __name__ == "__main__":
    main()
