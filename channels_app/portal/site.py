"""Which organisation a public page speaks for, and through which site.

The same pages answer at ``/contact/<organisation>/`` (the organisation's own
site) and at ``/w/<widget key>/`` (inside another site's iframe).
"""

import functools
from dataclasses import dataclass

from django.http import Http404
from django.utils.translation import gettext as _

from channels_app.models import Branding, Widget
from kb.models import Organisation
from kb.revision import memoised


@dataclass
class Portal:
    organisation: Organisation
    widget: Widget | None = None

    @functools.cached_property
    def branding(self):
        """The organisation's branding (read when a page is rendered)."""
        return Branding.objects.filter(organisation=self.organisation).first() or Branding(
            organisation=self.organisation
        )

    @property
    def base(self):
        """The URL prefix of this portal's pages."""
        if self.widget is not None:
            return f"/w/{self.widget.key}/"
        return f"/contact/{self.organisation.slug}/"

    @property
    def name(self):
        return self.branding.display_name or self.organisation.name

    @property
    def embedded(self):
        return self.widget is not None

    def frame_ancestors(self):
        """The CSP frame-ancestors value: only the widget's allowed origins may
        frame its pages; the organisation's own pages may not be framed."""
        if self.widget is None:
            return "'none'"
        return " ".join(["'self'", *self.widget.allowed_origins]) if self.widget.allowed_origins else "'none'"


def _widget(key):
    return Widget.objects.select_related("organisation").filter(key=key, is_active=True).first()


def _organisation(slug):
    return Organisation.objects.filter(slug=slug).first()


def portal_for(organisation_slug=None, widget_key=None):
    """The portal of a URL. Widgets and organisations are read once per
    knowledge-base revision (a change to either bumps it)."""
    if widget_key is not None:
        widget = memoised(("portal-widget", widget_key), lambda: _widget(widget_key), keep_misses=False)
        if widget is None:
            raise Http404(_("This contact form does not exist or was disabled."))
        organisation = widget.organisation
    else:
        widget = None
        organisation = memoised(
            ("portal-organisation", organisation_slug), lambda: _organisation(organisation_slug), keep_misses=False
        )
        if organisation is None:
            raise Http404(_("This organisation has no contact form here."))
    return Portal(organisation=organisation, widget=widget)
