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
            "alpha-CROWN on small networks (see AUTO_ALPHA_MAX_UNITS)",
            "about 1-2 CROWN passes",
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

#: ``method="auto"`` adds alpha-CROWN when the network has at most this many
#: hidden units times samples per certified call... see :func:`auto_methods`.
AUTO_ALPHA_MAX_UNITS = 64


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
    on ``network``: CROWN always, alpha-CROWN when the network has at most
    :data:`AUTO_ALPHA_MAX_UNITS` hidden units (it costs ~20 CROWN passes, and
    the default must cost at most 50 ms per 100 samples on a (64, 64) net)."""
    hidden = sum(W.shape[1] for W in network.coefs[:-1])
    if 0 < hidden <= AUTO_ALPHA_MAX_UNITS:
        return ("crown", "alpha-crown")
    return ("crown",)
