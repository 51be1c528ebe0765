"""The `todo` tool: a task list the model keeps for multi-step work, held with the session."""

from __future__ import annotations

from typing import Any, ClassVar

from hermes.agent.tools.base import ToolArgumentError, ToolContext, ToolResult, register_tool

STATUSES = ("pending", "in_progress", "completed", "cancelled")
_MARKS = {"pending": "[ ]", "in_progress": "[~]", "completed": "[x]", "cancelled": "[-]"}
_MAX_ITEMS = 100
_MAX_CONTENT = 500
STATE_KEY = "todo"


def _parse(items: Any) -> list[dict[str, str]]:
    if not isinstance(items, list):
        raise ToolArgumentError("argument 'todos' must be an array of {id, content, status}")
    if len(items) > _MAX_ITEMS:
        raise ToolArgumentError(f"at most {_MAX_ITEMS} todos")
    parsed = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ToolArgumentError(f"todos[{i}] must be an object with id, content and status")
        item_id = item.get("id")
        if not isinstance(item_id, str | int) or isinstance(item_id, bool) or str(item_id) == "":
            raise ToolArgumentError(f"todos[{i}].id must be a non-empty string")
        status = item.get("status", "pending")
        if status not in STATUSES:
            raise ToolArgumentError(f"todos[{i}].status must be one of {', '.join(STATUSES)}; got {status!r}")
        content = item.get("content")
        if content is not None and not isinstance(content, str):
            raise ToolArgumentError(f"todos[{i}].content must be a string")
        parsed.append({"id": str(item_id), "content": (content or "")[:_MAX_CONTENT], "status": status})
    return parsed


def _merged(todos: list[dict[str, str]], incoming: list[dict[str, str]]) -> list[dict[str, str]]:
    updated = [dict(t) for t in todos]
    by_id = {t["id"]: t for t in updated}
    for item in incoming:
        current = by_id.get(item["id"])
        if current is not None:
            current["status"] = item["status"]
            if item["content"]:
                current["content"] = item["content"]
        elif not item["content"]:
            raise ToolArgumentError(f"new todo {item['id']!r} needs a content")
        else:
            updated.append(item)
            by_id[item["id"]] = item
    if len(updated) > _MAX_ITEMS:
        raise ToolArgumentError(f"at most {_MAX_ITEMS} todos")
    return updated


def render(todos: list[dict[str, str]]) -> str:
    if not todos:
        return "The task list is empty."
    done = sum(1 for t in todos if t["status"] == "completed")
    lines = [f"Tasks ({done}/{len(todos)} done):"]
    lines.extend(f"{_MARKS[t['status']]} {t['id']}. {t['content']}" for t in todos)
    return "\n".join(lines)


class TodoTool:
    name = "todo"
    description = (
        "Keep a task list for multi-step work. Call with no arguments to read it. With `todos`, replace the "
        "list (or, with merge=true, update items by id and append new ones). Statuses: pending, in_progress, "
        "completed, cancelled. Keep one item in_progress at a time."
    )
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "todos": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "content": {"type": "string"},
                        "status": {"type": "string", "enum": list(STATUSES)},
                    },
                    "required": ["id", "status"],
                },
            },
            "merge": {"type": "boolean", "description": "Update by id instead of replacing the list."},
        },
    }

    async def __call__(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        todos: list[dict[str, str]] = ctx.state.setdefault(STATE_KEY, [])
        if args.get("todos") is not None:
            incoming = _parse(args["todos"])
            if args.get("merge"):
                todos[:] = _merged(todos, incoming)
            else:
                missing = [item["id"] for item in incoming if not item["content"]]
                if missing:
                    raise ToolArgumentError(f"todos {', '.join(missing)} need a content")
                todos[:] = incoming
        text = render(todos)
        return ToolResult(text, summary=text.splitlines()[0])


register_tool(TodoTool())
