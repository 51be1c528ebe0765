import pytest

from hermes.agent.tools.base import ToolArgumentError, ToolContext
from hermes.agent.tools.memory import MemoryTool
from hermes.agent.tools.session_search import SessionSearchTool
from hermes.agent.tools.todo import TodoTool


async def test_todo_replaces_reads_and_merges(tool_context: ToolContext) -> None:
    todo = TodoTool()
    assert (await todo({}, tool_context)).content == "The task list is empty."
    result = await todo(
        {"todos": [{"id": "1", "content": "Plan", "status": "in_progress"}, {"id": "2", "content": "Do"}]},
        tool_context,
    )
    assert result.content.splitlines() == ["Tasks (0/2 done):", "[~] 1. Plan", "[ ] 2. Do"]
    result = await todo(
        {
            "merge": True,
            "todos": [
                {"id": "1", "status": "completed"},
                {"id": "3", "content": "Check", "status": "pending"},
            ],
        },
        tool_context,
    )
    assert result.content.splitlines() == ["Tasks (1/3 done):", "[x] 1. Plan", "[ ] 2. Do", "[ ] 3. Check"]
    assert result.summary == "Tasks (1/3 done):"
    assert (await todo({}, tool_context)).content == result.content


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"todos": "not a list"}, "must be an array"),
        ({"todos": ["x"]}, "must be an object"),
        ({"todos": [{"id": "1", "content": "a", "status": "done"}]}, "status must be one of"),
        ({"todos": [{"id": "", "content": "a"}]}, "id must be a non-empty string"),
        ({"todos": [{"id": "1"}]}, "need a content"),
        ({"merge": True, "todos": [{"id": "9", "status": "pending"}]}, "needs a content"),
        ({"todos": [{"id": str(i), "content": "x"} for i in range(101)]}, "at most 100"),
    ],
)
async def test_todo_refuses_bad_lists_and_keeps_the_old_one(
    tool_context: ToolContext, args: dict, expected: str
) -> None:
    todo = TodoTool()
    before = await todo({"todos": [{"id": "1", "content": "Keep me", "status": "pending"}]}, tool_context)
    with pytest.raises(ToolArgumentError, match=expected):
        await todo(args, tool_context)
    assert (await todo({}, tool_context)).content == before.content


async def test_memory_tool_edits_and_reports_refusals_as_errors(tool_context: ToolContext) -> None:
    tool = MemoryTool()
    saved = await tool({"action": "add", "target": "user", "content": "Likes tea"}, tool_context)
    assert saved.ok and "USER.md now holds 10 of 1375 chars" in saved.content
    refused = await tool({"action": "add", "target": "user", "content": "x" * 1400}, tool_context)
    assert not refused.ok and "1365 chars of room left" in refused.content
    missing = await tool({"action": "remove", "target": "memory", "old_text": "nothing"}, tool_context)
    assert not missing.ok and "no entry in MEMORY.md" in missing.content
    with pytest.raises(ToolArgumentError, match="target"):
        await tool({"action": "add", "target": "soul", "content": "x"}, tool_context)
    with pytest.raises(ToolArgumentError, match="content"):
        await tool({"action": "replace", "target": "memory", "old_text": "tea"}, tool_context)
    assert await tool_context.memory.entries("user") == ["Likes tea"]


async def test_session_search_without_a_store_says_so(tool_context: ToolContext) -> None:
    result = await SessionSearchTool()({"query": "anything"}, tool_context)
    assert not result.ok and "no stored conversations" in result.content
