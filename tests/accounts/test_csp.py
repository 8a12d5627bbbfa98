import re

import pytest
from django.urls import reverse


def policy(response):
    return dict(
        (part.split()[0], part.split()[1:])
        for part in response["Content-Security-Policy"].split(";") if part.strip()
    )


def inline_scripts(page):
    """<script> elements that would run without a src: JSON data blocks do not run."""
    scripts = re.findall(r"<script\b([^>]*)>", page)
    return [attrs for attrs in scripts if "src=" not in attrs and "application/json" not in attrs]


def test_login_page_has_a_strict_policy(client, db):
    directives = policy(client.get(reverse("login")))
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["img-src"] == ["'self'", "data:", "blob:"]


def test_every_page_has_the_policy(client_for, administrator, lab_staff, patient, specimen):
    client = client_for(administrator)
    for url in [reverse("patients:list"), reverse("admin:index"), reverse("diagnostics:dashboard"),
                reverse("two_factor_setup")]:
        assert "Content-Security-Policy" in client.get(url), url


def test_specimen_page_has_no_inline_script(client_for, lab_staff, specimen, make_result):
    make_result(specimen, {"Superficial-Intermediate": 0.9, "Dyskeratotic": 0.1})
    response = client_for(lab_staff).get(reverse("imaging:specimen", args=[specimen.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Content-Security-Policy" in response
    assert '<svg id="class-chart"' in page  # the charts are there, drawn by the server
    assert inline_scripts(page) == []
    assert not re.search(r"\son[a-z]+=", page)
    assert " style=" not in page


def test_report_print_button_has_no_inline_handler(client_for, doctor, specimen):
    page = client_for(doctor).get(reverse("diagnostics:report", args=[specimen.pk])).content.decode()
    assert "data-print-page" in page and "js/print_button.js" in page
    assert "onclick" not in page


def test_dashboard_share_bars_have_no_style_attribute(client_for, administrator, specimen, make_result):
    make_result(specimen, {"Superficial-Intermediate": 0.9, "Dyskeratotic": 0.1})
    page = client_for(administrator).get(reverse("diagnostics:dashboard")).content.decode()
    assert 'data-share-percent="100"' in page
    assert " style=" not in page
