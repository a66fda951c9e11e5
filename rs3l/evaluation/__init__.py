"""Downstream evaluation of a pre-trained backbone: heads, metrics, robustness, report.

Entry point: :func:`rs3l.evaluation.evaluate.evaluate`. Submodules import torch,
matplotlib and scikit-learn only where they are used.
"""
