from django.urls import path

from exports import views

app_name = "exports"

urlpatterns = [
    path("entries/similar/", views.similar, name="similar"),
]
