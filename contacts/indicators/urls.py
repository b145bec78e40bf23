from django.urls import path

from contacts.indicators import views

app_name = "indicators"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("demandes/", views.tickets, name="tickets"),
    path("export.xlsx", views.export_all, name="export_all"),
    path("export/<slug:key>/<slug:table>.<str:fmt>", views.export, name="export"),
    path("api/<slug:key>/", views.IndicatorAPI.as_view(), name="api"),
]
