"""Deterministic workflow classes, one process per module."""
