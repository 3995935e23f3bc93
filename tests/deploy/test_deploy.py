"""The deployment files say what the app does: the serve command, port, kernel cap, culling, groups and names."""

from __future__ import annotations

import copy
import inspect
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from ipt_course import serve
from ipt_course.hosted import HUB_POOL_SIZE, HUB_SERVE_COMMAND, SERVER_MB
from ipt_course.hubdemo import FORMGRADER_SERVICE, USERS
from ipt_course.identity.hub import SUPERVISOR_GROUPS, TRAINER_GROUPS
from ipt_course.progress.database import check_url
from tests.conftest import REPO

DEPLOY = REPO / "deploy"
UNITS = {"K": 1000**1, "M": 1000**2, "G": 1000**3, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}


def megabytes(quantity: str) -> float:
    """A Kubernetes memory quantity (320M, 1Gi) in MB."""
    found = re.fullmatch(r"(\d+(?:\.\d+)?)([KMG]i?)", str(quantity))
    assert found, f"not a memory quantity: {quantity!r}"
    return float(found.group(1)) * UNITS[found.group(2)] / 1000**2


def kernel_cull_seconds() -> int:
    """The idle-kernel cull the server itself sets (serve.make_app): the pods' culler must not undercut it."""
    found = re.search(r"cull_idle_timeout=(\d+)", inspect.getsource(serve.make_app))
    assert found, "serve.make_app no longer sets MappingKernelManager.cull_idle_timeout"
    return int(found.group(1))


def nbgrader_course_id() -> str:
    found = re.search(r'course_id\s*=\s*"([^"]+)"', (REPO / "grading" / "nbgrader_config.py").read_text())
    assert found, "grading/nbgrader_config.py names no course_id"
    return found.group(1)


def dockerfile() -> dict[str, Any]:
    """CMD, EXPOSE and ENV of the single-user image."""
    text = (DEPLOY / "Dockerfile").read_text()
    cmd = re.search(r"^CMD\s+(\[.*\])\s*$", text, re.M)
    expose = re.search(r"^EXPOSE\s+(\d+)\s*$", text, re.M)
    env = dict(re.findall(r"(IPT_[A-Z_]+)=(\S+)", text))
    return {
        "cmd": yaml.safe_load(cmd.group(1)) if cmd else None,
        "port": int(expose.group(1)) if expose else None,
        "env": env,
    }


def z2jh() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "z2jh" / "config.yaml").read_text())
    return loaded


def problems(config: dict[str, Any], image: dict[str, Any]) -> list[str]:
    """Where the Zero to JupyterHub values or the image disagree with the app's own settings."""
    found = []
    single = config["singleuser"]
    if single.get("cmd") != list(HUB_SERVE_COMMAND):
        found.append(f"singleuser.cmd {single.get('cmd')} is not {list(HUB_SERVE_COMMAND)}")
    if image["cmd"] != list(HUB_SERVE_COMMAND):
        found.append(f"the image's CMD {image['cmd']} is not {list(HUB_SERVE_COMMAND)}")
    port = config["hub"]["config"].get("KubeSpawner", {}).get("port")
    if port != image["port"]:
        found.append(f"KubeSpawner.port {port} is not the port the image exposes ({image['port']})")
    if image["env"].get("IPT_IDENTITY") != "hub" or image["env"].get("IPT_SUBMISSIONS") != "store":
        found.append("the image must set IPT_IDENTITY=hub and IPT_SUBMISSIONS=store")
    home = single.get("extraEnv", {}).get("IPT_COURSE_HOME")
    if home != image["env"].get("IPT_COURSE_HOME"):
        found.append(f"IPT_COURSE_HOME {home} is not where the image built the course")
    # Memory from the measured figures: her server, her kernel and the one kept ready; the limit holds the cap.
    guarantee = megabytes(single["memory"]["guarantee"])
    needed = SERVER_MB + (HUB_POOL_SIZE + 1) * serve.KERNEL_MB
    if guarantee < needed:
        found.append(f"memory guarantee {guarantee:.0f} MB is below one trainee's measured {needed} MB")
    limit = megabytes(single["memory"]["limit"])
    capped = SERVER_MB + serve.default_max_kernels(1) * serve.KERNEL_MB
    if limit < capped:
        found.append(f"memory limit {limit:.0f} MB cannot hold the kernel cap ({capped} MB)")
    cull = config.get("cull", {})
    if not cull.get("enabled"):
        found.append("the hub's culler is off: idle pods would hold their memory all week")
    elif int(cull.get("timeout", 0)) <= kernel_cull_seconds() + serve.RELOAD_GRACE_SECONDS:
        found.append(f"cull.timeout {cull.get('timeout')} s stops pods before their own kernels are culled")
    for name in ("IPT_DATABASE_URL",):
        url = single.get("extraEnv", {}).get(name, "")
        try:
            check_url(url)
        except ValueError as err:
            found.append(f"singleuser.extraEnv.{name}: {err}")
        if not str(url).startswith("postgresql"):
            found.append(f"singleuser.extraEnv.{name} is not PostgreSQL: pods on many nodes share one store")
    groups = set(config["hub"]["config"]["JupyterHub"].get("load_groups", {}))
    if not {*TRAINER_GROUPS, *SUPERVISOR_GROUPS} <= groups:
        found.append(f"load_groups {sorted(groups)} lacks the role groups {TRAINER_GROUPS + SUPERVISOR_GROUPS}")
    services = config["hub"].get("services", {})
    if nbgrader_course_id() not in services:
        found.append(f"no hub service named after nbgrader's course id {nbgrader_course_id()!r} (the formgrader)")
    scopes = [s for role in config["hub"].get("loadRoles", {}).values() for s in role.get("scopes", [])]
    if f"access:services!service={nbgrader_course_id()}" not in scopes:
        found.append("no role gives the trainers access to the formgrader service")
    if config["hub"].get("db", {}).get("type") != "postgres":
        found.append("the hub's own database is not PostgreSQL")
    return found


def test_z2jh_values_and_image_agree_with_the_app() -> None:
    """Do config.yaml and the Dockerfile use the app's serve command, port, memory figures, culling and names?"""
    assert problems(z2jh(), dockerfile()) == []


@pytest.mark.parametrize(
    ("plant", "expected"),
    [
        (lambda c, i: c["singleuser"].update(cmd=["jupyterhub-singleuser"]), "singleuser.cmd"),
        (lambda c, i: i.update(port=8000), "KubeSpawner.port"),
        (lambda c, i: c["singleuser"]["memory"].update(guarantee="64M"), "memory guarantee"),
        (lambda c, i: c["singleuser"]["memory"].update(limit="200M"), "memory limit"),
        (lambda c, i: c["cull"].update(timeout=120), "cull.timeout"),
        (lambda c, i: c["singleuser"]["extraEnv"].update(IPT_DATABASE_URL="sqlite:///x.db"), "not PostgreSQL"),
        (lambda c, i: c["hub"]["config"]["JupyterHub"]["load_groups"].pop("trainers"), "role groups"),
        (lambda c, i: c["hub"]["services"].clear(), "formgrader"),
    ],
)
def test_a_planted_disagreement_is_caught(plant: Any, expected: str) -> None:
    """Would a wrong command, port, memory figure, cull time, store, group or service name be caught?"""
    config, image = copy.deepcopy(z2jh()), dockerfile()
    plant(config, image)
    assert any(expected in p for p in problems(config, image)), problems(config, image)


def local_hub_config(tmp_path: Path) -> Any:
    """deploy/hub/jupyterhub_config.py as JupyterHub loads it, with the variables `make hub` sets."""
    from traitlets.config import Config

    env = {
        "IPT_HUB_DIR": str(tmp_path),
        "IPT_COURSE_HOME": str(tmp_path / "course"),
        "IPT_HUB_USERS": ",".join(f"{u}:{g}" for u, g in USERS.items()),
        "IPT_HUB_PORT": "8000",
        "IPT_HUB_HUB_PORT": "8081",
        "IPT_HUB_API_PORT": "8001",
        "IPT_HUB_FORMGRADER_PORT": "9999",
        "IPT_HUB_PROXY": "configurable-http-proxy",
        "IPT_HUB_DB_URL": "postgresql+psycopg://ipt@127.0.0.1:5432/jupyterhub",
        "IPT_HUB_PASSWORD": "a-long-password",
        "IPT_DATABASE_URL": "postgresql+psycopg://ipt@127.0.0.1:5432/ipt_course",
    }
    config = Config()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        source = (DEPLOY / "hub" / "jupyterhub_config.py").read_text()
        exec(compile(source, "jupyterhub_config.py", "exec"), {"get_config": lambda: config})
    return config


def test_the_local_hub_runs_the_same_course_server(tmp_path: Path) -> None:
    """Does `make hub` spawn the same serve command, with the store's URL, groups and formgrader as on Kubernetes?"""
    config = local_hub_config(tmp_path)
    assert list(config.Spawner.cmd)[1:] == list(HUB_SERVE_COMMAND)[1:]
    assert config.Spawner.environment["IPT_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert config.JupyterHub.db_url.startswith("postgresql+psycopg://")
    assert {s["name"] for s in config.JupyterHub.services} == {FORMGRADER_SERVICE} == {nbgrader_course_id()}
    groups = config.JupyterHub.load_groups
    assert set(groups["trainers"]["users"]) == {u for u, g in USERS.items() if g == "trainers"}
    assert set(groups["supervisors"]["users"]) == {u for u, g in USERS.items() if g == "supervisors"}
    roles = {r["name"]: r for r in config.JupyterHub.load_roles}
    assert roles["formgrader"]["groups"] == list(TRAINER_GROUPS)
    assert config.JupyterHub.authenticator_class == "shared-password"  # jupyterhub's own, not a home-made one
