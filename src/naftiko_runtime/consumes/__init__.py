"""Consumed APIs: compiled upstream operations."""
