"""The agent: providers, the tool-calling loop, memory and prompt. Platform-blind."""
