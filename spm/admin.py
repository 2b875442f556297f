"""Django admin for platform operators: users and the tenant registry.

Tenant-owned data is managed in the product's own pages; the admin site runs
without a tenant context, so Row Level Security shows it no tenant rows.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from spm.models import Tenant, User


@admin.register(User)
class SpmUserAdmin(UserAdmin):
    list_display = ("email", "first_name", "last_name", "is_staff", "is_active", "last_login")
    search_fields = ("email", "first_name", "last_name")
    ordering = ("email",)


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "slug",
        "currency",
        "fiscal_year_start_month",
        "time_zone",
        "created_at",
    )
    search_fields = ("name", "slug")
    readonly_fields = ("created_at",)
