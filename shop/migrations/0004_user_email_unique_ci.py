"""One account per email address, whatever its case: the database holds it, so two racing sign-ups cannot both win.

auth_user belongs to django.contrib.auth, so the index is raw SQL (valid on PostgreSQL and SQLite alike).
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("shop", "0003_idempotency_key"),
    ]

    operations = [
        migrations.RunSQL(
            sql="CREATE UNIQUE INDEX shop_user_email_unique_ci ON auth_user (lower(email)) WHERE email <> ''",
            reverse_sql="DROP INDEX shop_user_email_unique_ci",
        ),
    ]
