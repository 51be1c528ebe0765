"""Tests of the Mattermost server emulator itself."""
