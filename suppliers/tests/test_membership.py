"""The portal's user -> supplier resolution: the supplier comes with the user."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from suppliers.backends import PortalModelBackend
from suppliers.selectors import supplier_for_user
from testsupport.factories import make_supplier_user

pytestmark = pytest.mark.django_db


def test_backend_loads_the_supplier_with_the_user(acme, django_assert_num_queries):
    user = make_supplier_user(supplier=acme)
    with django_assert_num_queries(1):
        loaded = PortalModelBackend().get_user(user.pk)
    with django_assert_num_queries(0):
        assert supplier_for_user(user=loaded) == acme


def test_user_without_a_supplier_has_none_without_a_query(django_assert_num_queries):
    user = get_user_model().objects.create_user(username="staff", password="x-Pass-12345")
    loaded = PortalModelBackend().get_user(user.pk)
    with django_assert_num_queries(0):
        assert supplier_for_user(user=loaded) is None


def test_a_user_loaded_elsewhere_costs_one_query(acme, django_assert_num_queries):
    user = make_supplier_user(supplier=acme)
    plain = get_user_model().objects.get(pk=user.pk)
    with django_assert_num_queries(1):
        assert supplier_for_user(user=plain) == acme


def test_inactive_user_is_not_loaded(acme):
    user = make_supplier_user(supplier=acme)
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert PortalModelBackend().get_user(user.pk) is None
    assert PortalModelBackend().get_user(user.pk + 1000) is None


def test_portal_request_reads_no_supplier_query_of_its_own(client, acme):
    client.force_login(make_supplier_user(supplier=acme))
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/settings/api-tokens/")
    assert response.status_code == 200
    membership_reads = [q["sql"] for q in captured if "suppliers_suppliermembership" in q["sql"]]
    assert len(membership_reads) == 1 and "auth_user" in membership_reads[0]
