"""Robustness curve: a score against the perturbation radius, per attack."""

import numpy as np
from sklearn.base import is_classifier

from .._core.inputs import Inputs
from .._validation import EPS_OR_ARRAY, SHARED, public
from ..verification._methods import check_method
from ._certify import certified_accuracy
from ._common import check_eps
from ._metrics import robust_accuracy, robust_r2
from ._params import (
    BLACK_BOX,
    BUDGET_DOC,
    DEFAULT_N_QUERIES,
    DEFAULT_N_TARGETS,
    AttackParams,
    check_attack,
    fill_doc,
)
from ._units import default_eps


def _check_matplotlib(caller):
    # matplotlib is an optional extra; import it only when plotting.
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"{caller} requires matplotlib, an optional dependency of sklip. "
            "Install it with `pip install sklip[plot]`."
        ) from exc


_LINESTYLES = {
    "noise": ":",
    "fgsm": "-.",
    "pgd": (0, (5, 1, 1, 1)),
    "auto": "-",
    "certified": "--",
}


def _default_eps_grid(X, norm):
    """Eleven radii from 0 to twice :func:`default_eps` of ``X``.

    The shared default radius is the middle point of the grid, so the curve
    shows it with room on either side; pass ``eps`` for anything else.
    """
    return np.linspace(0.0, 2.0 * default_eps(X, norm=norm), 11)


class RobustnessCurveDisplay:
    """Score against perturbation radius ``eps``, one curve per attack.

    Use :meth:`from_estimator` to compute the curves; the constructor only
    stores computed data. Empirical curves (``"auto"``, ``"pgd"``,
    ``"noise"``, ...) are upper bounds of the true robust score, the
    ``"certified"`` curve a lower bound; the truth lies between.

    Parameters
    ----------
    eps : ndarray of shape (n_eps,)
        Radii, in raw input units.
    scores : dict of str to ndarray of shape (n_eps,)
        Score per attack name (e.g. ``"noise"``, ``"auto"``,
        ``"certified"``).
    norm : {2, np.inf}, default=2
        Norm of the perturbation ball.
    score_name : str, default="Accuracy"
        Label of the y axis.
    name : str, default=None
        Name of the model, used in the legend.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes with the curves.
    figure_ : matplotlib Figure
        Figure containing the curves.
    lines_ : list of matplotlib Line2D
        One line per attack, in the order of ``scores``.

    See Also
    --------
    robust_accuracy : Accuracy under attack.
    certified_accuracy : Accuracy certified by the Lipschitz margin, CROWN,
        alpha-CROWN or complete verification.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklip.robustness import RobustnessCurveDisplay
    >>> X, y = make_classification(n_samples=100, random_state=0)
    >>> clf = LogisticRegression().fit(X, y)
    >>> display = RobustnessCurveDisplay.from_estimator(
    ...     clf, X, y, eps=[0.0, 0.5, 1.0], name="logistic"
    ... )
    >>> [line.get_label() for line in display.lines_]
    ['logistic (noise)', 'logistic (auto)', 'logistic (certified)']
    >>> plt.close(display.figure_)
    """

    def __init__(self, *, eps, scores, norm=2, score_name="Accuracy", name=None):
        self.eps = eps
        self.scores = scores
        self.norm = norm
        self.score_name = score_name
        self.name = name

    def plot(self, ax=None, *, name=None, curve_kwargs=None):
        """Plot the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on (e.g. shared by several models); a new figure is
            created when None.
        name : str, default=None
            Model name for the legend; overrides the stored ``name``.
        curve_kwargs : dict, default=None
            Keyword arguments for every ``ax.plot`` call (e.g. ``color``).

        Returns
        -------
        display : RobustnessCurveDisplay
            ``self``, with ``ax_``, ``figure_`` and ``lines_`` set.
        """
        _check_matplotlib(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        name = self.name if name is None else name
        curve_kwargs = {} if curve_kwargs is None else dict(curve_kwargs)
        self.lines_ = []
        for attack, score in self.scores.items():
            kwargs = {
                "label": attack if name is None else f"{name} ({attack})",
                "linestyle": _LINESTYLES.get(attack, "-"),
                "marker": ".",
            }
            # One colour per model, one line style per attack, so several
            # models can share the axes.
            if self.lines_:
                kwargs["color"] = self.lines_[0].get_color()
            kwargs.update(curve_kwargs)
            (line,) = ax.plot(self.eps, score, **kwargs)
            self.lines_.append(line)
        norm = "Linf" if self.norm == np.inf else "L2"
        ax.set_xlabel(f"eps ({norm} radius, raw input units)")
        ax.set_ylabel(self.score_name)
        if self.score_name == "Accuracy":
            ax.set_ylim(-0.02, 1.02)
        ax.legend(loc="best")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    @public(
        {
            **SHARED,
            **AttackParams.CONSTRAINTS,
            "y": ["array-like"],
            "eps": [*EPS_OR_ARRAY, None],
            "attacks": [list, tuple],
            "ax": "no_validation",
            "name": [str, None],
            "curve_kwargs": [dict, None],
            "method": "no_validation",  # check_method names the registry
        }
    )
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        eps=None,
        attacks=("noise", "auto", "certified"),
        norm=2,
        n_iter=None,
        step_size=None,
        n_restarts=1,
        n_targets=DEFAULT_N_TARGETS,
        n_queries=DEFAULT_N_QUERIES,
        clip=None,
        random_state=0,
        sample_weight=None,
        features=None,
        method="auto",
        ax=None,
        name=None,
        curve_kwargs=None,
    ):
        """Compute robustness curves of a fitted estimator and plot them.

        Classifiers are scored by :func:`robust_accuracy` (and
        :func:`certified_accuracy` for ``"certified"``), regressors by
        :func:`robust_r2` (no ``"certified"`` curve).

        Parameters
        ----------
        estimator : fitted classifier or regressor
            The model to attack and certify.
        X : array-like, DataFrame or sparse matrix of shape (n_samples, n_features)
            Inputs in raw units, handed to the model as given.
        y : array-like of shape (n_samples,)
            True labels or targets.
        eps : array-like of shape (n_eps,), default=None
            Radii in raw input units. None: 11 values from 0 to twice
            :func:`default_eps` of ``X`` (the default radius is the middle
            one).
        attacks : tuple of str, default=("noise", "auto", "certified")
            Curves to draw: any ``attack`` of :func:`perturb` (``"auto"``,
            ``"apgd-ce"``, ``"apgd-dlr"``, ``"apgd-t"``, ``"square"``,
            ``"pgd"``, ``"fgsm"``, ``"noise"``) and ``"certified"``.
        {budget_doc}
        random_state : int, RandomState, Generator or None, default=0
            Seed of the attacks' random draws. See :func:`perturb`.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights of the scores.
        features : str, int, array-like of str, int or bool, default=None
            Columns perturbed and certified; the others are held fixed. See
            :func:`perturb`.
        method : {"auto", "lipschitz", "crown", "alpha-crown", "complete"}, \
                default="auto"
            The certificate of the ``"certified"`` curve (see
            :func:`certified_accuracy`); it honours ``clip``.
        ax : matplotlib Axes, default=None
            Axes to draw on; None: a new figure.
        name : str, default=None
            Model name for the legend; defaults to the estimator's class name.
        curve_kwargs : dict, default=None
            Passed to every ``ax.plot`` call.

        Returns
        -------
        display : RobustnessCurveDisplay
        """
        _check_matplotlib(f"{cls.__name__}.from_estimator")
        method = check_method(method)
        if isinstance(attacks, str) or len(attacks) == 0:
            raise ValueError(
                f"attacks must be a non-empty tuple of names; got {attacks!r}."
            )
        classifier = is_classifier(estimator)
        for attack in attacks:
            if attack == "certified":
                if not classifier:
                    raise ValueError(
                        "attacks: 'certified' curves exist for classifiers only."
                    )
            else:
                check_attack(attack)
        # One validated parameter set; each curve changes only its attack.
        params = AttackParams.from_arguments({**locals(), "attack": "auto"})
        norm = params.norm
        needs_network = any(a not in BLACK_BOX for a in attacks)
        inputs = Inputs(estimator, X, features, gradients=needs_network)
        X = inputs.X
        eps = (
            _default_eps_grid(inputs.Xs, norm)
            if eps is None
            else check_eps(eps, allow_array=True)
        )
        eps = np.atleast_1d(np.asarray(eps, dtype=float))
        kwargs = dict(params.as_dict(), sample_weight=sample_weight)
        del kwargs["attack"]
        scores = {}
        for attack in attacks:
            if attack == "certified":
                scores[attack] = certified_accuracy(
                    estimator,
                    X,
                    y,
                    eps=eps,
                    norm=norm,
                    method=method,
                    clip=clip,
                    sample_weight=sample_weight,
                    features=features,
                    random_state=random_state,
                )
            elif classifier:
                scores[attack] = robust_accuracy(
                    estimator, X, y, eps=eps, attack=attack, **kwargs
                )
            else:
                scores[attack] = robust_r2(
                    estimator, X, y, eps=eps, attack=attack, **kwargs
                )
        display = cls(
            eps=eps,
            scores=scores,
            norm=norm,
            score_name="Accuracy" if classifier else "R2",
            name=type(estimator).__name__ if name is None else name,
        )
        return display.plot(ax=ax, curve_kwargs=curve_kwargs)


fill_doc(RobustnessCurveDisplay.from_estimator.__func__, budget_doc=BUDGET_DOC)
