"""Live chat: the orientation assistant first, then an agent (issue 7)."""
