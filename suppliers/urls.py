from django.urls import path

from . import views

app_name = "suppliers"

urlpatterns = [
    path("settings/api-tokens/", views.api_tokens, name="api-tokens"),
    path(
        "settings/api-tokens/<int:token_id>/revoke/",
        views.api_token_revoke_view,
        name="api-token-revoke",
    ),
]
