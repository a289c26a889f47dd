"""The numeric core that every other part of sklip stands on.

- :mod:`~sklip._core.network`: :class:`Network`, a chain of affine layers and
  elementwise activations with its forward pass, backward pass and
  input-gradient, the one numeric engine of training, bounds and attacks;
- :mod:`~sklip._core.input_map`: :class:`InputMap`, the affine map from the
  user's raw columns to the network's inputs, and its hand-over from a
  pipeline to the estimator it fits;
- :mod:`~sklip._core.steps` (which step types can be read) and
  :mod:`~sklip._core.step_maps` (the reader of each fitted step);
- :mod:`~sklip._core.view`: :class:`ModelView`, a fitted model as input map +
  final network (:func:`as_network`);
- :mod:`~sklip._core.inputs`: :class:`Inputs`, the user's ``X`` as attacks and
  certificates move it (features, clip box, the attack space).

Nothing here imports from the packages above it (``neural_network``,
``lipschitz``, ``verification``, ``robustness``, ``pipeline``, ``cli``).
"""
