"""Date and time formats for en-gb (FORMAT_MODULE_PATH): what the admin and any datetime
rendered without an explicit format show, the same as the portal's pages ("1 Dec 2026,
09:41"; the portal's templates name these formats too), in TIME_ZONE with its abbreviation."""

DATETIME_FORMAT = "j M Y, H:i T"
DATE_FORMAT = "j M Y"
TIME_FORMAT = "H:i"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATE_FORMAT = "j M Y"
