"""Where openapi-v4.yaml and the server disagree; the emulator follows the server.

The emulator's own tests validate every JSON response against the spec's schemas and apply exactly these
entries, by key, when they do.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KnownDifference:
    where: str
    spec: str
    server: str
    reason: str


KNOWN_DIFFERENCES: dict[str, KnownDifference] = {
    "reaction-status": KnownDifference(
        "POST /api/v4/reactions", "201 Created", "200 OK", "api4/reaction.go saveReaction writes no status"
    ),
    "ratelimit-body": KnownDifference(
        "429 Too Many Requests",
        "AppError JSON",
        'text/plain; charset=utf-8 "limit exceeded\\n"',
        'ratelimit.go: http.Error(w, "limit exceeded", 429)',
    ),
    "ratelimit-reset": KnownDifference(
        "X-Ratelimit-Reset", "epoch seconds", "seconds until reset (ceil)", "throttled setRateLimitHeaders"
    ),
    "apperror-is-oauth": KnownDifference(
        "AppError", "is_oauth in introduction.yaml", "no is_oauth field", "public/model/utils.go AppError"
    ),
    "post-hashtags": KnownDifference(
        "Post", "field hashtag", "field hashtags", "public/model/post.go json tag"
    ),
    "patch-props-object": KnownDifference(
        "PUT /api/v4/posts/{post_id}/patch", "props: string", "props: object", "model.PostPatch.Props"
    ),
    "omit-users-object": KnownDifference(
        "WebSocket broadcast.omit_users",
        "array",
        "object {user_id: true} or null",
        "model.WebsocketBroadcast",
    ),
    "timezone-strings": KnownDifference(
        "Timezone.useAutomaticTimezone",
        "boolean",
        'string "true" / "false"',
        "User.Timezone is a model.StringMap",
    ),
    "team-policy-id-null": KnownDifference(
        "Team.policy_id", "string", "null without a data retention policy", "model.Team.PolicyID is *string"
    ),
    "upload-client-ids-null": KnownDifference(
        "POST /api/v4/files with a raw body and no client_id",
        "client_ids: array",
        "client_ids: null",
        "api4/file.go uploadFileSimple leaves FileUploadResponse.ClientIds nil",
    ),
    "command-response-keys": KnownDifference(
        "CommandResponse",
        "PascalCase keys (ResponseType, Text, ...)",
        "snake_case keys",
        "model.CommandResponse",
    ),
    "not-found-route": KnownDifference(
        "Unknown /api/v4 route",
        "not described",
        "404 AppError JSON sent as text/plain; charset=utf-8, without X-Request-Id or request_id",
        "web.Handle404 writes the body without setting a content type",
    ),
    "get-post-404": KnownDifference(
        "GET /api/v4/posts/{post_id}, GET /api/v4/posts/{post_id}/thread",
        "no 404 response listed",
        "404 app.post.get.app_error for unknown or deleted posts",
        "app.GetSinglePost",
    ),
}
