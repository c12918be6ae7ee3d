"""What text from outside may be stored: the one rule, checked before anything is queued.

`json.loads` accepts a lone surrogate ("\\ud800"), which no database driver can encode: one
such message used to fail the whole write batch it was in, everyone's. NUL and the other
control characters are refused too: they break terminals, CSV exports and some drivers, and no
person types them. Tab, line feed and carriage return stay allowed.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
"""C0 controls but tab/LF/CR, DEL, C1 controls, and surrogates (in a str, always unpaired)."""


def check_storable(value: str) -> str:
    """`value` unchanged, or ValueError naming the first character that cannot be stored."""
    found = _UNSTORABLE.search(value)
    if found is not None:
        char = ord(found.group())
        kind = "an unpaired surrogate" if 0xD800 <= char <= 0xDFFF else "a control character"
        raise ValueError(
            f"contains {kind} (U+{char:04X}) at position {found.start()}; "
            "text must be valid Unicode without control characters other than tab and newlines"
        )
    return value


def is_storable(value: str) -> bool:
    """Whether `check_storable` accepts `value` (without building its error)."""
    return _UNSTORABLE.search(value) is None


def without_unstorable(value: str) -> str:
    """`value` without what `check_storable` refuses: for text we did not take from a user
    and would rather keep than refuse (a model's brief)."""
    return _UNSTORABLE.sub("", value)


StorableText = Annotated[str, AfterValidator(check_storable)]
"""A str field that refuses what `check_storable` refuses (422 over HTTP)."""
