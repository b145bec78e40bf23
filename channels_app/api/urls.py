from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from channels_app.api import views

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("v1/widgets/<str:key>/topics/", views.TopicSearch.as_view(), name="api-topics"),
    path("v1/widgets/<str:key>/topics/<slug:owner>/<slug:slug>/", views.TopicOrientation.as_view(), name="api-topic"),
    path("v1/widgets/<str:key>/requests/", views.RequestCreate.as_view(), name="api-requests"),
    path("v1/widgets/<str:key>/callbacks/", views.CallbackCreate.as_view(), name="api-callbacks"),
]
