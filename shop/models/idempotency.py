from django.db import models


class IdempotencyKey(models.Model):
    """One `Idempotency-Key` a caller sent with a POST, and the response that request produced.

    The row is written (and committed) before the request does its work, so a second request with the
    same key finds it: still running (refused), finished (replayed), or sent with another body (refused).
    """

    class State(models.TextChoices):
        RUNNING = "RUNNING", "Running"
        DONE = "DONE", "Done"

    scope = models.CharField(max_length=200, help_text="Whose key: a user, a guest's order token or a client.")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and canonical body.")
    state = models.CharField(max_length=8, choices=State.choices, default=State.RUNNING)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="idempotency_unique_scope_key")]

    def __str__(self):
        return f"{self.key} ({self.state})"
