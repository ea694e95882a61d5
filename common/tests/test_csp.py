"""The Content-Security-Policy headers are django-csp's, though built once from the settings."""

import pytest
from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from csp.utils import build_policy
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from common.csp import CSPMiddleware

pytestmark = pytest.mark.django_db


def test_pages_and_api_answers_carry_the_settings_policy_and_the_docs_none(client):
    policy = build_policy()
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    for url in ("/accounts/login/", "/api/v1/orders/", "/accounts/login/"):
        response = client.get(url)
        assert response[HEADER] == policy, url
        assert HEADER_REPORT_ONLY not in response
    assert HEADER not in client.get("/api/docs/")


def test_a_change_of_the_settings_changes_the_headers(client):
    assert "img-src 'self' data:" in client.get("/accounts/login/")[HEADER]
    changed = {"DIRECTIVES": {"default-src": ["'none'"]}}
    with override_settings(
        CONTENT_SECURITY_POLICY=changed, CONTENT_SECURITY_POLICY_REPORT_ONLY=changed
    ):
        response = client.get("/accounts/login/")
        assert response[HEADER] == "default-src 'none'"
        assert response[HEADER_REPORT_ONLY] == "default-src 'none'"
    response = client.get("/accounts/login/")
    assert "img-src 'self' data:" in response[HEADER]
    assert HEADER_REPORT_ONLY not in response


@pytest.mark.parametrize(
    "change",
    [
        {"_csp_update": {"img-src": ["https://img.example.com"]}},
        {"_csp_replace": {"script-src": ["'self'", "https://cdn.example.com"]}},
        {"_csp_exempt": True},
    ],
)
def test_a_response_a_decorator_changed_gets_what_django_csp_gives_it(change):
    def response_for(middleware_class):
        request = RequestFactory().get("/accounts/login/")
        middleware = middleware_class(lambda request: HttpResponse())
        middleware.process_request(request)
        response = HttpResponse("x")
        for name, value in change.items():
            setattr(response, name, value)
        return middleware.process_response(request, response)

    ours, theirs = response_for(CSPMiddleware), response_for(DjangoCSPMiddleware)
    assert ours.get(HEADER) == theirs.get(HEADER)
    assert ours.get(HEADER) != build_policy()


def test_a_nonce_asked_for_is_django_csps_and_after_the_header_it_is_an_error():
    request = RequestFactory().get("/accounts/login/")
    middleware = CSPMiddleware(lambda request: HttpResponse())
    middleware.process_request(request)
    nonce = str(request.csp_nonce)
    response = middleware.process_response(request, HttpResponse("x"))
    assert response[HEADER] == build_policy(nonce=nonce)

    request = RequestFactory().get("/accounts/login/")
    middleware.process_request(request)
    middleware.process_response(request, HttpResponse("x"))
    with pytest.raises(Exception, match="not available after the CSP header"):
        str(request.csp_nonce)
