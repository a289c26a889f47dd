"""Speed and tightness of the verification engine (IBP, CROWN, alpha-CROWN).

Prints, on one core (threadpoolctl):

1. the time of each bound method on a (64, 64) ReLU network with 64 inputs
   and 10 classes (9 margin rows) for 100 samples;
2. on digits (scaled to [0, 1], 75/25 split, first 200 test samples) the
   number of samples certified by each method at Linf 0.04, Linf 0.07 and
   L2 0.3 (raw units = the [0, 1] pixels), and its time, for sklip (64,),
   sklip (64, 64) (penalty none) and scikit-learn MLPClassifier (64,);
   auto_LiRPA's CROWN and alpha-CROWN on the same networks (float32: its
   alpha-CROWN fails in float64; one thread) when it is installed (an
   optional peer, never a dependency).

Run: ``PYTHONPATH=. python benchmarks/bench_crown.py [--quick]``.
"""

import argparse
import sys
import time
import types
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

from sklip._core.inputs import Inputs
from sklip._core.network import Network
from sklip.neural_network import LipschitzMLPClassifier
from sklip.verification._crown import bound_specs
from sklip.verification._domain import Domain
from sklip.verification._specs import margin_specs

# name -> bound_specs keywords; "alpha-crown" optimises the hidden bounds
# too (n_iter_hidden=5, the default), "alpha-final" only the final slopes.
METHODS = {
    "interval": {"method": "interval"},
    "crown": {"method": "crown"},
    "alpha-crown": {"method": "alpha-crown"},
    "alpha-final": {"method": "alpha-crown", "n_iter_hidden": 0},
}
BALLS = ((np.inf, 0.04), (np.inf, 0.07), (2, 0.3))


def timed(fn, repeat):
    """Best wall and CPU seconds of ``repeat`` calls (the machine is shared)."""
    fn()
    wall, cpu = np.inf, np.inf
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        wall = min(wall, time.perf_counter() - w)
        cpu = min(cpu, time.process_time() - c)
    return out, wall, cpu


def speed(repeat):
    """Print the time of each method on a random (64, 64) network."""
    rng = np.random.default_rng(0)
    widths = [64, 64, 64, 10]
    net = Network(
        [rng.normal(size=(a, b)) / np.sqrt(a) for a, b in zip(widths, widths[1:])],
        [rng.normal(size=b) * 0.1 for b in widths[1:]],
    )
    Z = rng.uniform(0, 1, (100, 64))
    C = margin_specs(10, rng.integers(0, 10, 100))
    print("(64, 64) ReLU, 64 inputs, 9 margin rows, 100 samples, one core:")
    for norm, eps in ((np.inf, 0.02), (2, 0.3)):
        dom = Domain(Z, eps, norm)
        for method, kw in METHODS.items():
            _, wall, cpu = timed(
                lambda kw=kw, dom=dom: bound_specs(net, dom, C, **kw), repeat
            )
            print(
                f"  L{norm} eps={eps} (input units) {method:12s} "
                f"{wall * 1e3:7.1f} ms wall, {cpu * 1e3:7.1f} ms CPU per 100 samples"
            )


def lirpa():
    """auto_LiRPA, or None. The PyPI release (0.3) predates numpy 2 and
    torch 2.x; three shims restore the names it imports."""
    try:
        import numpy.lib.arraysetops  # noqa: F401
    except ImportError:
        mod = types.ModuleType("numpy.lib.arraysetops")
        mod.isin = np.isin
        sys.modules["numpy.lib.arraysetops"] = mod
    try:
        import torch
        import torch.onnx.symbolic_helper as helper

        if not hasattr(helper, "_set_opset_version"):
            helper._set_opset_version = lambda version: None
        if not hasattr(torch._C.Node, "__getitem__"):
            torch._C.Node.__getitem__ = lambda n, k: getattr(n, n.kindOf(k))(k)
        import auto_LiRPA
    except Exception as exc:  # any failure: the peer is optional
        print(f"(auto_LiRPA not available: {type(exc).__name__}: {exc})")
        return None
    torch.set_num_threads(1)
    return torch, auto_LiRPA


def lirpa_counts(peer, network, Z, C, norm, eps, repeat):
    """auto_LiRPA's CROWN and alpha-CROWN on ``network`` (ReLU): per method
    ``(certified count, best wall seconds, lower bounds)``."""
    torch, al = peer
    layers = []
    for j, (W, b) in enumerate(zip(network.coefs, network.intercepts)):
        lin = torch.nn.Linear(*W.shape)
        lin.weight.data = torch.tensor(W.T, dtype=torch.float32)
        lin.bias.data = torch.tensor(b, dtype=torch.float32)
        layers.append(lin)
        if j < network.n_layers - 1:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    x = torch.tensor(Z, dtype=torch.float32)
    out = {}
    for method, name in (("CROWN", "crown"), ("CROWN-Optimized", "alpha-crown")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bm = al.BoundedModule(
                model,
                x,
                # Sparse alpha indices break in 0.3 under torch 2.x.
                bound_opts={
                    "optimize_bound_args": {"iteration": 20},
                    "sparse_features_alpha": False,
                    "sparse_spec_alpha": False,
                },
                verbose=0,
            )
            ptb = al.PerturbationLpNorm(norm=float(norm), eps=eps)
            bx = al.BoundedTensor(x, ptb)
            Ct = torch.tensor(C, dtype=torch.float32)

            def run(bm=bm, bx=bx, Ct=Ct, method=method):
                lb, _ = bm.compute_bounds(
                    x=(bx,), C=Ct, method=method, bound_upper=False
                )
                return lb.detach().numpy().astype(np.float64)

            lower, wall, _ = timed(run, repeat)
        out[name] = (int((lower.min(axis=1) > 0).sum()), wall, lower)
    return out


def digits(quick, repeat):
    """Print certified counts and times on digits, sklip vs auto_LiRPA."""
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0)
    n = 50 if quick else 200
    Xte, yte = Xte[:n], yte[:n]
    models = {
        "sklip (64,) none": LipschitzMLPClassifier(
            (64,), penalty="none", random_state=0, max_iter=300
        ),
        "sklip (64, 64) none": LipschitzMLPClassifier(
            (64, 64), penalty="none", random_state=0, max_iter=300
        ),
        "sklearn MLP (64,)": MLPClassifier((64,), random_state=0, max_iter=500),
    }
    if quick:
        models.pop("sklip (64, 64) none")
    peer = lirpa()
    print(f"\ndigits, first {n} test samples: certified count (time per 100 samples)")
    for name, model in models.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(Xtr, ytr)
        network, Z, mask = Inputs(model, Xte).attack_space()
        C = margin_specs(network.n_outputs, np.searchsorted(model.classes_, yte))
        print(f"{name}: accuracy {model.score(Xte, yte):.3f}")
        for norm, eps in BALLS:
            dom = Domain(Z, eps, norm, mask=mask)
            cells = []
            mine = {}
            for method, kw in METHODS.items():

                def run(kw=kw, net=network, dom=dom, C=C):
                    return bound_specs(net, dom, C, **kw)

                lower, wall, _ = timed(run, repeat)
                mine[method] = lower
                cnt = int((lower.min(axis=1) > 0).sum())
                cells.append(f"{method} {cnt} ({wall * 1e3 * 100 / n:.0f} ms)")
            if peer is not None:
                for meth, (cnt, wall, lower) in lirpa_counts(
                    peer, network, Z, C, norm, eps, repeat
                ).items():
                    gap = np.mean(mine[meth] - lower)
                    cells.append(
                        f"auto_LiRPA {meth} {cnt} ({wall * 1e3 * 100 / n:.0f} ms, "
                        f"sklip minus auto_LiRPA bound, mean {gap:+.1e})"
                    )
            print(f"  L{norm} eps={eps} (raw pixel units): " + ", ".join(cells))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples")
    args = parser.parse_args()
    repeat = 2 if args.quick else 5
    with threadpool_limits(1):
        speed(repeat)
        digits(args.quick, repeat)


if __name__ == "__main__":
    main()
