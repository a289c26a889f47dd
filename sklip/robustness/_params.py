"""The attack parameters: one definition, their defaults and their validation.

:data:`ATTACKS` is the registry of attacks: the ``attack`` constraint, the
stages :func:`perturb` runs, which attacks work without a network view and
the command line's choices are all read from it. :class:`AttackParams` is the
frozen set of attack parameters (attack, norm, n_iter, step_size, n_restarts,
n_targets, n_queries, clip, random_state, features) that :func:`perturb`, the
metrics, the scorers and the display take as keywords and pass on as one
object; its ``CONSTRAINTS`` are the ``validate_params`` constraints of every
public function with those keywords.
"""

import re
from dataclasses import dataclass, field, fields, replace
from numbers import Integral
from typing import ClassVar

import numpy as np
from sklearn.utils._param_validation import validate_parameter_constraints

from .._validation import (
    FEATURES,
    NORM,
    RANDOM_STATE,
    Choices,
    check_seed,
    count,
    real,
)


@dataclass(frozen=True)
class Attack:
    """One entry of the attack registry.

    Parameters
    ----------
    name : str
        The ``attack=`` value.
    black_box : bool
        Whether it runs on a model without a network view (scores or
        predictions only).
    stages : tuple of str or None
        The stages of the ensemble it runs (None: its own engine).
    n_iter : int or None
        Steps per restart when ``n_iter=None``.
    """

    name: str
    black_box: bool
    stages: tuple = None
    n_iter: int = None


# Budgets of the default attack, chosen on benchmarks/bench_robustness.py.
DEFAULT_N_ITER = 50
DEFAULT_N_ITER_PGD = 20
DEFAULT_N_TARGETS = 9
# n_queries=None: Square Attack's budget when it is the attack (a model
# without a network view, or attack="square"), and when it only checks for
# gradient masking after APGD in attack="auto".
DEFAULT_N_QUERIES = None
N_QUERIES_BLACK_BOX = 1000
N_QUERIES_CHECK = 250
AUTO_STAGES = ("apgd-ce", "apgd-t", "square")

#: The attacks, in the order documented (and offered by the command line).
ATTACKS = {
    a.name: a
    for a in (
        Attack("auto", True, AUTO_STAGES, DEFAULT_N_ITER),
        Attack("apgd-ce", False, ("apgd-ce",), DEFAULT_N_ITER),
        Attack("apgd-dlr", False, ("apgd-dlr",), DEFAULT_N_ITER),
        Attack("apgd-t", False, ("apgd-t",), DEFAULT_N_ITER),
        Attack("square", True, ("square",), DEFAULT_N_ITER),
        Attack("pgd", False, None, DEFAULT_N_ITER_PGD),
        Attack("fgsm", False),
        Attack("noise", True),
    )
}
# Attacks that need no network view ("auto" degrades to its black-box stage).
BLACK_BOX = tuple(name for name, a in ATTACKS.items() if a.black_box)

ATTACK = [Choices(str, tuple(ATTACKS))]


def check_attack(attack):
    """Return ``attack`` if it is a registered attack name, else raise."""
    if not isinstance(attack, str) or attack not in ATTACKS:
        raise ValueError(f"attack must be one of {tuple(ATTACKS)}; got {attack!r}.")
    return attack


def check_norm(norm):
    """Return ``2`` or ``np.inf``; anything else is a ``ValueError``."""
    if not NORM[0].is_satisfied_by(norm):
        raise ValueError(f"norm must be 2 or np.inf; got {norm!r}.")
    return 2 if norm == 2 else np.inf


def check_step_size(step_size):
    """``None`` or a finite float ``> 0``."""
    if step_size is None:
        return None
    if not real(0.0, closed="neither").is_satisfied_by(step_size):
        raise ValueError(f"step_size must be None or a number > 0; got {step_size!r}.")
    return float(step_size)


def make_rng(random_state):
    """A ``numpy.random.Generator`` from ``None``, an int, a RandomState or a
    Generator. An int gives the same draws on every call, which is what makes
    scorers reproducible across candidates, folds and workers."""
    random_state = check_seed(random_state)
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    return np.random.default_rng(random_state)


def _optional(constraint):
    return [constraint, None]


@dataclass(frozen=True)
class AttackParams:
    """The parameters of an attack, validated once and passed on as one.

    The fields are the keywords of :func:`perturb` (see its documentation);
    the metrics, the scorers and the display take the same keywords and hand
    them on as one object. Construction validates and normalises (``norm`` to
    ``2`` or ``np.inf``, counts to ``int``, ``step_size`` to ``float``).

    Parameters
    ----------
    attack : str, default="auto"
        A name of :data:`ATTACKS`.
    norm : {2, np.inf}, default=2
    n_iter : int or None, default=None
        None: the attack's own default (:attr:`Attack.n_iter`).
    step_size : float or None, default=None
        PGD's absolute step; None: ``max(eps / 8, 2.5 * eps / n_iter)``
        (:func:`sklip.robustness._pgd.default_step`).
    n_restarts : int, default=1
    n_targets : int, default=9
    n_queries : int or None, default=None
        None: 1000 when Square Attack is the attack, 250 when it checks
        APGD in ``"auto"``.
    clip : tuple (low, high) or None, default=None
        Checked against the data by :class:`sklip._core.inputs.Inputs`.
    random_state : int, RandomState, Generator or None, default=None
    features : str, int, array-like or None, default=None
        Its form is checked here, the columns against the data.

    Examples
    --------
    >>> import numpy as np
    >>> from sklip.robustness._params import AttackParams
    >>> params = AttackParams(attack="pgd", norm=np.float64(np.inf), n_iter=np.int64(5))
    >>> params.norm, params.n_iter, params.steps
    (inf, 5, 5)
    >>> AttackParams(attack="pgd").steps  # PGD's own default
    20
    """

    attack: str = "auto"
    norm: float = 2
    n_iter: int = None
    step_size: float = None
    n_restarts: int = 1
    n_targets: int = DEFAULT_N_TARGETS
    n_queries: int = DEFAULT_N_QUERIES
    clip: object = field(default=None, compare=False)
    random_state: object = None
    features: object = None

    #: ``validate_params`` constraints of the fields.
    CONSTRAINTS: ClassVar[dict] = {
        "attack": ATTACK,
        "norm": NORM,
        "n_iter": _optional(count(1)),
        "step_size": _optional(real(0.0, closed="neither")),
        "n_restarts": [count(1)],
        "n_targets": [count(1)],
        "n_queries": _optional(count(1)),
        # (low, high) of scalars or arrays: checked against the data by
        # sklip._core.inputs.check_clip, whose messages name low and high.
        "clip": "no_validation",
        "random_state": RANDOM_STATE,
        "features": FEATURES,
    }

    def __post_init__(self):
        """Validate every field, then store numpy scalars as plain ``int``/``float``."""
        validate_parameter_constraints(
            self.CONSTRAINTS, self.as_dict(), caller_name=type(self).__name__
        )
        check_seed(self.random_state)  # refuses bools, as every seed check
        normal = {"norm": 2 if self.norm == 2 else np.inf}
        for name in ("n_iter", "n_restarts", "n_targets", "n_queries"):
            value = getattr(self, name)
            if isinstance(value, Integral):
                normal[name] = int(value)
        if self.step_size is not None:
            normal["step_size"] = float(self.step_size)
        for name, value in normal.items():
            object.__setattr__(self, name, value)

    @classmethod
    def from_arguments(cls, arguments):
        """The parameters among ``arguments`` (a function's ``locals()``)."""
        return cls(**{f.name: arguments[f.name] for f in fields(cls)})

    def as_dict(self):
        """The fields as keywords of :func:`perturb`."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def replace(self, **changes):
        """A copy with ``changes`` (validated again)."""
        return replace(self, **changes)

    @property
    def spec(self):
        """The registry entry of :attr:`attack`."""
        return ATTACKS[self.attack]

    @property
    def steps(self):
        """Steps per restart: ``n_iter``, or the attack's default."""
        return self.spec.n_iter if self.n_iter is None else self.n_iter

    def queries(self, black_box):
        """Square Attack's budget: as given, else the full budget when it is
        the attack (``black_box``: no network view, or ``attack="square"``),
        the checking budget after APGD otherwise."""
        if self.n_queries is not None:
            return self.n_queries
        return N_QUERIES_BLACK_BOX if black_box else N_QUERIES_CHECK


_PARAMS_DOC = """\
    attack : {attacks}, default="auto"
        ``"auto"``: exact on models whose network view is a single affine
        layer (linear models, pipelines folding to one); otherwise an
        ensemble in the spirit of AutoAttack (Croce & Hein, 2020): APGD-CE,
        then APGD-T, then Square Attack, each stage on the samples it has not
        broken yet. Without a network view, Square Attack alone.
        ``"apgd-ce"`` / ``"apgd-dlr"``: APGD with the cross-entropy / the
        difference of logits ratio loss (margin with fewer than 3 classes).
        ``"apgd-t"``: targeted APGD towards the ``n_targets`` classes ranked
        highest after the label at the clean point (margin loss).
        ``"square"``: Square Attack (Andriushchenko et al., 2020), querying
        only scores (the network's raw outputs, else ``decision_function`` or
        ``predict_proba``; ``predict`` for regressors).
        ``"pgd"``: projected gradient ascent on the cross-entropy with a
        fixed step (Madry et al., 2018), the first restart from the clean
        point as textbook PGD without random initialisation. ``"fgsm"``:
        one step of length ``eps`` (Goodfellow et al., 2015). ``"noise"``: a
        uniformly random point on the eps-sphere.
    norm : {{2, np.inf}}, default=2
        Norm of the perturbation ball.
    n_iter : int, default=None
        Steps per restart (and per target): ``None`` means {n_iter} for APGD and
        {n_iter_pgd} for PGD.
    step_size : float, default=None
        PGD step length, absolute: in the units of ``eps`` (raw input units)
        and the same norm, as ``eps_step`` in common toolboxes; each step
        moves ``step_size`` along the signed (Linf) or normalised (L2)
        gradient before projecting back onto the ball. ``None`` means
        ``max(eps / 8, 2.5 * eps / n_iter)``: Madry et al.'s rule (enough
        steps to cross the ball 2.5 times), but never below ``eps / 8``,
        which was stronger at 50 and more iterations on digits
        (``benchmarks/bench_robustness.py --pgd``); both give ``eps / 8`` at
        the default {n_iter_pgd} iterations. APGD adapts its own step.
    n_restarts : int, default=1
        Starts of APGD-CE / PGD (the first from the clean point, the others
        random) or random draws (noise); the worst point is kept.
    n_targets : int, default={n_targets}
        Target classes of APGD-T (all others for up to 10 classes).
    n_queries : int, default=None
        Query budget of Square Attack (score evaluations per sample).
        ``None``: {queries} when Square Attack is the attack (``"square"``, or
        ``"auto"`` on a model without a network view), {check} when it checks
        for gradient masking after APGD in ``"auto"``.
    clip : tuple (low, high), default=None
        Bounds (scalars or arrays of shape (n_features,)) the perturbed points
        must respect, e.g. ``(0, 16)`` for pixel intensities. ``X`` must lie
        within them (in the perturbed columns). Use ``-np.inf``/``np.inf``
        for a missing bound.
    random_state : int, RandomState, Generator or None, default=None
        Seed of the random starts, windows and noise. An int gives identical
        draws on every call.
    features : str, int, array-like of str, int or bool, default=None
        Columns to perturb: names (of a DataFrame ``X`` or the model's
        ``feature_names_in_``), integer indices or a boolean mask (not a mix
        of kinds). The other columns never change and ``eps`` is a radius
        over these columns only. None: every column except categorical ones
        (non-numeric columns and the inputs of encoders, which are held
        fixed). Naming a non-numeric or encoded column is an error."""

#: The ``attack`` choices as numpydoc writes them, from the registry.
ATTACK_CHOICES_DOC = "{" + ", ".join(f'"{a}"' for a in ATTACKS) + "}"

#: numpydoc of the attack parameters, for :func:`perturb`'s docstring.
PARAMS_DOC = _PARAMS_DOC.format(
    attacks=ATTACK_CHOICES_DOC,
    n_iter=DEFAULT_N_ITER,
    n_iter_pgd=DEFAULT_N_ITER_PGD,
    n_targets=DEFAULT_N_TARGETS,
    queries=N_QUERIES_BLACK_BOX,
    check=N_QUERIES_CHECK,
)


#: numpydoc of the attack's budget parameters (``norm`` to ``clip``) in the
#: short form of the metrics, the scorers and the display, which send the
#: reader to :func:`perturb` for the long one.
BUDGET_DOC = """\
norm : {2, np.inf}, default=2
    Norm of the perturbation ball.
n_iter : int, default=None
    Steps per restart; None: the attack's own default. See :func:`perturb`.
step_size : float, default=None
    PGD's absolute step (raw input units); None: ``max(eps / 8, 2.5 * eps /
    n_iter)``. See :func:`perturb`.
n_restarts : int, default=1
    Starts of APGD-CE / PGD, or random draws of noise.
n_targets : int, default=9
    Target classes of APGD-T.
n_queries : int, default=None
    Query budget of Square Attack; None: see :func:`perturb`.
clip : tuple (low, high), default=None
    Bounds the perturbed points must respect. See :func:`perturb`."""


def fill_doc(obj, **fragments):
    """Put each fragment in place of its ``{name}`` line of ``obj.__doc__``.

    The fragment is indented as the placeholder is, so one text serves a
    function's docstring and a method's. Returns ``obj``.
    """
    doc = obj.__doc__
    for name, text in fragments.items():
        match = re.search(rf"^( *)\{{{name}\}}$", doc, flags=re.MULTILINE)
        if match is None:
            raise ValueError(f"{obj.__qualname__}'s docstring has no {{{name}}} line")
        indent = match.group(1)
        body = "\n".join(indent + line if line else "" for line in text.splitlines())
        doc = doc[: match.start()] + body + doc[match.end() :]
    obj.__doc__ = doc
    return obj
