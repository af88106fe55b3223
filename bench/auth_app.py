"""A bench-only app: one handler served twice, with and without the staff token check
(runtime.auth's real TokenVerifier and CurrentUser dependency). Keys come from the environment."""

from __future__ import annotations

import json
import os
from types import SimpleNamespace
from typing import Any

from fastapi import FastAPI

from runtime.auth import CurrentUser, TokenVerifier

verifier = TokenVerifier()
verifier.set_keys(json.loads(os.environ["BENCH_AUTH_KEYS"]))
app = FastAPI()
app.state.runtime = SimpleNamespace(extras={"auth": verifier})


async def handler() -> dict[str, Any]:
    return {"congresses": ["Đại hội đại biểu Phụ nữ phường"], "ok": True}


@app.get("/plain")
async def plain() -> dict[str, Any]:
    return await handler()


@app.get("/authenticated")
async def authenticated(user: CurrentUser) -> dict[str, Any]:
    return await handler()


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
