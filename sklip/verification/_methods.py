"""The registry of certification methods.

:data:`METHODS` is the one list the public API reads: the ``method``
parameter constraint of every certified function, the CLI's choices and the
docs' table are derived from it (tests check the docs against it).
"""

from dataclasses import dataclass

from sklearn.utils._param_validation import StrOptions


@dataclass(frozen=True)
class Method:
    """A certification method.

    Parameters
    ----------
    name : str
        The value of ``method=``.
    summary : str
        One line for docs and ``--help``.
    cost : str
        Its cost, measured by ``benchmarks/bench_certify.py``.
    complete : bool
        Whether it can also *falsify* (return a counterexample), not only
        certify.
    """

    name: str
    summary: str
    cost: str
    complete: bool = False


METHODS = {
    m.name: m
    for m in (
        Method(
            "auto",
            "per-sample union of the Lipschitz margin and CROWN, adding "
            "alpha-CROWN on CROWN's near misses (ReLU networks)",
            "about one CROWN pass",
        ),
        Method(
            "lipschitz",
            "global Lipschitz margin: radius min_i (f_c - f_i) / K[c, i]; Linf "
            "through the containing L2 ball",
            "one forward pass (the constants are computed once per model)",
        ),
        Method(
            "crown",
            "per-sample backward linear bounds of the margins (CROWN)",
            "one backward pass per layer and sample",
        ),
        Method(
            "alpha-crown",
            "CROWN with the relaxation slopes optimised by gradient ascent",
            "about 20 CROWN passes",
        ),
        Method(
            "complete",
            "branch and bound over unstable ReLUs (exact MILP on one hidden "
            "layer), the attack as falsifier; verified, falsified or undecided",
            "up to time_budget seconds per sample",
            complete=True,
        ),
    )
}

#: The method names, in the order of :data:`METHODS` (the CLI's choices).
METHOD_NAMES = tuple(METHODS)

#: The bound methods: a sample is certified when every lower bound is > 0.
BOUND_METHODS = ("crown", "alpha-crown")

#: ``method="auto"`` runs alpha-CROWN only on the near misses of CROWN: the
#: samples whose CROWN bound of the worst margin is above ``-AUTO_ALPHA_SCREEN``
#: times their clean margin. Measured on digits ((64,) and (64, 64) ReLU nets,
#: sklip- and sklearn-trained, Linf 0.04 / 0.07 and L2 0.3, 200 samples),
#: every sample alpha-CROWN certified beyond CROWN had a ratio above -0.03,
#: and 3-10 % of the samples fall within -0.05: alpha-CROWN (about 4 ms per
#: sample on a (64, 64) net) then adds a few ms per 100 samples instead of
#: ~150 ms, keeping the default near CROWN's cost (benchmarks/bench_certify.py).
AUTO_ALPHA_SCREEN = 0.05


def method_constraint():
    """The ``_parameter_constraints`` entry of ``method``."""
    return [StrOptions(set(METHOD_NAMES))]


def check_method(method, name="method"):
    """Return ``method`` if registered, else a ``ValueError`` naming it."""
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"{name} must be one of {list(METHOD_NAMES)}; got {method!r}.")
    return method


def auto_methods(network):
    """The bound methods ``method="auto"`` unites with the Lipschitz margin
    on ``network``: CROWN, then alpha-CROWN on CROWN's near misses (see
    :data:`AUTO_ALPHA_SCREEN`) for ReLU networks with hidden layers (its
    slopes are those of ReLU relaxations; elsewhere it equals CROWN)."""
    if network.n_layers > 1 and network.activation == "relu":
        return ("crown", "alpha-crown")
    return ("crown",)
