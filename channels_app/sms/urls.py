"""Included at "sms/" by config/urls.py."""

from django.urls import path

from channels_app.sms import views

app_name = "sms"

urlpatterns = [
    path("<slug:organisation>/inbound/<slug:provider>/", views.inbound, name="inbound"),
    path("receipts/<slug:provider>/", views.receipt, name="receipt"),
]
