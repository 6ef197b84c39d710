"""File modes as ``ls -l`` shows them, from what each engine records.

restic stores Go's ``os.FileMode`` bits (type and special bits high, permissions low); kopia an
octal permission string and a one-letter type. Both become the ten characters people read
(``-rw-r--r--``, ``drwxr-sr-x``), through ``stat.filemode``.
"""

from __future__ import annotations

import stat

_GO_SETUID = 1 << 23
_GO_SETGID = 1 << 22
_GO_STICKY = 1 << 20
_GO_DEVICE = 1 << 26
_GO_NAMED_PIPE = 1 << 25
_GO_SOCKET = 1 << 24
_GO_CHAR_DEVICE = 1 << 21

_TYPE_BITS = {"file": stat.S_IFREG, "dir": stat.S_IFDIR, "symlink": stat.S_IFLNK}


def _other_type(go_mode: int) -> int:
    if go_mode & _GO_NAMED_PIPE:
        return stat.S_IFIFO
    if go_mode & _GO_SOCKET:
        return stat.S_IFSOCK
    if go_mode & _GO_CHAR_DEVICE:
        return stat.S_IFCHR
    if go_mode & _GO_DEVICE:
        return stat.S_IFBLK
    return stat.S_IFREG


def from_go(go_mode: int, kind: str) -> str:
    """Return the ``ls -l`` mode of a restic node (``kind``: file, dir, symlink, other)."""
    unix = go_mode & 0o777
    unix |= stat.S_ISUID if go_mode & _GO_SETUID else 0
    unix |= stat.S_ISGID if go_mode & _GO_SETGID else 0
    unix |= stat.S_ISVTX if go_mode & _GO_STICKY else 0
    return stat.filemode(unix | (_TYPE_BITS.get(kind) or _other_type(go_mode)))


def from_octal(text: str, kind: str) -> str:
    """Return the ``ls -l`` mode of a kopia entry (``0755``; ``kind``: file, dir, symlink)."""
    try:
        unix = int(text, 8) & 0o7777
    except ValueError:
        unix = 0
    return stat.filemode(unix | _TYPE_BITS.get(kind, stat.S_IFREG))
