"""Accuracy evaluation against ground-truth clips: joint correspondence and metrics (pure numpy)."""
