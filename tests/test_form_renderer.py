"""The widgets drawn in Python (celinsight.form_renderer) write Django's HTML, byte for byte."""
import re

import pytest
from django import forms
from django.utils.safestring import mark_safe

from celinsight.form_renderer import (DRAWN_FROM_CONTEXT, DRAWN_IN_PYTHON, FastWidgetRenderer,
                                      JinjaFirstRenderer)
from tests.test_query_counts import PAGES, SMALL, load

CHOICES = [("a", "Plain"), ("b&c", 'Quoted "b" & <c>'), ("", "None chosen"),
           ("Grouped", [("g1", "First of a group"), ("g2", mark_safe("<em>Safe</em>"))])]


class EveryWidget(forms.Form):
    text = forms.CharField(initial='He said "no" & <left>', max_length=20,
                           widget=forms.TextInput(attrs={"placeholder": "Name", "autofocus": True}))
    empty_text = forms.CharField(required=False)
    number = forms.IntegerField(initial=3, min_value=0)
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), required=False)
    hidden = forms.CharField(widget=forms.HiddenInput, initial="h")
    email = forms.EmailField(disabled=True, initial="a@b.c")
    flag = forms.BooleanField(initial=True, required=False)
    unticked = forms.BooleanField(required=False)
    choice = forms.ChoiceField(choices=CHOICES, initial="b&c")
    choices = forms.MultipleChoiceField(
        choices=CHOICES, initial=["a", "g2"], required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "boxes"}))
    radio = forms.ChoiceField(choices=CHOICES, initial="g1", widget=forms.RadioSelect)
    listed = forms.MultipleChoiceField(choices=CHOICES, initial=["a"], required=False)
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 1}), initial="line\n<two>")
    empty_note = forms.CharField(widget=forms.Textarea, required=False)


@pytest.mark.parametrize("bound", [False, True])
@pytest.mark.parametrize("field", list(EveryWidget.base_fields))
def test_each_widget_as_django_draws_it(field, bound):
    data = {"text": "x' <y>", "choices": ["b&c"], "radio": "", "flag": "on", "note": ""}
    drawn = [EveryWidget(data if bound else None, auto_id="id_%s_x", renderer=renderer())[field]
             .as_widget() for renderer in (FastWidgetRenderer, JinjaFirstRenderer)]
    assert drawn[0] == drawn[1]


@pytest.mark.parametrize("bound", [False, True])
@pytest.mark.parametrize("field", list(EveryWidget.base_fields))
def test_each_field_group_as_django_draws_it(field, bound):
    """Label (or legend), help text, errors and widget: field.html, label.html, the error list."""
    data = {"text": "x' <y>", "choices": ["b&c"], "radio": "", "flag": "on", "note": ""}
    for auto_id in ("id_%s_x", ""):
        forms_drawn = [EveryWidget(data if bound else None, auto_id=auto_id, renderer=renderer())
                       for renderer in (FastWidgetRenderer, JinjaFirstRenderer)]
        for form in forms_drawn:
            form.fields[field].help_text = mark_safe("Help with <b>this</b> & that")
        drawn = [form[field].as_field_group() for form in forms_drawn]
        assert drawn[0] == drawn[1]
        assert drawn[0].count("<label") + drawn[0].count("<legend") >= 1 or not auto_id


def test_every_template_drawn_in_python_is_one_of_djangos():
    for template_name in [*DRAWN_IN_PYTHON, *DRAWN_FROM_CONTEXT]:
        JinjaFirstRenderer().get_template(template_name)


def without_tokens(html):
    """The page with its per-response tokens (CSRF mask, CSP nonce) blanked."""
    html = re.sub(r'(csrfmiddlewaretoken" value=")[^"]+', r"\1", html)
    html = re.sub(r'("X-CSRFToken": ")[^"]+', r"\1", html)
    return re.sub(r'(nonce=")[^"]+', r"\1", html)


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["screening", "review", "specimen", "patient history"])
def test_pages_with_forms_are_the_same_html(page, client, settings):
    user, url = PAGES[page](*load(SMALL, sign_off_versions=0))
    client.force_login(user)
    drawn = {}
    for renderer in (FastWidgetRenderer, JinjaFirstRenderer):
        settings.FORM_RENDERER = f"{renderer.__module__}.{renderer.__name__}"
        response = client.get(url)
        assert response.status_code == 200
        drawn[renderer] = without_tokens(response.content.decode())
    assert drawn[FastWidgetRenderer] == drawn[JinjaFirstRenderer]
    assert "<select" in drawn[FastWidgetRenderer] or page != "review"
