"""Quality indicators for managers, computed from tickets and their events
(definitions: docs/indicators.md)."""
