from django.urls import path

from channels_app.chat import views

app_name = "chat"
urlpatterns = [path("<str:reference>/accepter/", views.accept, name="accept")]
