"""The agents' shared inbox: login, ticket lists, the ticket page and the
actions agents take. Views stay thin over ``contacts.services``."""
