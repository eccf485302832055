"""What the runtime reports about itself: the per-request context, the observer hook and the access log.

This package sits beside ``errors`` at the bottom of the layers: consumers, the engine and the exposers
report through it, and it imports nothing of theirs.
"""
