"""What the signing routers share: the use cases' dependencies, from the running service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from signing.handlers import Deps
from signing.handlers.verification import ReportCache


def deps_of(request: Request) -> Deps:
    return request.app.state.runtime.extras["signing"]


def reports_of(request: Request) -> ReportCache:
    return request.app.state.runtime.extras["signing_reports"]


SigningDeps = Annotated[Deps, Depends(deps_of)]
Reports = Annotated[ReportCache, Depends(reports_of)]
