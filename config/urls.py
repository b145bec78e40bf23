from django.contrib import admin
from django.urls import include, path

from channels_app.portal.views import front
from config.health import healthz
from config.metrics import metrics

admin.site.site_header = "Aiguillage"
admin.site.site_title = "Aiguillage"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("webhooks/anymail/", include("anymail.urls")),
    path("sms/", include("channels_app.sms.urls")),
    path("agents/discussion/", include("channels_app.chat.urls")),
    path("agents/", include("contacts.inbox.urls")),
    path("indicateurs/", include("contacts.indicators.urls")),
    path("api/v1/", include("contacts.api.urls")),
    path("api/", include("channels_app.api.urls")),
    path("", include("contacts.second_factor")),
    path("", include("channels_app.portal.urls")),
    path("", front, name="front"),
]
