"""The viewer of a page: who she is and what she may do, handed by the server to the page's kernel."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Literal, cast, get_args

Role = Literal["trainee", "trainer", "supervisor"]
ROLES: tuple[Role, ...] = get_args(Role)
ENV_VIEWER = "IPT_VIEWER"
"""The kernel environment variable that names the viewer (JSON), outside `ipt-course serve` (tests, plain Voila)."""
ENV_KERNEL_SECRET = "IPT_KERNEL_SECRET"
"""A secret only the server and the kernels it starts share (random per run); it signs the viewer it hands over."""
VIEWER_HEADER = "X-Ipt-Viewer"
"""The request header the server sets to the signed viewer (any copy a browser sent is dropped first)."""
ENV_SIGNED_VIEWER = "HTTP_" + VIEWER_HEADER.upper().replace("-", "_")
"""Where Voila puts that header in the kernel's environment (at start, or at hand-over for a preheated kernel)."""


def _mac(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


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

    def signed(self, secret: str) -> str:
        """The viewer as the server hands it to a kernel: JSON in base64, a dot, and its HMAC under the secret."""
        payload = base64.urlsafe_b64encode(json.dumps(asdict(self), sort_keys=True).encode()).decode()
        return f"{payload}.{_mac(secret, payload)}"

    @classmethod
    def from_signed(cls, token: str, secret: str) -> Viewer | None:
        """The viewer in a signed token, or None when it was not signed with this secret (forged or damaged)."""
        payload, _, mac = token.partition(".")
        if not secret or not payload or not hmac.compare_digest(mac, _mac(secret, payload)):
            return None
        try:
            return cls._from_json(base64.urlsafe_b64decode(payload.encode()).decode())
        except ValueError:
            return None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Viewer | None:
        """The viewer the server handed this kernel, or None.

        Under `ipt-course serve` (the kernel knows the server's secret) only a viewer signed with that secret
        counts; elsewhere (tests, plain Voila) the plain IPT_VIEWER variable names her.
        """
        env = os.environ if environ is None else environ
        secret = env.get(ENV_KERNEL_SECRET)
        if secret:
            return cls.from_signed(env.get(ENV_SIGNED_VIEWER, ""), secret)
        return cls._from_json(env.get(ENV_VIEWER, ""))

    @classmethod
    def _from_json(cls, raw: str) -> Viewer | None:
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
