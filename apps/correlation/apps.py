from django.apps import AppConfig


class CorrelationConfig(AppConfig):
    name = "apps.correlation"
    label = "correlation"
