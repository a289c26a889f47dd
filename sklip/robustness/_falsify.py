"""sklip's default attack as a falsifier for the verification methods.

:mod:`sklip.verification` never imports this floor; the complete method and
:func:`sklip.robustness.certify` receive the attack as a callable over the
attack-space coordinates (:meth:`sklip._core.inputs.Inputs.attack_space`).
"""

import numpy as np

from ._attacks import ensemble
from ._common import (
    AUTO_STAGES,
    DEFAULT_N_ITER,
    DEFAULT_N_TARGETS,
    N_QUERIES_CHECK,
    make_rng,
)
from ._geometry import take_rows
from ._objectives import make_objective


def padded_clip(box, Z, mask):
    """The clip box over every attack-space coordinate: the held ones
    (``~mask``) never move, so they get infinite bounds. A per-row mask's
    box is already over every coordinate (see ``Inputs.attack_box``)."""
    if box is None or mask is None or mask.ndim == 2:
        return box
    k = int(mask.sum())
    pad = np.full(Z.shape[1] - k, np.inf)
    return (
        np.concatenate([np.broadcast_to(box[0], (k,)), -pad]),
        np.concatenate([np.broadcast_to(box[1], (k,)), pad]),
    )


def attack_falsifier(estimator, network, Z, mask, box, norm, labels, random_state):
    """A callable ``falsifier(rows, eps)`` returning the attack's worst
    points (attack-space rows) for the samples ``rows`` at radii ``eps``.

    The attack is ``perturb``'s default (``attack="auto"``: exact on one
    affine layer, else APGD-CE, APGD-T and Square Attack) against ``labels``
    (the labels to certify, in ``estimator.classes_``). Samples sharing a
    radius are attacked together.
    """
    objective = make_objective(estimator, network, Z, labels)
    clip = padded_clip(box, Z, mask)
    rng = make_rng(random_state)

    def falsifier(rows, eps):
        """The attack's worst points for ``rows`` at radii ``eps``."""
        rows = np.asarray(rows, dtype=np.intp)
        eps = np.broadcast_to(np.asarray(eps, dtype=np.float64), rows.shape)
        out = Z[rows].copy()
        for e in np.unique(eps):
            sel = np.flatnonzero(eps == e)
            if e == 0:
                continue
            with np.errstate(over="ignore", invalid="ignore"):
                out[sel] = ensemble(
                    network, objective.take(rows[sel]), Z[rows[sel]], eps=float(e),
                    norm=norm, n_iter=DEFAULT_N_ITER, n_restarts=1,
                    n_targets=DEFAULT_N_TARGETS, n_queries=N_QUERIES_CHECK,
                    clip=clip, rng=rng, mask=take_rows(mask, rows[sel]),
                    stages=AUTO_STAGES,
                )  # fmt: skip
        return out

    return falsifier
