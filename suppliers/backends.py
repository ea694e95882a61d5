"""The portal's authentication backend: Django's ModelBackend, loading the user's supplier along.

Every portal page needs the user and their supplier (`suppliers.views.supplier_required`);
reading the membership and the supplier with the user, in the query the authentication
middleware makes anyway, saves a query on every request (bench/portal.py).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class PortalModelBackend(ModelBackend):
    def get_user(self, user_id):
        user = (
            get_user_model()
            ._default_manager.select_related("supplier_membership__supplier")
            .filter(pk=user_id)
            .first()
        )
        return user if user is not None and self.user_can_authenticate(user) else None
