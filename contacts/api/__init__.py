"""The agents' REST API: tickets, contacts and the knowledge base, with the
inbox's scoping (``Ticket.objects.visible_to``) and its actions."""
