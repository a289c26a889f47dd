"""Parameter and attribute documentation shared by both estimators.

The ``penalty`` entry lists the registry ``PENALTIES`` (with each class's
``description``), so a new penalty documents itself.
"""

from ._objective import PENALTIES

PENALTY_PARAGRAPH = """\
The penalty controls the network's Lipschitz constant.  For a ReLU network,
``||f(x1) - f(x2)|| <= prod_l ||W_l||_2 * ||x1 - x2||``, so shrinking the
layers' spectral norms bounds how much a small input change can move the
output.  With ``penalty="spectral"`` (spectral norm regularisation, Yoshida &
Miyato, 2017) the objective is::

    loss + 0.5 * alpha * sum_l sigma_max(W_l) ** 2 / s

where ``s`` is the sample-weight sum of the current mini-batch (the whole
training set for lbfgs), exactly scikit-learn's scaling of its L2 term.  The
top singular pair of each layer starts exact (from an SVD) at every fit and
every epoch, and is tracked by power iteration between updates
(``n_power_iterations`` steps per update; exact under lbfgs so that the
objective is deterministic), so the recorded loss is the true objective and
the stopping rule never reacts to an estimate that is still converging.
``penalty="frobenius"`` is scikit-learn's L2 weight decay
``0.5 * alpha * sum_l ||W_l||_F ** 2 / s``, a looser surrogate since
``||W||_2 <= ||W||_F``; it reproduces scikit-learn's MLP for the same
``alpha`` and ``random_state``.  Intercepts are not penalised.

**Units.** The penalty acts on the network as the estimator sees its inputs.
Inside :class:`sklip.pipeline.Pipeline`, the estimator is handed the affine
map ``z = x @ A + c`` of the preprocessing and penalises the first layer as
seen from the raw inputs, ``A W_1`` (``sigma_max(A W_1)``, ``||A W_1||_F``):
the same function that :func:`sklip.lipschitz_bound`, the certificates and
the attacks measure. Inside a plain scikit-learn Pipeline it penalises in
model units (after preprocessing); see ``input_map_``."""

PARAMETERS = """\
hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
    The ith element is the number of neurons in the ith hidden layer.

activation : {'identity', 'logistic', 'tanh', 'relu'}, default='relu'
    Activation function for the hidden layers.

solver : {'lbfgs', 'sgd', 'adam'}, default='adam'
    The solver for weight optimization: quasi-Newton 'lbfgs' (full batch,
    preserves float32 input), stochastic gradient descent 'sgd', or 'adam'.

alpha : float, default=0.0001
    Strength lambda of the penalty, divided by the sample-weight sum of the
    mini-batch as in scikit-learn. Ignored when ``penalty="none"``.

penalty : {PENALTY_CHOICES}, default='spectral'
    Weight penalty:

PENALTY_LIST

n_power_iterations : int, default=1
    Power-iteration steps per update used to estimate each layer's top
    singular pair for ``penalty="spectral"`` with the stochastic solvers.

batch_size : int or 'auto', default='auto'
    Mini-batch size for the stochastic solvers; 'auto' is
    ``min(200, n_samples)``.

learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
    Learning rate schedule for ``solver='sgd'``.

learning_rate_init : float, default=0.001
    Initial learning rate of 'sgd' and 'adam'.

power_t : float, default=0.5
    Exponent of the 'invscaling' schedule.

max_iter : int, default=200
    Maximum number of epochs (stochastic solvers) or iterations (lbfgs).

shuffle : bool, default=True
    Whether to shuffle samples in each epoch (stochastic solvers).

random_state : int, RandomState instance or None, default=None
    Seeds weight initialization, shuffling and the early-stopping split.
    Pass an int for reproducible fits.

tol : float, default=1e-4
    Tolerance on the loss or validation score improvement (stochastic
    solvers), or the projected-gradient tolerance of lbfgs.

verbose : bool, default=False
    Whether to print progress: one line per epoch (per iteration for lbfgs)
    with the loss, its penalty term and, with early stopping, the validation
    score.

warm_start : bool, default=False
    Reuse the previous solution as the start, with the optimizer's state
    (moments, step count) and the power-iteration vectors: fitting 5 epochs
    and then 5 more with ``shuffle=False`` equals fitting 10.

momentum : float, default=0.9
    Momentum for 'sgd'.

nesterovs_momentum : bool, default=True
    Whether to use Nesterov's momentum with 'sgd'.

early_stopping : bool, default=False
    Hold out ``validation_fraction`` of the training data and stop when the
    validation score stalls. The split is stratified for binary and multiclass
    targets whenever every class can appear on both sides.

validation_fraction : float, default=0.1
    Fraction of training data held out for early stopping.

beta_1 : float, default=0.9
    Decay rate of Adam's first moment estimates.

beta_2 : float, default=0.999
    Decay rate of Adam's second moment estimates.

epsilon : float, default=1e-8
    Numerical stability term of Adam.

n_iter_no_change : int, default=10
    Number of epochs without ``tol`` improvement before stopping.

max_fun : int, default=15000
    Maximum number of loss evaluations for lbfgs.

lipschitz_margin : float, default=0.0
    Radius ``eps`` (L2, raw input units) to certify during training
    (Lipschitz-margin training, Tsuzuku et al., 2018); 0 disables it. The
    loss is computed on outputs moved to their worst case allowed by the
    current Lipschitz bound ``L_hat = c^(m-1) prod_l sigma_l`` (the tracked
    spectral norms of the raw-input map, ``c`` = 1/4 for logistic hidden
    units, else 1), and its gradient flows through ``L_hat`` too. Classifier:
    every rival logit is raised by ``eps`` times the Lipschitz constant of
    its difference with the target logit (see ``margin_kind``; for one
    logistic output, ``eps * L_hat``), so a training sample with a small loss
    has a certified radius above ``eps``. Regressor: each output is moved by
    ``eps * L_hat`` towards its larger loss, i.e. the model is trained on an
    upper bound of its worst loss within ``eps`` of every sample. Prediction
    is unchanged; the margin only shapes training. Works with every solver
    and penalty.

max_lipschitz : float or None, default=None
    Hard budget on the certified Lipschitz constant (L2, raw input units).
    Each layer is kept within an equal share ``tau = (max_lipschitz /
    c^(m-1)) ** (1/m)`` of the budget: the stochastic solvers rescale a layer
    by ``min(1, tau / sigma)`` after every update (and step in the unscaled
    weights, whose gradient is chained through the rescaling); lbfgs
    optimises the same reparametrisation ``W = V min(1, tau / sigma(V))``
    with exact norms. At the end of ``fit``/``partial_fit`` the norms are
    checked exactly (SVD), so that ``sklip.lipschitz_bound(model,
    method="spectral") <= max_lipschitz`` (of the whole
    :class:`sklip.pipeline.Pipeline` when the model is fitted inside one).
    None disables the budget."""

PARAMETERS = PARAMETERS.replace(
    "{PENALTY_CHOICES}", "{" + ", ".join(repr(name) for name in PENALTIES) + "}"
).replace(
    "PENALTY_LIST",
    "\n".join(
        f"    - ``{name!r}``: {penalty.description}"
        + (";" if k < len(PENALTIES) - 1 else ".")
        for k, (name, penalty) in enumerate(PENALTIES.items())
    ),
)

MARGIN_KIND = """\
margin_kind : {'pairwise', 'global'}, default='pairwise'
    Lipschitz constants of the margin for multiclass targets (binary and
    multilabel targets always use ``L_hat``). 'pairwise' (Globally-Robust
    Networks, Leino et al., 2021): ``K_yi = c^(m-1) prod_{l<m} sigma_l
    ||w_y - w_i||`` for the target ``y`` and each rival ``i``, and the
    cross-entropy gets one extra "bottom" logit ``max_{i != y} (f_i + eps
    K_yi)``. 'global' (Tsuzuku et al., 2018): every rival logit is raised by
    ``sqrt(2) * eps * L_hat``. Measured on digits (eps 0.5), 'pairwise'
    certifies more samples at equal clean accuracy."""

ATTRIBUTES = """\
loss_ : float
    The objective (data loss plus penalty) at the end of training.

best_loss_ : float or None
    Minimum of ``loss_curve_``; None when ``early_stopping=True``.

loss_curve_ : list of float
    Objective per epoch (stochastic solvers) or per iteration (lbfgs).

validation_scores_ : list of float or None
    Validation score per epoch when ``early_stopping=True``.

best_validation_score_ : float or None
    Best validation score when ``early_stopping=True``.

t_ : int
    Number of training samples seen by the solver.

coefs_ : list of ndarray of shape (n_in, n_out)
    Weight matrix of each layer.

intercepts_ : list of ndarray of shape (n_out,)
    Bias vector of each layer.

n_features_in_ : int
    Number of features seen during fit.

feature_names_in_ : ndarray of shape (`n_features_in_`,)
    Names of features seen during fit, when they are all strings.

n_iter_ : int
    Number of iterations the solver ran.

n_layers_ : int
    Number of layers, input and output included.

n_outputs_ : int
    Number of outputs.

out_activation_ : str
    Name of the output activation.

input_map_ : InputMap or None
    The affine map of the preprocessing that :class:`sklip.pipeline.Pipeline`
    handed over at fit time: the penalty acted in raw input units through it.
    None when the estimator was fitted outside sklip's Pipeline: the penalty
    acted in the units of the ``X`` given to ``fit``."""

REFERENCES = """\
Yoshida, Y. and Miyato, T. (2017). "Spectral Norm Regularization for
Improving the Generalizability of Deep Learning". arXiv:1705.10941.

Tsuzuku, Y., Sato, I. and Sugiyama, M. (2018). "Lipschitz-Margin Training:
Scalable Certification of Perturbation Invariance for Deep Neural Networks".
NeurIPS 2018.

Leino, K., Wang, Z. and Fredrikson, M. (2021). "Globally-Robust Neural
Networks". ICML 2021.

Kingma, D. and Ba, J. (2014). "Adam: A method for stochastic optimization".
arXiv:1412.6980."""
