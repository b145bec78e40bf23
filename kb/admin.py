from django.contrib import admin

from kb.models import Choice, ContactPoint, Organisation, Question, ReplyTemplate, Service, Topic, TopicService


class ContactPointInline(admin.TabularInline):
    model = ContactPoint
    extra = 0


class TopicServiceInline(admin.TabularInline):
    model = TopicService
    extra = 0
    autocomplete_fields = ["service"]


class QuestionInline(admin.TabularInline):
    model = Question
    extra = 0
    show_change_link = True


class ChoiceInline(admin.TabularInline):
    model = Choice
    fk_name = "question"
    extra = 0
    autocomplete_fields = ["target"]


class ServiceInline(admin.TabularInline):
    model = Service
    extra = 0
    fields = ["slug", "name", "is_triage", "sla_hours", "position"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "kind", "timezone", "reference_prefix"]
    list_filter = ["kind"]
    search_fields = ["name", "slug"]
    inlines = [ServiceInline]


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "organisation", "is_triage", "sla_hours"]
    list_filter = ["organisation", "is_triage"]
    search_fields = ["name", "slug"]
    inlines = [ContactPointInline]


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "organisation", "parent", "urgent", "sensitive"]
    list_filter = ["organisation", "urgent", "sensitive"]
    search_fields = ["title", "slug"]
    inlines = [TopicServiceInline, QuestionInline]


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ["text", "topic"]
    search_fields = ["text"]
    inlines = [ChoiceInline]


@admin.register(ReplyTemplate)
class ReplyTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "organisation"]
    list_filter = ["organisation"]
    search_fields = ["name", "slug", "body"]
    filter_horizontal = ["topics"]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        original_clean = form.clean

        def clean(self_form):
            data = original_clean(self_form)
            from kb.templating import validate_template

            for field in ("subject", "body"):
                problems = validate_template(data.get(field) or "")
                if problems:
                    self_form.add_error(field, "; ".join(problems))
            return data

        form.clean = clean
        return form
