"""Bench only: the baseline view, which parses the JSON body and answers 201."""

import json

from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def bare(request):
    if request.method != "POST":
        return JsonResponse({"errors": {"method": ["POST only."]}}, status=405)
    payload = json.loads(request.body)
    return JsonResponse({"reference": payload["reference"], "orders": []}, status=201)


urlpatterns = [path("api/v1/retailer/orders", bare)]
