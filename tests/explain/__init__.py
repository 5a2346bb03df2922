"""Explanations of rankings: feature contributions and the rules that fired."""
