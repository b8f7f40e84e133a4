"""Settings of the Django example: one app (``chat``), SQLite, and Parley's settings from the
environment (the same variables as the FastAPI example)."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
INSTALLED_APPS = ["chat"]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "chat.urls"
WSGI_APPLICATION = "chat.wsgi.application"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DATABASE", str(BASE_DIR / "db.sqlite3")),
    }
}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Parley
PARLEY = {
    "JWT_SECRET": os.environ.get("JWT_SECRET", "change-me-change-me-change-me-change-me"),
    "JWT_ISSUER": os.environ.get("JWT_ISSUER", "django-app"),
    "JWT_AUDIENCE": os.environ.get("JWT_AUDIENCE", "parley"),
    "CALLBACK_SECRET": os.environ.get("CALLBACK_SECRET", "change-me"),
    "API": os.environ.get("PARLEY_API", "http://127.0.0.1:8080"),
    "API_KEY": os.environ.get("PARLEY_API_KEY", "change-me"),
    "ADMIN_KEY": os.environ.get("ADMIN_KEY", "admin"),
}
