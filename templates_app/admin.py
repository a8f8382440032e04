from django.contrib import admin

from templates_app.models import Template


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "organisation", "version", "updated_at"]
    list_filter = ["organisation"]
    search_fields = ["slug", "name", "subject"]
    list_select_related = ["organisation"]
    readonly_fields = ["version", "created_at", "updated_at"]
