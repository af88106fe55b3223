"""Jinja2 for the delegate pages: autoescaped HTML, gettext strings, language choice."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request

from runtime import i18n

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
LOCAL_TIME = ZoneInfo("Asia/Ho_Chi_Minh")

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def local_time(moment: datetime | None, pattern: str = "%H:%M %d/%m/%Y") -> str:
    return moment.astimezone(LOCAL_TIME).strftime(pattern) if moment else ""


environment.filters["local_time"] = local_time


def language(request: Request) -> str:
    """`?lang=` (the visible switch) wins, then the `lang` cookie, then Accept-Language."""
    chosen = request.query_params.get("lang") or request.cookies.get("lang")
    return i18n.negotiate(request.headers.get("accept-language"), chosen)


def render(template: str, lang: str, **context: Any) -> str:
    def _(message: str, **params: object) -> str:
        return i18n.gettext(message, lang, **params)

    return environment.get_template(template).render(_=_, lang=lang, **context)
