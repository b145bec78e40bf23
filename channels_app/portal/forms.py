"""The public forms: what the citizen types, checked field by field, with
errors in French next to the field."""

import phonenumbers
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from channels_app.models import CallbackRequest, FormSubmission
from channels_app.portal.orientation import orientation_from_token
from channels_app.portal.uploads import check_uploads
from contacts.models import normalise_phone

POSTCODE_HELP = _("5 digits, e.g. 99100")
# The box the citizen ticks; its words, as shown to them, are kept as the proof
# of their consent (contacts.ConsentRecord).
SMS_CONSENT_WORDING = _("I agree to receive SMS about my request (acknowledgement, answer notices, reminders).")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        return check_uploads(files)


def clean_phone(value, mobile=False):
    if not value:
        return ""
    try:
        e164 = normalise_phone(value)
    except ValueError:
        raise ValidationError(_("Enter a valid phone number, e.g. 06 12 34 56 78.")) from None
    number = phonenumbers.parse(e164)
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_("Enter a valid phone number, e.g. 06 12 34 56 78."))
    if mobile and phonenumbers.number_type(number) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise ValidationError(_("SMS need a mobile number (06 or 07)."))
    return e164


class PublicForm(forms.Form):
    """Fields every public form shares: the double-submission token, the
    orientation that led here and a honeypot field robots fill in."""

    submission = forms.CharField(widget=forms.HiddenInput)
    orientation = forms.CharField(widget=forms.HiddenInput, required=False, max_length=100)
    website = forms.CharField(
        required=False,
        label=_("Leave this field empty"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def clean_orientation(self):
        # A token that is not ours (edited, or from another site) is only a
        # lost hint: the request is still sent, without the orientation.
        return orientation_from_token(self.cleaned_data.get("orientation"))

    def is_robot(self):
        return bool(self.data.get("website"))


class ContactForm(PublicForm):
    name = forms.CharField(label=_("Your name"), max_length=200, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    email = forms.EmailField(
        label=_("Email address"),
        required=False,
        max_length=254,
        help_text=_("e.g. prenom.nom@exemple.fr"),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = forms.CharField(
        label=_("Phone number"),
        required=False,
        max_length=30,
        help_text=_("e.g. 06 12 34 56 78"),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
    )
    postcode = forms.RegexField(
        label=_("Postcode"),
        regex=r"^\d{5}$",
        required=False,
        help_text=POSTCODE_HELP,
        error_messages={"invalid": _("Enter a postcode of 5 digits, e.g. 99100.")},
        widget=forms.TextInput(attrs={"autocomplete": "postal-code", "inputmode": "numeric"}),
    )
    message = forms.CharField(
        label=_("Your message"),
        max_length=settings.FORM_MAX_MESSAGE_CHARS,
        widget=forms.Textarea(attrs={"rows": 8}),
        error_messages={
            "max_length": _("Your message is too long: %(limit_value)d characters at most (it has %(show_value)d).")
        },
    )
    attachments = MultipleFileField(
        label=_("Documents (optional)"),
        help_text=_("Up to %(count)d files of %(size)d MB each: PDF, images, office documents.")
        % {"count": settings.FORM_MAX_FILES, "size": settings.FORM_MAX_FILE_BYTES // (1024 * 1024)},
    )
    preferred_channel = forms.ChoiceField(
        label=_("How would you like to be answered?"),
        choices=FormSubmission.Answer.choices,
        initial=FormSubmission.Answer.EMAIL,
        widget=forms.RadioSelect,
    )
    sms_consent = forms.BooleanField(label=SMS_CONSENT_WORDING, required=False)

    def clean_phone(self):
        return clean_phone(self.cleaned_data.get("phone"))

    def clean(self):
        data = super().clean()
        email, phone = data.get("email"), data.get("phone")
        if "email" in data and "phone" in data and not email and not phone:
            self.add_error("email", _("Give an email address or a phone number, so that we can answer you."))
        preferred = data.get("preferred_channel")
        if preferred == FormSubmission.Answer.EMAIL and "email" in data and not email and phone:
            self.add_error("email", _("Give an email address to be answered by email."))
        if preferred in (FormSubmission.Answer.SMS, FormSubmission.Answer.PHONE) and "phone" in data and not phone:
            self.add_error("phone", _("Give a phone number to be answered by SMS or by phone."))
        if preferred == FormSubmission.Answer.SMS and not data.get("sms_consent"):
            self.add_error("sms_consent", _("Tick this box to be answered by SMS."))
        if preferred == FormSubmission.Answer.SMS and phone:
            try:
                clean_phone(phone, mobile=True)
            except ValidationError as error:
                self.add_error("phone", error)
        return data


class CallbackForm(PublicForm):
    name = forms.CharField(label=_("Your name"), max_length=200, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    phone = forms.CharField(
        label=_("Phone number to call"),
        max_length=30,
        help_text=_("e.g. 06 12 34 56 78"),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
    )
    slots = forms.MultipleChoiceField(
        label=_("When can we call you? (working days)"),
        choices=CallbackRequest.Slot.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one time slot.")},
    )
    postcode = ContactForm.base_fields["postcode"]
    message = forms.CharField(
        label=_("What is it about? (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def clean_phone(self):
        return clean_phone(self.cleaned_data.get("phone"))


class FollowupReplyForm(PublicForm):
    message = forms.CharField(
        label=_("Your message"),
        max_length=settings.FORM_MAX_MESSAGE_CHARS,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    attachments = ContactForm.base_fields["attachments"]


class RatingForm(forms.Form):
    score = forms.TypedChoiceField(
        label=_("How satisfied are you with the answer?"),
        choices=[(str(n), str(n)) for n in range(5, 0, -1)],
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose a rating from 1 to 5.")},
    )
    comment = forms.CharField(
        label=_("Comment (optional)"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class NewLinkForm(forms.Form):
    address = forms.CharField(
        label=_("Your email address or phone number"),
        max_length=254,
        help_text=_("The one you gave with your request."),
    )

    def clean_address(self):
        value = self.cleaned_data["address"].strip()
        if "@" in value:
            forms.EmailField().clean(value)
            return value
        clean_phone(value)
        return value
