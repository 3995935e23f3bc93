"""What a preheated page kernel says to the server on its private request socket (kernel: ui/handover.py)."""

from __future__ import annotations

BUILDING = "building"
"""The page's HTML went out before its view was built: the kernel is building it now."""
BUILT = "built"
"""The view is built (or could not be): the browser may connect to the kernel."""
