"""Who is viewing a page: one `Viewer` per page view, worked out in one place by a pluggable identity provider."""

from __future__ import annotations

from ipt_course.identity.provider import IdentityProvider, Session
from ipt_course.identity.viewer import ENV_VIEWER, ROLES, Role, Viewer

__all__ = ["ENV_VIEWER", "ROLES", "IdentityProvider", "Role", "Session", "Viewer"]
