from django.shortcuts import render


def render_page(request, template, context, partial=None, status=200):
    """The whole page, or for an HTMX request (not a boosted navigation) only the named partial that changed."""
    if partial and request.htmx and not request.htmx.boosted:
        template = f"{template}#{partial}"
    return render(request, template, context, status=status)
