"""Routes of the delegate pages: `/q/{token}` (scan), `/q/{token}/file`, `/d/{token}` (home) and
its live stream `/d/{token}/events`. No login: the token in the URL is the key, and the
delegate's cookie (set by the home page) opens documents published to delegates only.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sse_starlette.sse import EventSourceResponse

from congress.db import agenda_items, congresses, delegates
from congress.domain.delegate_secrets import looks_like_secret, secret_hash
from congress.domain.publications import content_disposition
from congress.live import LiveFeed
from congress.pages.scan import ScanCache, published_in, visible
from congress.pages.templating import language, render
from congress.views import ViewCounter
from runtime import i18n
from runtime.errors import TooManyRequests
from runtime.ratelimit import failed_token_lookup

router = APIRouter(include_in_schema=False)

DELEGATE_COOKIE = "delegate"
DELEGATE_COOKIE_SECONDS = 60 * 60 * 24 * 60
LANG_COOKIE_SECONDS = 60 * 60 * 24 * 365
HTML = "text/html; charset=utf-8"
PAGE_HEADERS = {"Cache-Control": "no-cache", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}


def _extras(request: Request) -> dict[str, Any]:
    return request.app.state.runtime.extras


def _page(request: Request, body: str | bytes, status: int = 200, lang: str | None = None,
          headers: dict[str, str] | None = None) -> HTMLResponse:
    response = HTMLResponse(body, status_code=status, headers={**PAGE_HEADERS, **(headers or {})})
    chosen = request.query_params.get("lang")
    if chosen in i18n.LANGUAGES:
        response.set_cookie("lang", chosen, max_age=LANG_COOKIE_SECONDS, samesite="lax", httponly=True)
    return response


def _message(request: Request, status: int, heading: str, text: str, context_line: str = "",
             headers: dict[str, str] | None = None) -> HTMLResponse:
    lang = language(request)
    body = render("message.html", lang, heading=i18n.gettext(heading, lang), text=i18n.gettext(text, lang),
                  context_line=context_line)
    return _page(request, body, status, headers=headers)


async def _unknown(request: Request, kind: str) -> HTMLResponse:
    """A token that matches nothing: counted against the client (guessing is slowed down)."""
    try:
        await failed_token_lookup(request, kind)
    except TooManyRequests as exc:
        return _message(request, 429, "Too many attempts", "Too many attempts. Please wait a moment and try again.",
                        headers=exc.headers)
    return _message(request, 404, "Link not found",
                    "This link does not lead to any document. Check that you scanned the whole code, or ask the "
                    "congress secretariat.")


def _revoked(request: Request, congress_title: str) -> HTMLResponse:
    return _message(request, 410, "This document has been withdrawn",
                    "The organisers have withdrawn this document. Ask the congress secretariat for the current one.",
                    context_line=congress_title)


def _needs_personal_link(request: Request, congress_title: str) -> HTMLResponse:
    return _message(request, 403, "For delegates only",
                    "This document is for the delegates of the congress. First open your personal link (the QR code "
                    "on the slip you were given), then scan this code again.", context_line=congress_title)


async def scan_page(request: Request) -> Response:
    """The page behind a QR code: the hottest path of the system (a poster scanned by a room at
    once). A plain Starlette route: it takes nothing but the request, so FastAPI's parameter
    solving (a fifth of this page's cost when served from the cache) is skipped."""
    token: str = request.path_params["token"]
    extras = _extras(request)
    cache: ScanCache = extras["scan_cache"]
    entry = await cache.entry(token)
    if entry is None:
        return await _unknown(request, "q")
    if entry.state != "active":
        return _revoked(request, entry.congress_title)
    viewer = await cache.delegate(request.cookies.get(DELEGATE_COOKIE))
    is_delegate = viewer is not None and viewer.congress_id == entry.congress_id
    if entry.audience == "delegates" and not is_delegate:
        return _needs_personal_link(request, entry.congress_title)
    views: ViewCounter = extras["views"]
    views.record(entry.publication_id, entry.congress_id, entry.document_id, viewer.delegate_id if is_delegate else None)
    lang = language(request)
    page = (lang, is_delegate)
    body = entry.pages.get(page)
    if body is None:
        others = visible(await cache.others(entry.congress_id), is_delegate, except_token=token)
        body = entry.pages.get(page)  # a concurrent scan of the same cold token may have rendered it meanwhile
        if body is None:
            page_url = f"{request.app.state.runtime.settings.public_base_url}/q/{token}"
            body = entry.pages[page] = render("scan.html", lang, doc=entry, token=token, others=others,
                                              page_url=page_url).encode()
    return _page(request, body)


router.add_route("/q/{token}", scan_page, methods=["GET"], include_in_schema=False)


@router.get("/q/{token}/file")
async def scan_file(request: Request, token: str) -> Response:
    extras = _extras(request)
    cache: ScanCache = extras["scan_cache"]
    entry = await cache.entry(token)
    if entry is None:
        return await _unknown(request, "q")
    if entry.state != "active":
        return _revoked(request, entry.congress_title)
    if entry.audience == "delegates":
        viewer = await cache.delegate(request.cookies.get(DELEGATE_COOKIE))
        if viewer is None or viewer.congress_id != entry.congress_id:
            return _needs_personal_link(request, entry.congress_title)
    # no-cache + ETag: the browser revalidates every time, so a revoked token stops at once,
    # while unchanged bytes cost a 304.
    headers = {
        "ETag": entry.etag,
        "Cache-Control": "no-cache",
        "Content-Type": entry.content_type,
        "Content-Disposition": content_disposition(entry.title, entry.content_type),
    }
    if entry.etag in (request.headers.get("if-none-match") or ""):
        return Response(status_code=304, headers={k: headers[k] for k in ("ETag", "Cache-Control")})
    await extras["blobs"].get_to_cache(entry.sha256)
    return Response(status_code=200, headers={**headers, "X-Accel-Redirect": f"/_blobs/{entry.sha256}"})


# --------------------------------------------------------------------------- delegate home


async def _delegate_by_token(request: Request, token: str) -> Any:
    if not looks_like_secret(token):
        return None
    runtime = request.app.state.runtime
    async with runtime.db.session() as session:
        return (await session.execute(
            select(delegates.c.id, delegates.c.full_name, delegates.c.unit, delegates.c.checked_in_at,
                   delegates.c.congress_id).where(delegates.c.link_hash == secret_hash(token))
        )).first()


async def documents_by_agenda(session: Any, congress_id: str, is_delegate: bool = True) -> dict[str, Any]:
    items = (await session.execute(select(agenda_items.c.id, agenda_items.c.title).where(
        agenda_items.c.congress_id == congress_id).order_by(agenda_items.c.position))).all()
    published = visible(await published_in(session, congress_id), is_delegate)
    agenda = [{"title": item.title, "documents": [d for d in published if d.agenda_item_id == item.id]} for item in items]
    return {"agenda": agenda, "loose": [d for d in published if d.agenda_item_id is None]}


class Fragments:
    """The documents list of a congress, rendered once per change and language for every listener."""

    def __init__(self, runtime: Any, live: LiveFeed) -> None:
        self.runtime = runtime
        self.live = live
        self._cache: dict[tuple[str, str], tuple[int, asyncio.Future[str]]] = {}

    async def get(self, congress_id: str, lang: str) -> str:
        generation = self.live.generation(congress_id)
        cached = self._cache.get((congress_id, lang))
        if cached is not None and cached[0] == generation:
            return await asyncio.shield(cached[1])
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._cache[(congress_id, lang)] = (generation, future)
        try:
            async with self.runtime.db.session() as session:
                context = await documents_by_agenda(session, congress_id)
            future.set_result(render("_documents.html", lang, **context))
        except BaseException as exc:
            self._cache.pop((congress_id, lang), None)
            future.set_exception(exc)
            future.exception()
            raise
        return future.result()


@router.get("/d/{token}", response_class=HTMLResponse)
async def delegate_home(request: Request, token: str) -> Response:
    delegate = await _delegate_by_token(request, token)
    if delegate is None:
        return await _unknown(request, "d")
    runtime = request.app.state.runtime
    lang = language(request)
    async with runtime.db.session() as session:
        congress = (await session.execute(select(congresses).where(congresses.c.id == delegate.congress_id))).first()
        context = await documents_by_agenda(session, delegate.congress_id)
    body = render("delegate_home.html", lang, congress=congress, delegate=delegate, **context)
    response = _page(request, body)
    response.set_cookie(DELEGATE_COOKIE, token, max_age=DELEGATE_COOKIE_SECONDS, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https")
    return response


@router.get("/d/{token}/events")
async def delegate_events(request: Request, token: str) -> Response:
    delegate = await _delegate_by_token(request, token)
    if delegate is None:
        return await _unknown(request, "d")
    extras = _extras(request)
    live: LiveFeed = extras["live"]
    fragments: Fragments = extras["fragments"]
    lang = language(request)
    congress_id = delegate.congress_id
    queue = live.listen(congress_id)

    async def stream():  # type: ignore[no-untyped-def]
        try:
            yield {"event": "ready", "data": ""}
            while True:
                await queue.get()
                yield {"event": "documents", "data": await fragments.get(congress_id, lang)}
        finally:
            live.leave(congress_id, queue)

    return EventSourceResponse(stream(), ping=15, headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
