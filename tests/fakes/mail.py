"""Real local mail servers for the e-mail connector: Debian's dovecot serving IMAP from a Maildir
(started from a generated config in a temporary folder, on a free loopback port, with one
passwd-file user), and an aiosmtpd SMTP sink that keeps what it receives.

Nothing here is a fake of the protocol: imap-tools and smtplib talk to real servers.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Any

USER = "care@orbita.example"
PASSWORD = "imap-secret"
DOVECOT = "/usr/sbin/dovecot"
INSTALL_HINT = (
    "dovecot is not installed: run `apt-get install -y dovecot-imapd` (CI does it in .ci/run)"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Dovecot:
    """dovecot on 127.0.0.1:<port> with one user whose mail is a Maildir under ``root``."""

    def __init__(self, root: Path) -> None:
        if not Path(DOVECOT).exists() and shutil.which("dovecot") is None:
            raise RuntimeError(INSTALL_HINT)
        self.root = root
        self.port = free_port()
        self.maildir = root / "home" / "Maildir"
        self.config = root / "dovecot.conf"
        self.process: subprocess.Popen[bytes] | None = None
        # As root, dovecot drops to its own users; as anyone else it runs as that user.
        me = pwd.getpwuid(os.getuid()).pw_name
        self.mail_user = "dovecot" if os.getuid() == 0 else me
        self.login_user = "dovenull" if os.getuid() == 0 else me

    def start(self) -> Dovecot:
        for folder in ("run", "state", "home", "Maildir"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        for sub in ("cur", "new", "tmp"):
            (self.maildir / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        entry = pwd.getpwnam(self.mail_user)
        self.config.write_text(
            f"""
protocols = imap
listen = 127.0.0.1
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {self.mail_user}
default_internal_group = {self._group()}
default_login_user = {self.login_user}
mail_location = maildir:{self.maildir}
first_valid_uid = {entry.pw_uid}
first_valid_gid = {entry.pw_gid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.root}/passwd
}}
userdb {{
  driver = static
  args = uid={entry.pw_uid} gid={entry.pw_gid} home={self.root}/home
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""
        )
        if os.getuid() == 0:
            for path in [self.root, *self.root.rglob("*")]:
                os.chown(path, entry.pw_uid, entry.pw_gid)
            self.root.chmod(0o755)
        # In the foreground (-F), so the fixture owns the process and stops it by its id.
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=(self.root / "dovecot.stderr").open("wb"),
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                stderr = (self.root / "dovecot.stderr").read_text()
                raise RuntimeError(f"dovecot did not start: {stderr} {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot is not listening: {self.log()}")

    def _group(self) -> str:
        import grp

        return grp.getgrgid(pwd.getpwnam(self.mail_user).pw_gid).gr_name

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        process = getattr(self, "process", None)
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def deliver(self, message: EmailMessage | bytes) -> None:
        """Put a message in the user's inbox, as the mail server's delivery agent would."""
        raw = message if isinstance(message, bytes) else message.as_bytes()
        name = f"{time.time():.6f}.{uuid.uuid4().hex}.escucha-test"
        tmp = self.maildir / "tmp" / name
        tmp.write_bytes(raw)
        if os.getuid() == 0:
            entry = pwd.getpwnam(self.mail_user)
            os.chown(tmp, entry.pw_uid, entry.pw_gid)
        tmp.rename(self.maildir / "new" / name)


class SmtpSink:
    """An aiosmtpd server on a free loopback port that keeps every message it receives."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[bytes] = []
        self._controller: Any = None

    def start(self) -> SmtpSink:
        from aiosmtpd.controller import Controller

        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                sink.received.append(bytes(envelope.original_content or envelope.content))
                return "250 OK"

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
