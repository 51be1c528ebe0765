"""The hub: platform-blind routing of chat events to the agent and replies back out."""
