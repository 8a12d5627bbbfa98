from django.urls import path

from diagnostics import cells, dashboards, reports, views

app_name = "diagnostics"
urlpatterns = [
    path("worklist/", views.worklist, name="worklist"),
    path("batches/", views.batch_list, name="batches"),
    path("batches/<int:batch_id>/progress/", views.batch_progress, name="batch_progress"),
    path("specimens/<int:specimen_id>/review/", views.specimen_review, name="review"),
    path("specimens/<int:specimen_id>/results/<int:result_id>/review/", views.review_cell,
         name="review_cell"),
    path("specimens/<int:specimen_id>/accept-flagged/", views.accept_all_flagged,
         name="accept_all_flagged"),
    path("specimens/<int:specimen_id>/cells/<int:result_id>/", cells.cell_detail, name="cell"),
    path("specimens/<int:specimen_id>/sign-off/", views.sign_off, name="sign_off"),
    path("specimens/<int:specimen_id>/amend/", views.amend, name="amend"),
    path("specimens/<int:specimen_id>/reopen/", views.reopen, name="reopen"),
    path("specimens/<int:specimen_id>/report/", reports.specimen_report, name="report"),
    path("dashboard/", dashboards.dashboard, name="dashboard"),
]
