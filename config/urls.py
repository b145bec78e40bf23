from django.contrib import admin
from django.urls import path

from config.health import healthz

admin.site.site_header = "Aiguillage"
admin.site.site_title = "Aiguillage"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
