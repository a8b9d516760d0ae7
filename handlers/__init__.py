"""Slack adapter: listeners per surface, text parsing, Block Kit building."""
