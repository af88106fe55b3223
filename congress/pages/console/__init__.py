"""The secretariat console: server-rendered pages under /console (Vietnamese first)."""

from datetime import datetime

from congress.pages.templating import environment

environment.filters.setdefault("fromiso", datetime.fromisoformat)
