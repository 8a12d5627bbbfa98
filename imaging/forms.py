from django import forms

from cases.dates import not_in_future
from imaging.fields import AUTO, content_choices
from imaging.models import Specimen


class SpecimenForm(forms.ModelForm):
    class Meta:
        model = Specimen
        fields = ["accession_number", "collected_on"]
        widgets = {"collected_on": forms.DateInput(attrs={"type": "date"})}

    def clean_accession_number(self):
        return self.cleaned_data["accession_number"].strip().upper()

    def clean_collected_on(self):
        return not_in_future(self.cleaned_data["collected_on"], "collection date")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A file field that accepts many files; each is checked later, one by one."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={
            "accept": ".bmp,.png,.jpg,.jpeg,.tif,.tiff,.zip,.mp4,.avi,.svs,.ndpi,.dcm",
        }))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, (list, tuple)) else [data]
        files = [f for f in files if f]
        if not files:
            raise forms.ValidationError("Choose at least one image, .zip file or video.")
        return files


class UploadForm(forms.Form):
    files = MultipleFileField(
        label="Images, .zip archives, videos or whole slides",
        help_text="BMP, PNG, JPEG or TIFF cell or field images; .zip archives of them; short "
                  "MP4 or AVI microscope videos, of which one frame per interval is kept; "
                  "whole-slide images (.svs, .ndpi, pyramidal .tif; a .mrxs slide zipped with "
                  "its folder; a DICOM slide's .dcm files, chosen together or zipped).",
    )
    content = forms.ChoiceField(
        label="The images are", choices=content_choices, initial=AUTO, required=False,
        widget=forms.RadioSelect,
        help_text="A field of view holds many cells: the worker finds each and classifies it, "
                  "and the field is kept to show where each was. Decided by size unless you "
                  "say which.",
    )

    def clean_content(self):
        return self.cleaned_data["content"] or AUTO
