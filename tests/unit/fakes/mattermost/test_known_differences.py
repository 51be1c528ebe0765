"""Each KNOWN_DIFFERENCES entry must still be a real disagreement with openapi-v4.yaml."""

from __future__ import annotations

from tests.fakes.mattermost import KNOWN_DIFFERENCES

from .openapi import SPEC_PATH, raw_spec


def _schema(name: str) -> dict:
    return raw_spec()["components"]["schemas"][name]


def _operation(path: str, method: str) -> dict:
    return raw_spec()["paths"][path][method]


def test_every_entry_says_where_what_and_why() -> None:
    for key, difference in KNOWN_DIFFERENCES.items():
        assert all((difference.where, difference.spec, difference.server, difference.reason)), key


def test_the_spec_still_says_what_the_entries_say_it_says() -> None:
    text = SPEC_PATH.read_text()
    assert set(_operation("/api/v4/reactions", "post")["responses"]) >= {"201"}
    assert "200" not in _operation("/api/v4/reactions", "post")["responses"]
    assert "The remaining UTC epoch seconds before the rate limit resets." in text
    assert '"is_oauth": false' in text and "is_oauth" not in _schema("AppError")["properties"]
    assert "hashtag" in _schema("Post")["properties"] and "hashtags" not in _schema("Post")["properties"]
    patch = _operation("/api/v4/posts/{post_id}/patch", "put")["requestBody"]["content"]["application/json"]
    assert patch["schema"]["properties"]["props"]["type"] == "string"
    assert "`omit_users` field can contain an array of user IDs" in text
    assert _schema("Timezone")["properties"]["useAutomaticTimezone"]["type"] == "boolean"
    policy = _schema("Team")["properties"]["policy_id"]
    assert policy["type"] == "string" and not policy.get("nullable")
    upload = _operation("/api/v4/files", "post")["responses"]["201"]["content"]["application/json"]["schema"]
    assert upload["properties"]["client_ids"]["type"] == "array"
    assert "ResponseType" in _schema("CommandResponse")["properties"]
    assert "404" not in _operation("/api/v4/posts/{post_id}", "get")["responses"]
    assert "404" not in _operation("/api/v4/posts/{post_id}/thread", "get")["responses"]
    too_many = raw_spec()["components"]["responses"]["TooManyRequests"]["content"]["application/json"]
    assert too_many["schema"] == {"$ref": "#/components/schemas/AppError"}
    assert set(KNOWN_DIFFERENCES) == {
        "reaction-status",
        "ratelimit-body",
        "ratelimit-reset",
        "apperror-is-oauth",
        "post-hashtags",
        "patch-props-object",
        "omit-users-object",
        "timezone-strings",
        "team-policy-id-null",
        "upload-client-ids-null",
        "command-response-keys",
        "not-found-route",
        "get-post-404",
    }
