"""Writes of the finance app: invoice holds (holds.py), per-order reconciliation
(reconciliation.py), ERP snapshot runs (snapshots.py)."""
