"""The hosted SFTP server that is part of the product (issue 14).

- credentials.py: suppliers' logins (public keys, one generated password), services and reads.
- storage.py: the hosted storage (HOSTED_SFTP_ROOT/<slug>/orders, updates/...), shared by the
  server and every worker.
- hostkey.py: the server's host key, generated once and kept; its fingerprint.
- throttle.py: failed logins per user and address, in the cache, like the portal's.
- server.py: the asyncssh server with a per-session chroot (`manage.py serve_sftp`).
"""
