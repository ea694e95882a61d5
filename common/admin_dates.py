"""The admin's date drill-down (`date_hierarchy`): a date out of range is a bad filter.

Django reads `?placed_at__year=9999` by making the first day of the next year, and 10000 is
no year (ValueError; a last month or day, or a year past a C long, is an OverflowError),
outside the check that turns a bad filter into the list's "?e=1" notice: a 500 for a typed
URL. Every admin with a `date_hierarchy` takes its changelist from here.
"""

from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList


class DateBoundedChangeList(ChangeList):
    def get_filters(self, request):
        try:
            return super().get_filters(request)
        except (ValueError, OverflowError) as exc:
            raise IncorrectLookupParameters(exc) from exc


class DateHierarchyBounded:
    """ModelAdmin mixin: the changelist above."""

    def get_changelist(self, request, **kwargs):
        return DateBoundedChangeList
