"""Consumed APIs: compiled upstream operations (``http``), where values land (``placement``), request
bodies (``body``) and outbound credentials (``auth``)."""
