from django.urls import path

from imaging import field_views, live_views, viewer, views

app_name = "imaging"
urlpatterns = [
    path("patients/<int:patient_id>/specimens/new/", views.specimen_create, name="specimen_create"),
    path("specimens/<int:specimen_id>/", views.specimen_detail, name="specimen"),
    path("specimens/<int:specimen_id>/upload/", views.specimen_upload, name="upload"),
    path("specimens/<int:specimen_id>/progress/", views.specimen_progress_panel, name="progress"),
    path("specimens/<int:specimen_id>/fields/<int:field_id>/", field_views.field_detail,
         name="field"),
    path("specimens/<int:specimen_id>/fields/<int:field_id>/viewer/", viewer.viewer,
         name="viewer"),
    path("specimens/<int:specimen_id>/fields/<int:field_id>/viewer/cells/", viewer.viewer_cells,
         name="viewer_cells"),
    path("specimens/<int:specimen_id>/fields/<int:field_id>/deep-zoom.dzi",
         viewer.deep_zoom_descriptor, name="deep_zoom"),
    path("specimens/<int:specimen_id>/fields/<int:field_id>/deep-zoom_files/<int:level>/"
         "<int:column>_<int:row>.jpeg", viewer.deep_zoom_tile, name="deep_zoom_tile"),
    path("specimens/<int:specimen_id>/live/", live_views.live_view, name="live"),
    path("specimens/<int:specimen_id>/live/frame/", live_views.live_frame, name="live_frame"),
    path("specimens/<int:specimen_id>/live/capture/", live_views.live_capture,
         name="live_capture"),
    path("images/<int:image_id>/file/", views.image_file, name="image_file"),
    path("images/<int:image_id>/thumbnail/", views.thumbnail_file, name="thumbnail_file"),
    path("images/<int:image_id>/results/<int:result_id>/heatmap/", views.heatmap_file,
         name="heatmap_file"),
]
