"""Consumed APIs: compiled upstream operations (``http``), where values land (``placement``), request
bodies (``body``), outbound credentials (``auth``), and the load-time support checks (``support``)."""

from .support import check_support, unsupported

__all__ = ["check_support", "unsupported"]
