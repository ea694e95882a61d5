"""What tests and benchmarks share: real servers, worker processes, test data, waiting.

The project's tests and `bench/` both import from here (never from an app's `tests` folder):
`smtp` (aiosmtpd) and `http` (a scripted HTTP receiver), `sshd` (a private OpenSSH SFTP
server), `processes` (our own Redis, Celery workers, the dispatcher), `factories` (test data
made through the app's services), `waiting` (`wait_until`, `free_port`), `executables`
(find a server binary or skip/fail) and `commands` (run a management command in-process).
"""
