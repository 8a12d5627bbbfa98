from django.urls import path

from cases import views

app_name = "cases"
urlpatterns = [
    path("cases/queue/", views.screening_queue, name="queue"),
    path("cases/mine/", views.my_cases, name="mine"),
    path("cases/pathologist/", views.pathologist_queue, name="pathologist_queue"),
    path("cases/<int:case_id>/claim/", views.claim, name="claim"),
    path("cases/<int:case_id>/assign/", views.assign, name="assign"),
    path("cases/<int:case_id>/return/", views.return_to_queue, name="return"),
    path("cases/<int:case_id>/screen/", views.screen, name="screen"),
    path("corrections/<str:kind>/<int:record_id>/", views.correct, name="correct"),
    path("images/<int:image_id>/delete/", views.delete_image, name="delete_image"),
]
