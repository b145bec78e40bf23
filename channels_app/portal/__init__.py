"""The citizens' public pages: the guided path, the unique contact form,
callback requests, the embeddable widget, its API and the follow-up page."""
