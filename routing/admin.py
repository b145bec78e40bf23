from django.contrib import admin

from routing.models import BusinessHours, RoutingCorrection, Rule, ServiceRouting, SlaPolicy


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation", "stage", "position", "is_active", "stop"]
    list_filter = ["organisation", "stage", "is_active"]
    search_fields = ["name"]
    ordering = ["organisation", "stage", "position"]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = ["__str__", "organisation", "service", "topic", "priority", "first_response_hours"]
    list_filter = ["organisation"]


@admin.register(BusinessHours)
class BusinessHoursAdmin(admin.ModelAdmin):
    list_display = ["organisation"]


@admin.register(ServiceRouting)
class ServiceRoutingAdmin(admin.ModelAdmin):
    list_display = ["service", "mode"]
    list_filter = ["mode"]


@admin.register(RoutingCorrection)
class RoutingCorrectionAdmin(admin.ModelAdmin):
    list_display = ["ticket", "from_topic", "to_topic", "from_service", "to_service", "agent", "created_at"]
    readonly_fields = [f.name for f in RoutingCorrection._meta.fields]

    def has_add_permission(self, request):
        return False
