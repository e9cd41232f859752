"""Loading the shared secret, deriving per-purpose keys and computing key fingerprints.

The shared secret is the one thing that separates an encoding from a dictionary attack, so
pplink treats it strictly:

* it is read from a file (``--secret-file``) or from the ``PPLINK_SECRET`` environment
  variable, never from a command-line argument;
* :class:`Secret` never shows its material in ``repr``/``str``, logs or exceptions;
* every use gets its own key, derived with HKDF-SHA256 (RFC 5869) from the secret with the
  project name as salt and the purpose (``"token/bsn"``, ``"bloom/clk/surname"`` ...) as info,
  so a key leaked for one purpose says nothing about another, and projects cannot join tokens
  (the per-project key is pplink's salting mechanism for tokens; see docs/security-model.md,
  "What keyed tokens reveal");
* encoded files carry a *fingerprint* (a separate HKDF output), never the key.

Example:
    >>> secret = Secret.generate()
    >>> key = secret.derive("token/bsn", project="demo")
    >>> len(key)
    32
    >>> "pplink-secret" in repr(secret)
    False
"""

from __future__ import annotations

import base64
import hmac
import os
import secrets as _secrets
import stat
import warnings
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pplink.errors import SecretError

__all__ = [
    "SECRET_ENV_VAR",
    "Secret",
    "SecretPermissionWarning",
    "load_secret",
    "write_secret_file",
    "fingerprints_equal",
]

SECRET_ENV_VAR = "PPLINK_SECRET"
_PREFIX = "pplink-secret-v1:"
_GENERATED_BYTES = 32
_MIN_PASSPHRASE_CHARS = 24
_MIN_DISTINCT_CHARS = 10
_HKDF_SALT_PREFIX = b"pplink/v1/project:"


class SecretPermissionWarning(UserWarning):
    """A secret file can be read by users other than its owner."""


class Secret:
    """The shared secret of a linkage project. Its material never leaves this object.

    Create one with :meth:`generate`, :func:`load_secret` or :meth:`from_text`.

    Example:
        >>> s = Secret.from_text("pplink-secret-v1:" + "A" * 43)
        Traceback (most recent call last):
        ...
        pplink.errors.SecretError: secret is too weak: ...
    """

    __slots__ = ("_material",)

    def __init__(self, material: bytes) -> None:
        if not isinstance(material, bytes | bytearray):
            raise SecretError("secret material must be bytes")
        _check_strength(bytes(material))
        self._material = bytes(material)

    # -- construction -----------------------------------------------------------------
    @classmethod
    def generate(cls) -> Secret:
        """Return a new random 256-bit secret from the operating system's CSPRNG.

        Example:
            >>> Secret.generate() != Secret.generate()
            True
        """
        return cls(_secrets.token_bytes(_GENERATED_BYTES))

    @classmethod
    def from_text(cls, text: str) -> Secret:
        """Parse the text form: ``pplink-secret-v1:<base64>`` or a long passphrase.

        A passphrase must have at least 24 characters with at least 10 different ones;
        generated secrets (``pplink keygen``) are always preferable.

        Example:
            >>> s = Secret.generate()
            >>> Secret.from_text(s.to_text()) == s
            True
        """
        text = text.strip()
        if not text:
            raise SecretError("secret is empty; create one with `pplink keygen -o FILE`")
        if text.startswith(_PREFIX):
            encoded = text[len(_PREFIX) :]
            try:
                material = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            except (ValueError, TypeError):
                raise SecretError(
                    "secret has the pplink-secret-v1 prefix but its body is not valid base64; "
                    "was the file truncated or edited?"
                ) from None
            return cls(material)
        if len(text) < _MIN_PASSPHRASE_CHARS or len(set(text)) < _MIN_DISTINCT_CHARS:
            raise SecretError(
                "secret is too weak: a passphrase needs at least "
                f"{_MIN_PASSPHRASE_CHARS} characters with {_MIN_DISTINCT_CHARS} different ones; "
                "generate a strong one with `pplink keygen -o FILE`"
            )
        # Every encoded file carries a key fingerprint, so a guessable passphrase could be
        # tested offline. Stretch it with scrypt (memory-hard) before it becomes key material.
        return cls(_stretch_passphrase(text))

    def to_text(self) -> str:
        """The text form written by ``pplink keygen`` (handle with care: this IS the secret)."""
        return _PREFIX + base64.urlsafe_b64encode(self._material).decode("ascii").rstrip("=")

    # -- use ----------------------------------------------------------------------------
    def derive(self, purpose: str, *, project: str, length: int = 32) -> bytes:
        """Derive the key for one purpose within one project with HKDF-SHA256 (RFC 5869).

        The project name is the HKDF salt (after a fixed ``pplink/v1/project:`` prefix) and
        the purpose is the HKDF info, so every (project, purpose) pair gets an unrelated key:
        tokens of two projects never match, even when the projects share a secret. The project
        name is a public label (it is written into every encoded file); the secret is what
        keeps the keys unknown.

        Example:
            >>> s = Secret.generate()
            >>> s.derive("a", project="p") != s.derive("b", project="p")
            True
            >>> s.derive("a", project="p") != s.derive("a", project="q")
            True
        """
        if not purpose:
            raise ValueError("purpose must be a non-empty string")
        if not isinstance(project, str) or not project:
            raise ValueError("project must be a non-empty string")
        hkdf = HKDF(
            algorithm=hashes.SHA256(),
            length=length,
            salt=_HKDF_SALT_PREFIX + project.encode("utf-8"),
            info=purpose.encode("utf-8"),
        )
        return hkdf.derive(self._material)

    def fingerprint(self, *, project: str) -> str:
        """A 128-bit hex fingerprint that identifies the key without revealing it.

        Two parties with the same secret and project get the same fingerprint; another
        project name or another secret gives another fingerprint. It is its own HKDF output
        (purpose ``key-fingerprint``), so it equals no key that encodes data, and it cannot
        be turned back into the secret.

        Example:
            >>> s = Secret.generate()
            >>> len(s.fingerprint(project="p"))
            32
            >>> s.fingerprint(project="p") != s.fingerprint(project="q")
            True
        """
        return self.derive("key-fingerprint", project=project, length=16).hex()

    # -- hygiene ------------------------------------------------------------------------
    def __repr__(self) -> str:
        return "Secret(<redacted>)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._material, other._material)

    def __hash__(self) -> int:  # pragma: no cover - deliberately unhashable by content
        return id(self)

    def __reduce__(self) -> object:
        raise TypeError("Secret objects cannot be pickled; pass the secret file path instead")


def _stretch_passphrase(text: str) -> bytes:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    kdf = Scrypt(salt=b"pplink/v1/passphrase", length=32, n=2**15, r=8, p=1)
    return kdf.derive(text.encode("utf-8"))


def _check_strength(material: bytes) -> None:
    if len(material) < 16:
        raise SecretError(
            f"secret is too weak: it has {len(material)} bytes, at least 16 are required; "
            "generate one with `pplink keygen -o FILE`"
        )
    if len(set(material)) < 8:
        raise SecretError(
            "secret is too weak: it repeats too few distinct byte values; "
            "generate one with `pplink keygen -o FILE`"
        )


def fingerprints_equal(a: str, b: str) -> bool:
    """Compare two fingerprints in constant time.

    Example:
        >>> fingerprints_equal("ab", "ab"), fingerprints_equal("ab", "ac")
        (True, False)
    """
    return hmac.compare_digest(a.encode("ascii", "replace"), b.encode("ascii", "replace"))


def load_secret(path: str | os.PathLike[str] | None = None, *, env: str = SECRET_ENV_VAR) -> Secret:
    """Load the secret from ``path`` or, when no path is given, from the environment.

    A file readable by group or others triggers a :class:`SecretPermissionWarning`.

    Example:
        >>> import os, tempfile
        >>> d = tempfile.mkdtemp(); p = os.path.join(d, "k")
        >>> _ = write_secret_file(p)
        >>> isinstance(load_secret(p), Secret)
        True
    """
    if path is not None:
        p = Path(path)
        try:
            mode = p.stat().st_mode
            raw = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SecretError(f"secret file {p} does not exist; create it with `pplink keygen -o {p}`") from None
        except IsADirectoryError:
            raise SecretError(f"secret file {p} is a directory, not a file") from None
        except PermissionError:
            raise SecretError(f"secret file {p} cannot be read: permission denied") from None
        except UnicodeDecodeError:
            raise SecretError(f"secret file {p} is not UTF-8 text; create it with `pplink keygen`") from None
        if stat.S_IMODE(mode) & 0o077:
            msg = (
                f"secret file {p} is readable by other users (mode {stat.S_IMODE(mode):o}); "
                f"restrict it with `chmod 600 {p}`"
            )
            warnings.warn(msg, SecretPermissionWarning, stacklevel=2)
        return Secret.from_text(raw)
    value = os.environ.get(env)
    if value is None:
        raise SecretError(
            f"no secret given: pass --secret-file FILE or set the {env} environment variable "
            "(secrets are never accepted as command-line arguments)"
        )
    return Secret.from_text(value)


def write_secret_file(path: str | os.PathLike[str], secret: Secret | None = None, *, overwrite: bool = False) -> Secret:
    """Write ``secret`` (or a new random one) to ``path`` with mode 0600 and return it.

    Refuses to overwrite an existing file unless ``overwrite`` is true.

    Example:
        >>> import os, tempfile, stat
        >>> p = os.path.join(tempfile.mkdtemp(), "project.key")
        >>> _ = write_secret_file(p)
        >>> oct(stat.S_IMODE(os.stat(p).st_mode))
        '0o600'
    """
    secret = secret or Secret.generate()
    p = Path(path)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        fd = os.open(p, flags, 0o600)
    except FileExistsError:
        raise SecretError(f"{p} already exists; refusing to overwrite a secret (use --force)") from None
    except OSError as exc:
        raise SecretError(f"cannot create secret file {p}: {exc.strerror}") from None
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (secret.to_text() + "\n").encode("ascii"))
    finally:
        os.close(fd)
    return secret
