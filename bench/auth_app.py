"""A bench-only app: handlers served twice, with and without the staff token check
(runtime.auth's real TokenVerifier and CurrentUser, on StaffRoute routes as the services
declare them). Keys come from the environment.

Two handlers: a constant answer (the strictest comparison: nothing but the framework and the
check) and one row read through runtime.db.Database from SQLite, which is what a staff API
endpoint does at the least."""

from __future__ import annotations

import json
import os
from types import SimpleNamespace
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Column, MetaData, String, Table, insert, select

from runtime.auth import CurrentUser, StaffRoute, TokenVerifier
from runtime.db import Database, reliability_tables
from runtime.service import NO_OPENTELEMETRY

verifier = TokenVerifier()
verifier.set_keys(json.loads(os.environ["BENCH_AUTH_KEYS"]))
metadata = MetaData()
congresses = Table("congresses", metadata, Column("id", String(36), primary_key=True), Column("title", String(200)))
outbox, inbox = reliability_tables(metadata)
database = Database(f"sqlite:///{os.environ['BENCH_AUTH_DB']}", outbox, inbox)
CONGRESS_ID = "3f1c2a9e-0000-4000-8000-000000000001"


async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
    async with database.write_engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(insert(congresses).values(id=CONGRESS_ID, title="Đại hội đại biểu Phụ nữ phường"))
    yield
    await database.dispose()


app = FastAPI(lifespan=lifespan, telemetry=NO_OPENTELEMETRY)  # as the services
app.router.route_class = StaffRoute  # as the services' routers: CurrentUser resolved without Depends
app.state.runtime = SimpleNamespace(extras={"auth": verifier})


async def read_congress() -> dict[str, Any]:
    async with database.session() as session:
        row = (await session.execute(select(congresses).where(congresses.c.id == CONGRESS_ID))).one()
    return {"id": row.id, "title": row.title}


async def handler() -> dict[str, Any]:
    return {"congresses": ["Đại hội đại biểu Phụ nữ phường"], "ok": True}


@app.get("/plain")
async def plain() -> dict[str, Any]:
    return await handler()


@app.get("/authenticated")
async def authenticated(user: CurrentUser) -> dict[str, Any]:
    return await handler()


@app.get("/plain-db")
async def plain_db() -> dict[str, Any]:
    return await read_congress()


@app.get("/authenticated-db")
async def authenticated_db(user: CurrentUser) -> dict[str, Any]:
    return await read_congress()


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
