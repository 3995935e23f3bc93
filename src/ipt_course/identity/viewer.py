"""The viewer of a page: who she is and what she may do, handed by the server to the page's kernel."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Literal, cast, get_args

Role = Literal["trainee", "trainer", "supervisor"]
ROLES: tuple[Role, ...] = get_args(Role)
ENV_VIEWER = "IPT_VIEWER"
"""The kernel environment variable the server sets to the viewer (JSON). Never a token: only who is viewing."""


@dataclass(frozen=True)
class Viewer:
    """The person a page is shown to, as the identity provider resolved her from the request."""

    trainee_id: str
    """The id answers are saved under (the roster's trainee_id, or the hub's user name)."""
    role: Role
    """trainee, trainer or supervisor."""
    name: str
    """The name shown on the page."""
    language: str | None = None
    """The page language (a BCP 47 tag such as "hi"), when the provider knows it."""

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"viewer {self.trainee_id!r}: role {self.role!r} is not one of {', '.join(ROLES)}")
        if not self.trainee_id:
            raise ValueError("a viewer needs a trainee_id")

    def to_env(self) -> dict[str, str]:
        """The kernel environment that tells a page kernel who is viewing."""
        return {ENV_VIEWER: json.dumps(asdict(self), sort_keys=True)}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Viewer | None:
        """The viewer the server put in this kernel's environment, or None (not started by `ipt-course serve`)."""
        raw = (os.environ if environ is None else environ).get(ENV_VIEWER)
        if not raw:
            return None
        try:
            data = json.loads(raw)
            return cls(
                trainee_id=str(data["trainee_id"]),
                role=cast(Role, data["role"]),
                name=str(data["name"]),
                language=None if data.get("language") is None else str(data["language"]),
            )
        except (ValueError, KeyError, TypeError):
            return None
