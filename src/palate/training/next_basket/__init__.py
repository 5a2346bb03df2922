"""Next-basket recommendation, evaluated with the protocol of Li et al. (TOIS 2023).

Entry points live in :mod:`palate.training.next_basket.evaluate` (``evaluate_next_basket``,
``run`` and the ``python -m`` command); this package does not import them here so that
``python -m palate.training.next_basket.evaluate`` runs without a double import.
"""

from __future__ import annotations
