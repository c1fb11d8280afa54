"""Import and export pages of the console; paths are relative to ``/console/`` (see ``console_urls``)."""

from django.urls import path

from anju.estates import views_import

C = "c/<int:community_id>/"

urlpatterns = [
    path(C + "import/", views_import.import_upload, name="import"),
    path(C + "import/<int:batch_id>/", views_import.import_batch, name="import_batch"),
    path(C + "export/", views_import.export, name="export"),
]
