from django.urls import path

from contacts.inbox import views

app_name = "inbox"

urlpatterns = [
    path("", views.inbox, name="index"),
    path("disponibilite/", views.availability, name="availability"),
    path("connexion/", views.LoginView.as_view(), name="login"),
    path("deconnexion/", views.LogoutView.as_view(), name="logout"),
    path("demandes/<str:reference>/", views.ticket_detail, name="ticket"),
    path("demandes/<str:reference>/repondre/", views.reply, name="reply"),
    path("demandes/<str:reference>/pieces/", views.request_documents, name="documents"),
    path("demandes/<str:reference>/note/", views.note, name="note"),
    path("demandes/<str:reference>/prendre/", views.claim, name="claim"),
    path("demandes/<str:reference>/attribuer/", views.assign, name="assign"),
    path("demandes/<str:reference>/transferer/", views.transfer, name="transfer"),
    path("demandes/<str:reference>/statut/", views.change_status, name="status"),
    path("demandes/<str:reference>/priorite/", views.change_priority, name="priority"),
    path("demandes/<str:reference>/sujet/", views.change_topic, name="topic"),
    path("demandes/<str:reference>/modele/", views.template_preview, name="template"),
    path("demandes/<str:reference>/fusionner/", views.merge, name="merge"),
    path("demandes/<str:reference>/etiquettes/", views.add_tag, name="add_tag"),
    path("demandes/<str:reference>/etiquettes/retirer/", views.remove_tag, name="remove_tag"),
    path("pieces/<int:pk>/", views.attachment, name="attachment"),
]
