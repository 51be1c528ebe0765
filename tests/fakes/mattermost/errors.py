"""AppError, the body of every failing API call, with the English messages of server/i18n/en.json."""

from __future__ import annotations

from typing import Any

MESSAGES: dict[str, str] = {
    "api.context.404.app_error": "Sorry, we could not find the page.",
    "api.context.session_expired.app_error": "Invalid or expired session, please login again.",
    "api.context.token_provided.app_error": (
        "Session is not OAuth but token was provided in the query string."
    ),
    "api.context.permissions.app_error": "You do not have the appropriate permissions.",
    "api.context.invalid_url_param.app_error": "Invalid or missing {Name} parameter in request URL.",
    "api.context.invalid_param.app_error": "Invalid {Name} parameter.",
    "api.context.invalid_body_param.app_error": "Invalid or missing {Name} in request body.",
    "app.user.missing_account.const": "Unable to find the user.",
    "app.channel.get.existing.app_error": "Unable to find the existing channel.",
    "app.post.get.app_error": "Unable to get the post.",
    "app.user.get_by_username.app_error": (
        "Unable to find an existing account matching your username for this team. "
        "This team may require an invite from the team owner to join."
    ),
    "app.channel.get_member.missing.app_error": "No channel member found for that user ID and channel ID.",
    "app.file_info.get.app_error": "Unable to get the file info.",
    "api.channel.create_direct_channel.invalid_user.app_error": (
        "Invalid user ID for direct channel creation."
    ),
    "api.channel.create_group.bad_size.app_error": (
        "Group message channels must contain at least 3 and no more than 8 users."
    ),
    "api.channel.create_group.bad_user.app_error": "One of the provided users does not exist.",
    "api.post.create_post.root_id.app_error": "Invalid RootId parameter.",
    "api.post.create_post.channel_root_id.app_error": "Invalid ChannelId for RootId parameter.",
    "api.post.create_post.can_not_post_to_deleted.error": "Can not post to deleted channel.",
    "api.post.update_post.system_message.app_error": "Unable to update system message.",
    "model.post.is_valid.msg.app_error": "Invalid message.",
    "api.post.deduplicate_create_post.failed_to_get": (
        "Failed to fetch original post after deduplicating a client repeating the same request."
    ),
    "model.post.is_valid.file_ids.app_error": (
        "Invalid file ids. Note that uploads are limited to 10 files maximum. "
        "Please use additional posts for more files."
    ),
    "model.reaction.is_valid.emoji_name.app_error": "Invalid emoji name.",
    "api.reaction.save_reaction.user_id.app_error": "You cannot save reaction for the other user.",
    "api.file.upload_file.read_request.app_error": (
        "Unable to upload file(s). Error reading or parsing request data."
    ),
    "api.file.upload_file.multiple_channel_ids.app_error": (
        "Unable to upload file(s). Multiple conflicting channel_ids."
    ),
    "api.file.upload_file.incorrect_number_of_client_ids.app_error": (
        "Unable to upload file(s). Have {NumClientIds} client_ids for {NumFiles} files."
    ),
    "api.command.execute_command.start.app_error": "No command trigger found.",
    "api.command.execute_command.deleted.error": "Can not run command in deleted channel.",
    "api.command.execute_command.not_found.app_error": (
        "Command with a trigger of '{Trigger}' not found. To send a message beginning with \"/\", "
        "try adding an empty space at the beginning of the message."
    ),
    "api.web_socket_router.no_action.app_error": "No websocket action.",
    "api.web_socket_router.bad_seq.app_error": "Invalid sequence for WebSocket message.",
    "api.web_socket_router.not_authenticated.app_error": (
        "WebSocket connection is not authenticated. Please log in and try again."
    ),
    "api.web_socket_router.bad_action.app_error": "Unknown WebSocket action.",
    "api.websocket_handler.invalid_param.app_error": "Invalid {Name} parameter.",
}


class AppError(Exception):
    """`model.AppError`: raised inside the emulator, rendered as the server renders it."""

    def __init__(self, error_id: str, status: int, detailed: str = "", **params: Any) -> None:
        self.id = error_id
        self.status = status
        self.message = MESSAGES[error_id].format(**params)
        self.detailed = detailed
        super().__init__(f"{status} {error_id}: {self.message}")

    def body(self, request_id: str | None) -> dict[str, Any]:
        """The JSON body; `request_id` and `status_code` are omitempty on the Go side."""
        out: dict[str, Any] = {"id": self.id, "message": self.message, "detailed_error": self.detailed}
        if request_id:
            out["request_id"] = request_id
        out["status_code"] = self.status
        return out


def invalid_url_param(name: str) -> AppError:
    return AppError("api.context.invalid_url_param.app_error", 400, Name=name)


def invalid_param(name: str) -> AppError:
    return AppError("api.context.invalid_param.app_error", 400, Name=name)


def forbidden() -> AppError:
    return AppError("api.context.permissions.app_error", 403)


def session_expired() -> AppError:
    return AppError("api.context.session_expired.app_error", 401)
