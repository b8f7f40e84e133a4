"""The example's tables: memberships and messages. ``Message.idempotency_key`` is unique, so a
retried persistence callback finds the first row instead of storing twice."""

from django.db import models


class Member(models.Model):
    conversation_id = models.CharField(max_length=128)
    user_id = models.CharField(max_length=128)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation_id", "user_id"], name="one_membership")
        ]


class Message(models.Model):
    idempotency_key = models.CharField(max_length=64, unique=True)
    conversation_id = models.CharField(max_length=128, db_index=True)
    sender_id = models.CharField(max_length=128)
    client_msg_id = models.CharField(max_length=128)
    text = models.TextField()
    created_at = models.BigIntegerField()

    @property
    def public_id(self) -> str:
        return f"dj-{self.pk}"


class ReadPosition(models.Model):
    conversation_id = models.CharField(max_length=128)
    user_id = models.CharField(max_length=128)
    seq = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation_id", "user_id"], name="one_read")
        ]
