"""Authentication: backends, passwords, login URLs, lockouts (django-axes), password reset."""

from datetime import timedelta

from .base import env

# --- Auth ---------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, reading the user's supplier membership with the user.
    "suppliers.backends.PortalModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/orders/"
# A page that says so, with a link to log in again (templates/registration/logged_out.html).
LOGOUT_REDIRECT_URL = "/accounts/logged-out/"

AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
# A lockout is of one user name from one address: failures from an address do not lock the
# user out everywhere, and failures on unknown names do not lock out a known one.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# And failed logins from one address, whatever the user name, per AXES_COOLOFF_MINUTES: past
# it that address's logins (the portal's and the admin's) are refused before any password is
# checked (suppliers/login_limit.py). Each check is a slow hash, a made-up name's as much as
# a real one's: one address trying new names kept the web workers hashing, never locked out.
LOGIN_ADDRESS_FAILURE_LIMIT = env.int("LOGIN_ADDRESS_FAILURE_LIMIT", default=30)
# The client's address: REMOTE_ADDR, or with PROXY_COUNT proxies in front the address they
# recorded in X-Forwarded-For (common/http.py). django-ipware (axes' own way) is not installed.
PROXY_COUNT = env.int("PROXY_COUNT", default=0)  # 0 or more: common/checks.py
AXES_CLIENT_IP_CALLABLE = "common.http.client_address"
AXES_RESET_ON_SUCCESS = True
# The user name tried, cut to the longest a login can have (axes stores it in 255 characters).
AXES_USERNAME_CALLABLE = "suppliers.auth_views.login_username"
# A locked-out login gets a page that says which user name from which address is paused, and
# for how long (HTTP 429), not a bare error.
AXES_LOCKOUT_CALLABLE = "suppliers.auth_views.login_locked_out"
# A wrong current password on the password change page is a failure too; axes keeps the
# failing POST's fields, so these are masked (it masks "password" itself).
AXES_SENSITIVE_PARAMETERS = ["old_password", "new_password1", "new_password2"]

# Password reset links are built from SITE_URL, never the request's host; they expire after a day.
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=60 * 60 * 24)
# Reset requests per client address and per email address (common.ratelimit rates); over
# either the page looks the same and nothing is sent (checked: suppliers/checks.py).
PASSWORD_RESET_ADDRESS_RATE = env.str("PASSWORD_RESET_ADDRESS_RATE", default="5/hour")
PASSWORD_RESET_EMAIL_RATE = env.str("PASSWORD_RESET_EMAIL_RATE", default="3/hour")
