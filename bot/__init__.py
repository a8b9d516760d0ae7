"""Process edge of medcode: settings, CLI, run modes."""
