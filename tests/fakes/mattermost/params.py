"""URL parameters the way web/params.go and Context.Require* read them."""

from __future__ import annotations

from .api import Ctx
from .errors import invalid_url_param
from .ids import is_valid_id

PER_PAGE_DEFAULT = 60
PER_PAGE_MAXIMUM = 200


def path_id(ctx: Ctx, name: str) -> str:
    """`Require*Id`: 26 alphanumerics, else 400 invalid_url_param."""
    value = ctx.request.match_info[name]
    if not is_valid_id(value):
        raise invalid_url_param(name)
    return value


def path_user_id(ctx: Ctx, name: str = "user_id") -> str:
    """`RequireUserId`: "me" stands for the session's user."""
    value = ctx.request.match_info[name]
    if value == "me" and ctx.user is not None:
        return ctx.user.id
    if not is_valid_id(value):
        raise invalid_url_param(name)
    return value


def _int(raw: str | None) -> int | None:
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def paging(ctx: Ctx) -> tuple[int, int]:
    """(page, per_page): bad or negative values fall back to the defaults, per_page is capped at 200."""
    page = _int(ctx.request.query.get("page"))
    per_page = _int(ctx.request.query.get("per_page"))
    page = page if page is not None and page >= 0 else 0
    if per_page is None or per_page < 0:
        per_page = PER_PAGE_DEFAULT
    return page, min(per_page, PER_PAGE_MAXIMUM)
