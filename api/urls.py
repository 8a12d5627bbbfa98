"""Routes of the REST API, all under /api/.

API views answer 401/403 in JSON rather than redirecting to the login page, so they are
exempt from LoginRequiredMiddleware; DRF authenticates them (token or session).
"""
from django.contrib.auth.decorators import login_not_required
from django.urls import path

from api import views


def api_view(view_class, **initkwargs):
    return login_not_required(view_class.as_view(**initkwargs))


app_name = "api"
urlpatterns = [
    path("auth/token/", api_view(views.TokenObtain), name="token"),
    path("auth/logout/", api_view(views.TokenLogout), name="logout"),
    path("patients/", api_view(views.PatientList), name="patients"),
    path("patients/<int:patient_id>/", api_view(views.PatientDetail), name="patient"),
    path("specimens/", api_view(views.SpecimenList), name="specimens"),
    path("specimens/<int:specimen_id>/", api_view(views.SpecimenDetail), name="specimen"),
    path("specimens/<int:specimen_id>/images/", api_view(views.SpecimenImages),
         name="specimen_images"),
    path("specimens/<int:specimen_id>/results/", api_view(views.SpecimenResults),
         name="specimen_results"),
    path("specimens/<int:specimen_id>/sign-offs/", api_view(views.SpecimenSignOffs),
         name="sign_offs"),
    path("specimens/<int:specimen_id>/amendments/", api_view(views.SpecimenAmendment),
         name="amendments"),
    path("images/<int:image_id>/", api_view(views.ImageDetail), name="image"),
    path("results/<int:result_id>/", api_view(views.ResultDetail), name="result"),
    path("results/<int:result_id>/review/", api_view(views.CellReviewCreate), name="review"),
    path("schema/", api_view(views.Schema), name="schema"),
    path("docs/", api_view(views.Docs, url_name="api:schema"), name="docs"),
]
