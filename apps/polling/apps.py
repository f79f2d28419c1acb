from django.apps import AppConfig


class PollingConfig(AppConfig):
    name = "apps.polling"
    label = "polling"
