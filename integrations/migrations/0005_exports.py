"""Background exports (integrations/exports.py) and the hourly expiry of their files."""

import django.db.models.deletion
import django.db.models.manager
import spm.tenancy.fields
from django.db import migrations, models

from spm.db.rls import EnableRLS
from spm.db.tenant_keys import TenantKeys
from spm.schedules import Schedule, schedules_migration

SCHEDULES = [
    Schedule(
        name="Delete expired exports",
        task="integrations.tasks.exports_expire_all",
        crontab={"minute": "40"},
    ),
]


class Migration(migrations.Migration):

    dependencies = [
        ('integrations', '0004_audit_trail'),
        ('spm', '0008_client_connection_check'),
        ('django_celery_beat', '0019_alter_periodictasks_options'),
    ]

    operations = [
        migrations.CreateModel(
            name='Export',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('path', models.CharField(max_length=2000)),
                ('format', models.CharField(choices=[('csv', 'CSV'), ('xlsx', 'XLSX')], max_length=4)),
                ('file', models.CharField(blank=True, max_length=300)),
                ('size', models.BigIntegerField(default=0)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('expires_at', models.DateTimeField()),
                ('requested_by', spm.tenancy.fields.TenantForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='spm.membership')),
                ('task_run', spm.tenancy.fields.TenantForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='spm.taskrun')),
                ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='spm.tenant')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'indexes': [models.Index(fields=['tenant', 'requested_by', 'created_at'], name='export_requester'), models.Index(fields=['tenant', 'expires_at'], name='export_tenant_expiry')],
            },
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('all_tenants', django.db.models.manager.Manager()),
            ],
        ),
        EnableRLS("integrations_export"),
        TenantKeys("export"),
        schedules_migration(SCHEDULES),
    ]
