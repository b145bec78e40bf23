"""The agents' API, under /api/v1/ (beside the widgets' API)."""

from django.urls import path

from contacts.api import directory, tickets

urlpatterns = [
    path("tickets/", tickets.TicketList.as_view(), name="api-agent-tickets"),
    path("tickets/<str:reference>/", tickets.TicketDetail.as_view(), name="api-agent-ticket"),
    path("tickets/<str:reference>/reply/", tickets.Reply.as_view(), name="api-agent-reply"),
    path("tickets/<str:reference>/note/", tickets.Note.as_view(), name="api-agent-note"),
    path("tickets/<str:reference>/claim/", tickets.Claim.as_view(), name="api-agent-claim"),
    path("tickets/<str:reference>/assign/", tickets.Assign.as_view(), name="api-agent-assign"),
    path("tickets/<str:reference>/transfer/", tickets.Transfer.as_view(), name="api-agent-transfer"),
    path("tickets/<str:reference>/status/", tickets.Status.as_view(), name="api-agent-status"),
    path("contacts/", directory.ContactList.as_view(), name="api-agent-contacts"),
    path("contacts/<int:pk>/", directory.ContactDetail.as_view(), name="api-agent-contact"),
    path("kb/services/", directory.ServiceList.as_view(), name="api-agent-services"),
    path("kb/topics/", directory.TopicList.as_view(), name="api-agent-topics"),
    path("kb/topics/<slug:slug>/", directory.TopicDetail.as_view(), name="api-agent-topic"),
]
