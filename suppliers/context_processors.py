"""What base.html needs on every page: the logged-in user's supplier (or none)."""

from django.utils.functional import SimpleLazyObject

from .selectors import supplier_for_user


def portal(request):
    """`portal_supplier`: the supplier the menu is for; none for a login without one (a
    staff user, say), who then sees no supplier menu. Pages behind `supplier_required`
    have it already; others look it up only when the template asks."""

    def supplier():
        found = getattr(request, "supplier", None)
        if found is not None:
            return found
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        found = supplier_for_user(user=user)
        return found if found is not None and found.is_active else None

    return {"portal_supplier": SimpleLazyObject(supplier)}
