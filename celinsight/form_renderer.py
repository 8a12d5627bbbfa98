"""Form widgets: the common ones drawn in Python, the rest by Jinja2 (Django's templates where
only those exist).

Django draws a widget with a template per widget and one more per option and attribute list:
the review page's Bethesda form (some 120 options) cost 400 template includes, 50 ms of CPU a
page with Django's templates and 36 with Jinja2's copies of them. The functions below write
the same HTML as Django's Jinja2 templates (tests/test_form_renderer.py compares every field
of the product's forms both ways). Widgets of contrib apps (the admin's, auth's password
hash) have Django templates only.
"""
from functools import cached_property

from django.forms.renderers import DjangoTemplates, Jinja2
from django.template import TemplateDoesNotExist
from markupsafe import escape

WIDGETS = "django/forms/widgets/"


class JinjaFirstRenderer(Jinja2):
    @cached_property
    def django_templates(self):
        return DjangoTemplates()

    def get_template(self, template_name):
        try:
            return super().get_template(template_name)
        except TemplateDoesNotExist:
            return self.django_templates.get_template(template_name)


class FastWidgetRenderer(JinjaFirstRenderer):
    def render(self, template_name, context, request=None):
        draw = DRAWN_IN_PYTHON.get(template_name)
        if draw is not None and "widget" in context:
            return draw(context["widget"], self)
        draw = DRAWN_FROM_CONTEXT.get(template_name)
        if draw is not None:
            return draw(context, self).strip()  # as Django strips what a template wrote
        return super().render(template_name, context, request)


def attributes(attrs):
    """django/forms/widgets/attrs.html: False leaves an attribute out, True writes its name."""
    return "".join(
        f" {escape(name)}" if value is True else f' {escape(name)}="{escape(value)}"'
        for name, value in attrs.items() if value is not False)


def draw_input(widget, renderer=None):
    value = "" if widget["value"] is None else f' value="{escape(widget["value"])}"'
    return (f'<input type="{escape(widget["type"])}" name="{escape(widget["name"])}"{value}'
            f'{attributes(widget["attrs"])}>')


def draw_input_option(widget, renderer):
    if not widget.get("wrap_label"):
        return draw_input(widget)
    target = widget["attrs"].get("id")
    label_for = f' for="{escape(target)}"' if target else ""
    return f"<label{label_for}>{draw_input(widget)} {escape(widget['label'])}</label>"


def draw_select_option(widget, renderer):
    return (f'<option value="{escape(widget["value"])}"{attributes(widget["attrs"])}>'
            f'{escape(widget["label"])}</option>')


def draw_option(option, renderer):
    draw = DRAWN_IN_PYTHON.get(option["template_name"])
    if draw is None:  # a widget's own option template
        return renderer.render(option["template_name"], {"widget": option})
    return draw(option, renderer)


def draw_groups(widget, renderer, group_start, option, group_end):
    """The options in their groups (``widget["optgroups"]``), in the given markup."""
    parts = []
    for group_name, options, _ in widget["optgroups"]:
        if group_name:
            parts.append(group_start.format(escape(group_name)))
        parts.extend(option.format(draw_option(choice, renderer)) for choice in options)
        if group_name:
            parts.append(group_end)
    return "".join(parts)


def draw_select(widget, renderer):
    options = draw_groups(widget, renderer, '\n  <optgroup label="{}">', "\n  {}",
                          "\n  </optgroup>")
    return (f'<select name="{escape(widget["name"])}"{attributes(widget["attrs"])}>{options}'
            "\n</select>")


def draw_multiple_input(widget, renderer):
    """Checkboxes and radio buttons (django/forms/widgets/multiple_input.html)."""
    attrs = widget["attrs"]
    element_id = f' id="{escape(attrs["id"])}"' if attrs.get("id") else ""
    css_class = f' class="{escape(attrs["class"])}"' if attrs.get("class") else ""
    options = draw_groups(widget, renderer, "\n  <div><label>{}</label>", "<div>\n    {}</div>",
                          "\n  </div>")
    return f"<div{element_id}{css_class}>{options}\n</div>"


def draw_textarea(widget, renderer):
    value = escape(widget["value"]) if widget["value"] else ""
    return (f'<textarea name="{escape(widget["name"])}"{attributes(widget["attrs"])}>\n'
            f"{value}</textarea>")


def draw_field_group(context, renderer):
    """django/forms/field.html: a field's label (or legend), help text, errors and widget,
    each on its line as the template writes them."""
    field = context["field"]
    if field.use_fieldset:
        described = field.aria_describedby
        described = f' aria-describedby="{escape(described)}"' if described else ""
        legend = field.legend_tag() if field.label else ""
        opening = f"\n  <fieldset{described}>\n  {legend}\n"
    else:
        opening = f"\n  {field.label_tag() if field.label else ''}\n"
    help_text = ""
    if field.help_text:
        help_id = f' id="{escape(field.auto_id)}_helptext"' if field.auto_id else ""
        help_text = f'<div class="helptext"{help_id}>{field.help_text}</div>'
    closing = "</fieldset>" if field.use_fieldset else ""
    return f"{opening}\n{help_text}\n{field.errors}\n{field}\n{closing}"


def draw_label(context, renderer):
    """django/forms/label.html."""
    label = escape(context["label"])
    if not context["use_tag"]:
        return label
    tag = escape(context["tag"])
    attrs = attributes(context["attrs"]) if context["attrs"] else ""
    return f"<{tag}{attrs}>{label}</{tag}>"


def draw_error_list(context, renderer):
    """django/forms/errors/list/default.html and ul.html."""
    errors = context["errors"]
    if not errors:
        return ""
    field_id = getattr(errors, "field_id", None)
    element_id = f' id="{escape(field_id)}_error"' if field_id else ""
    items = "".join(f"<li>{escape(error)}</li>" for error in errors)
    return f'<ul class="{escape(context["error_class"])}"{element_id}>{items}</ul>'


INPUTS = ("checkbox", "color", "date", "datetime", "email", "hidden", "input", "number",
          "password", "search", "tel", "text", "time", "url")
DRAWN_IN_PYTHON = {
    **{f"{WIDGETS}{name}.html": draw_input for name in INPUTS},
    f"{WIDGETS}input_option.html": draw_input_option,
    f"{WIDGETS}checkbox_option.html": draw_input_option,
    f"{WIDGETS}radio_option.html": draw_input_option,
    f"{WIDGETS}select_option.html": draw_select_option,
    f"{WIDGETS}select.html": draw_select,
    f"{WIDGETS}checkbox_select.html": draw_multiple_input,
    f"{WIDGETS}radio.html": draw_multiple_input,
    f"{WIDGETS}multiple_input.html": draw_multiple_input,
    f"{WIDGETS}textarea.html": draw_textarea,
}
DRAWN_FROM_CONTEXT = {
    "django/forms/field.html": draw_field_group,
    "django/forms/label.html": draw_label,
    "django/forms/errors/list/default.html": draw_error_list,
    "django/forms/errors/list/ul.html": draw_error_list,
}
