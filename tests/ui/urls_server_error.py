"""The project's URLs and error handlers plus two views that fail on the database (test only)."""

from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

import controltower.urls as project


def page_needing_the_database(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"{User.objects.count()} users")


class ApiNeedingTheDatabase(APIView):
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        return Response({"users": User.objects.count()})


urlpatterns = [
    path("test-only/needs-the-database/", page_needing_the_database),
    path("api/v1/test-only/needs-the-database/", ApiNeedingTheDatabase.as_view()),
    *project.urlpatterns,
]

handler404 = project.handler404
handler403 = project.handler403
handler500 = project.handler500
