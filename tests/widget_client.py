"""A page's kernel driven as the browser drives it, over its websocket: read widget states, press buttons."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

WIDGET_TARGET = "jupyter.widget"


class KernelPage:
    """One open page: its kernel's websocket, with the session's cookies (no browser, a few kB of memory)."""

    def __init__(self, base_ws: str, kernel_id: str, cookie: str, timeout: float = 120):
        from websockets.sync.client import connect

        self.session = uuid.uuid4().hex
        self.timeout = timeout
        url = f"{base_ws}/api/kernels/{kernel_id}/channels?session_id={self.session}"
        # Entered as a context manager (left in close), as this websockets version wants.
        self.ws = connect(url, additional_headers={"Cookie": cookie}, open_timeout=timeout, max_size=2**26).__enter__()
        self.control: str | None = None

    def close(self) -> None:
        self.ws.close()

    def _send(self, msg_type: str, content: dict[str, Any], metadata: dict[str, Any] | None = None) -> str:
        msg_id = uuid.uuid4().hex
        header = {
            "msg_id": msg_id,
            "msg_type": msg_type,
            "session": self.session,
            "username": "",
            "version": "5.3",
            "date": "",
        }
        self.ws.send(
            json.dumps(
                {
                    "header": header,
                    "parent_header": {},
                    "metadata": metadata or {},
                    "content": content,
                    "channel": "shell",
                }
            )
        )
        return msg_id

    def _replies(self, msg_id: str, until: str, deadline: float) -> list[dict[str, Any]]:
        """Every message answering msg_id, until one of type `until` (or the kernel going idle for it)."""
        found = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {until} from the kernel")
            frame = self.ws.recv(timeout=left)
            if isinstance(frame, bytes):  # a message with binary buffers: never one we wait for here
                continue
            msg = json.loads(frame)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            found.append(msg)
            kind = msg["header"]["msg_type"]
            idle = kind == "status" and msg["content"].get("execution_state") == "idle"
            if (until == "status" and idle) or (until != "status" and kind == until):
                return found

    def kernel_info(self) -> None:
        msg_id = self._send("kernel_info_request", {})
        self._replies(msg_id, "kernel_info_reply", time.monotonic() + self.timeout)

    def widget_states(self) -> dict[str, dict[str, Any]]:
        """Every live widget's state, by model id, asked for as the page's widget manager does (ipywidgets 8)."""
        deadline = time.monotonic() + self.timeout
        if self.control is None:
            self.control = uuid.uuid4().hex
            msg_id = self._send(
                "comm_open",
                {"comm_id": self.control, "target_name": "jupyter.widget.control", "data": {}},
                metadata={"version": "1.0.0"},
            )
            self._replies(msg_id, "status", deadline)
        msg_id = self._send("comm_msg", {"comm_id": self.control, "data": {"method": "request_states"}})
        states: dict[str, dict[str, Any]] = {}
        for msg in self._replies(msg_id, "status", deadline):
            data = msg["content"].get("data", {})
            if msg["header"]["msg_type"] == "comm_msg" and data.get("method") == "update_states":
                for model_id, entry in data["states"].items():
                    states[model_id] = entry["state"]
        return states

    def buttons(self) -> dict[str, str]:
        """Button description -> comm id, for the buttons on the page now."""
        return {
            str(s.get("description", "")): comm_id
            for comm_id, s in self.widget_states().items()
            if s.get("_model_name") == "ButtonModel"
        }

    def press(self, description_part: str) -> None:
        """Press the first button whose description contains the text, and wait until the kernel has handled it."""
        found = [comm for text, comm in self.buttons().items() if description_part in text]
        if not found:
            raise LookupError(f"no button with {description_part!r}: {sorted(self.buttons())}")
        msg_id = self._send(
            "comm_msg", {"comm_id": found[0], "data": {"method": "custom", "content": {"event": "click"}}}
        )
        self._replies(msg_id, "status", time.monotonic() + self.timeout)

    def texts(self) -> str:
        """All text on the page's HTML widgets now."""
        return "\n".join(
            str(s.get("value", "")) for s in self.widget_states().values() if s.get("_model_name") == "HTMLModel"
        )
