"""``cmltrack serve --demo``: the bundled example clinic and demo sign-in tokens."""

from __future__ import annotations

import json
import secrets
from importlib import resources
from typing import Any

from cmltrack.service import core
from cmltrack.service.auth import Principal, mint_token

DEMO_ROLES = ("clinician", "analyst", "admin")


def example_records() -> list[dict[str, Any]]:
    """The bundled example clinic (``examples/patients.json``) as JSON objects."""
    text = resources.files("cmltrack").joinpath("examples/patients.json").read_text("utf-8")
    data: list[dict[str, Any]] = json.loads(text)
    return data


def load_demo(svc: core.Services) -> dict[str, str]:
    """Store the example clinic (audited as the demo loader) and mint one token per role.

    Returns role -> token. Token names get a random suffix so that a demo restarted on the
    same database does not collide with its earlier tokens.
    """
    loader = Principal("demo-loader", "clinician")
    for record in example_records():
        core.put_patient(svc, loader, str(record["id"]), record, request_id="demo")
    suffix = secrets.token_hex(3)
    return {role: mint_token(svc.db, svc.settings, name=f"demo-{role}-{suffix}", role=role,
                             actor="demo-loader", request_id="demo")
            for role in DEMO_ROLES}


def sign_in_url(base_url: str, token: str) -> str:
    """The web pages' sign-in link for a token (the web layer serves ``/sign-in``)."""
    return f"{base_url}/sign-in?token={token}"
