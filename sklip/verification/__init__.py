"""Per-sample verification of networks: sound bounds of specifications.

The engine bounds a *specification* ``g(x) = C f(x)`` (for classifiers the
margins ``f_c - f_j``, for regressors ``+f_o`` and ``-f_o``) from below over a
per-sample input domain, working on the attack space of
:class:`sklip._core.inputs.Inputs` (raw units):

- :mod:`~sklip.verification._domain`: :class:`Domain`, an Lp ball (L2 or
  Linf) of per-sample radius around each center, with fixed coordinates and
  an optional clip box, and the concretisation of linear bounds over it;
- :mod:`~sklip.verification._specs`: specification matrices ``C``
  (:func:`margin_specs`, :func:`output_specs`);
- :mod:`~sklip.verification._interval`: interval bound propagation (IBP);
- :mod:`~sklip.verification._relax`: linear relaxations of the activations
  (ReLU, tanh, logistic) between pre-activation bounds;
- :mod:`~sklip.verification._crown`: :func:`bound_specs`, backward linear
  bounds (CROWN) and their optimised form (alpha-CROWN, in
  :mod:`~sklip.verification._alpha`);
- :mod:`~sklip.verification._margin`: the global Lipschitz-margin
  certificate (radii in closed form; Linf through the containing L2 ball);
- :mod:`~sklip.verification._methods`: :data:`METHODS`, the registry of the
  certification methods the public API offers (``method=``);
- :mod:`~sklip.verification._certifier`: :class:`Certifier`, every method
  (and their per-sample union ``"auto"``) on one batch: verdicts at a radius,
  radii by bisection, certified output intervals.

The complete method takes the attack as a *falsifier* callable.

Every bound is sound: a lower bound is never above the true minimum of the
specification over the domain. A sample is certified when all its rows are
positive. The public entry points live in :mod:`sklip.robustness`; nothing
here imports from it.
"""
