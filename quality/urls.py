from django.urls import path

from quality import views

app_name = "quality"

urlpatterns = [
    path("entries/similar/", views.similar, name="similar"),
]
