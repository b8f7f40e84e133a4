from django.db import migrations, models


def seed(apps, schema_editor):
    Member = apps.get_model("chat", "Member")
    for conversation_id, user_id in [
        ("general", "alice"), ("general", "bob"), ("random", "alice"), ("random", "carol"),
    ]:
        Member.objects.create(conversation_id=conversation_id, user_id=user_id)


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Member",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
                ("conversation_id", models.CharField(max_length=128)),
                ("user_id", models.CharField(max_length=128)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("conversation_id", "user_id"), name="one_membership"
                    )
                ]
            },
        ),
        migrations.CreateModel(
            name="Message",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
                ("idempotency_key", models.CharField(max_length=64, unique=True)),
                ("conversation_id", models.CharField(db_index=True, max_length=128)),
                ("sender_id", models.CharField(max_length=128)),
                ("client_msg_id", models.CharField(max_length=128)),
                ("text", models.TextField()),
                ("created_at", models.BigIntegerField()),
            ],
        ),
        migrations.CreateModel(
            name="ReadPosition",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
                ("conversation_id", models.CharField(max_length=128)),
                ("user_id", models.CharField(max_length=128)),
                ("seq", models.BigIntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("conversation_id", "user_id"), name="one_read")
                ]
            },
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
