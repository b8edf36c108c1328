"""Group posts, the audit log and group instances.

The audit log endpoint is the one the bot polls hardest, so it follows the spec closely: the
"new pagination format" ``{"results", "totalCount", "hasNext"}``, newest first, with inclusive
``startDate``/``endDate`` and comma-separated ``actorIds``/``eventTypes``/``targetIds`` filters.
"""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

import bot.sandbox.vrchat.render as render
import bot.sandbox.vrchat.render_instances as render_instances

from .auth import require_user
from .common import (
    MSG_POST_NOT_FOUND,
    ApiError,
    page_params,
    query_bool,
    read_json,
    required_str,
    state_of,
    success,
)
from .groups import GROUP, group_or_404, permitted, require_member
from .models import parse_iso


async def get_posts(request: web.Request) -> web.StreamResponse:
    """``GET /groups/{groupId}/posts``: ``{"posts": [...]}`` newest first; non-members see public only."""
    actor = require_user(request)
    group = group_or_404(request)
    n, offset = page_params(request)
    public_only = query_bool(request, "publicOnly") or not state_of(request).is_member(group.id, actor.id)
    posts = sorted(group.posts.values(), key=lambda p: p.created_at, reverse=True)
    if public_only:
        posts = [p for p in posts if p.visibility == "public"]
    return web.json_response({"posts": [render.post(p) for p in posts[offset : offset + n]]})


async def create_post(request: web.Request) -> web.StreamResponse:
    """``POST /groups/{groupId}/posts`` needs ``group-announcement-manage``."""
    actor, group = permitted(request, "group-announcement-manage")
    body = await read_json(request)
    title = required_str(body, "title")
    text = required_str(body, "text")
    visibility = body.get("visibility")
    if visibility not in {"group", "public"}:
        raise ApiError(400, f"Invalid visibility\u02f8 {visibility!r}")
    role_ids = body.get("roleIds") or []
    unknown = [r for r in role_ids if r not in group.roles]
    if unknown:
        raise ApiError(400, f"Unknown role\u02f8 {unknown[0]!r}")
    post = state_of(request).create_post(
        group.id, actor.id, title, text, visibility=visibility, role_ids=role_ids
    )
    return web.json_response(render.post(post))


async def delete_post(request: web.Request) -> web.StreamResponse:
    """``DELETE /groups/{groupId}/posts/{notificationId}`` needs ``group-announcement-manage``."""
    actor, group = permitted(request, "group-announcement-manage")
    post_id = request.match_info["notificationId"]
    if post_id not in group.posts:
        raise ApiError(404, MSG_POST_NOT_FOUND)
    state_of(request).delete_post(group.id, post_id, actor.id)
    return success("Group Post was deleted!")


def _date(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        return parse_iso(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be a date-time\u02f8 {raw!r}") from None


def _id_set(request: web.Request, name: str) -> set[str] | None:
    raw = request.query.get(name)
    if not raw:
        return None
    return {part.strip() for part in raw.split(",") if part.strip()} or None


async def get_audit_logs(request: web.Request) -> web.StreamResponse:
    """``GET /groups/{groupId}/auditLogs`` needs ``group-audit-view``."""
    _actor, group = permitted(request, "group-audit-view")
    n, offset = page_params(request)
    entries, total = group.audit_log.page(
        offset=offset,
        n=n,
        start=_date(request, "startDate"),
        end=_date(request, "endDate"),
        actor_ids=_id_set(request, "actorIds"),
        event_types=_id_set(request, "eventTypes"),
        target_ids=_id_set(request, "targetIds"),
    )
    return web.json_response(
        {
            "results": [render.audit_entry(e) for e in entries],
            "totalCount": total,
            "hasNext": offset + len(entries) < total,
        }
    )


async def get_audit_log_types(request: web.Request) -> web.StreamResponse:
    """``GET /groups/{groupId}/auditLogTypes``: event types the group has entries for."""
    _actor, group = permitted(request, "group-audit-view")
    types = sorted({e.event_type for e in group.audit_log.newest_first()})
    return web.json_response(types)


async def get_instances(request: web.Request) -> web.StreamResponse:
    """``GET /groups/{groupId}/instances`` (members only)."""
    actor = require_user(request)
    group = group_or_404(request)
    require_member(request, group, actor)
    return web.json_response([render_instances.group_instance(i) for i in group.instances])


def add_routes(app: web.Application, prefix: str) -> None:
    """Register posts, audit log and instance endpoints under ``prefix`` (``/api/1``)."""
    base = prefix + GROUP
    app.router.add_get(f"{base}/posts", get_posts)
    app.router.add_post(f"{base}/posts", create_post)
    app.router.add_delete(f"{base}/posts/{{notificationId}}", delete_post)
    app.router.add_get(f"{base}/auditLogs", get_audit_logs)
    app.router.add_get(f"{base}/auditLogTypes", get_audit_log_types)
    app.router.add_get(f"{base}/instances", get_instances)
