from django.urls import path

from . import views, views_formats, views_hosted, views_sftp

app_name = "delivery"

urlpatterns = [
    path("settings/", views.settings_page, name="settings"),
    path("settings/email/", views.email_save, name="email-save"),
    path("settings/webhook/", views.webhook_save, name="webhook-save"),
    path("settings/webhook/reveal/", views.webhook_secret_reveal, name="webhook-reveal"),
    path("settings/webhook/rotate/", views.webhook_secret_rotate_view, name="webhook-rotate"),
    path("settings/webhook/test/", views.webhook_test, name="webhook-test"),
    path("settings/sftp/", views_sftp.sftp_save, name="sftp-save"),
    path("settings/sftp/test/", views_sftp.sftp_test, name="sftp-test"),
    path("settings/formats/", views_formats.formats_page, name="formats"),
    path("settings/hosted-sftp/keys/", views_hosted.hosted_key_add_view, name="hosted-key-add"),
    path(
        "settings/hosted-sftp/keys/remove/",
        views_hosted.hosted_key_remove_view,
        name="hosted-key-remove",
    ),
    path(
        "settings/hosted-sftp/password/", views_hosted.hosted_password_view, name="hosted-password"
    ),
    path("settings/<str:channel>/off/", views.channel_off, name="channel-off"),
    path("deliveries/", views.deliveries_page, name="deliveries"),
    path(
        "deliveries/redeliver-failed/",
        views.deliveries_redeliver_failed,
        name="redeliver-failed",
    ),
    path(
        "deliveries/<int:delivery_id>/redeliver/",
        views.delivery_redeliver_view,
        name="redeliver",
    ),
]
