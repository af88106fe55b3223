"""What the congress, agenda, roster and publication routers share: the caller, the runtime,
and how delegates' secret links are made."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from congress.domain.delegate_secrets import derivation_key
from congress.handlers.delegates import SecretLinks
from runtime.auth import Principal, require_roles
from runtime.service import ServiceRuntime

Secretary = Annotated[Principal, Depends(require_roles("secretary"))]


def runtime_of(request: Request) -> ServiceRuntime:
    return request.app.state.runtime


def links_of(request: Request) -> SecretLinks:
    runtime = runtime_of(request)
    links = runtime.extras.get("secret_links")
    if links is None:
        settings = runtime.settings
        links = runtime.extras["secret_links"] = SecretLinks(derivation_key(settings.secret_key),
                                                             settings.public_base_url)
    return links


def base_url(request: Request) -> str:
    return runtime_of(request).settings.public_base_url


Runtime = Annotated[ServiceRuntime, Depends(runtime_of)]
Links = Annotated[SecretLinks, Depends(links_of)]
BaseUrl = Annotated[str, Depends(base_url)]
