"""Verification: sound bounds of a network's outputs over a ball of inputs.

Certificates of robustness in raw input units, from the global Lipschitz
margin (:mod:`._margin`), linear relaxations (interval bounds, CROWN,
alpha-CROWN) and complete verification (branch and bound, MILP). The methods
the public API offers are listed once, in :data:`._methods.METHODS`.

This floor stands on :mod:`sklip._core` and :mod:`sklip.lipschitz` and never
imports :mod:`sklip.robustness`: the complete method takes the attack as a
*falsifier* callable.
"""
