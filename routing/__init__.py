def route(ticket):
    """Decide where a new ticket goes (see routing.services.route)."""
    from routing.services import route as _route

    return _route(ticket)
