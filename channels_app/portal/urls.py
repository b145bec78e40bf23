from django.urls import include, path

from channels_app.portal import views

pages = [
    path("", views.home, name="home"),
    path("recherche/", views.search, name="search"),
    path("discussion/", views.chat, name="chat"),
    path("sujet/<slug:owner>/<slug:slug>/", views.topic, name="topic"),
    path("ecrire/", views.write, name="write"),
    path("rappel/", views.callback, name="callback"),
    path("merci/<str:token>/", views.thanks, name="thanks"),
]

# Framed by other sites: no cookies there, so the forms are checked by Origin.
widget_pages = [
    path(str(p.pattern), views.same_origin_post(p.callback), name=p.name) if p.name in ("write", "callback") else p
    for p in pages
]

urlpatterns = [
    path("contact/<slug:organisation>/", include((pages, "portal"), namespace="contact")),
    path("w/<str:widget>/", include((widget_pages, "portal"), namespace="widget")),
    path("suivi/", views.new_link, name="followup-new-link"),
    path("suivi/<str:token>/", views.followup_page, name="followup"),
    path("suivi/<str:token>/piece/<int:pk>/", views.followup_attachment, name="followup-attachment"),
]
