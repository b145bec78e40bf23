from django.contrib import admin

from kb.models import Organisation, Service, Topic


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


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "organisation", "parent"]
    list_filter = ["organisation"]
    search_fields = ["title", "slug"]
