"""Message catalogs (D13, U11): Babel ``.po`` files, compiled in memory at start-up.

Layout: ``<language>/LC_MESSAGES/messages.po`` with English source strings (``en`` leaves
``msgstr`` empty and falls back to the source). No ``.mo`` file is committed or generated on
disk: :func:`load_translations` parses the ``.po`` with Babel and compiles it into memory, so a
catalog edit takes effect on the next start and the repository holds only reviewable text.

Adding a string: mark it (``_()`` in templates, :func:`N_` in Python tables), add the
``msgid`` with its translation to every catalog; ``tests/e2e/web/test_i18n.py`` extracts the
templates and lists any msgid missing a zh_CN translation.
"""

from __future__ import annotations

from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

CATALOG_DIR = Path(__file__).resolve().parent
DOMAIN = "messages"


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext no-op marker name
    """Mark ``message`` for extraction without translating it now (translated when shown)."""
    return message


def catalog_path(language: str, domain: str = DOMAIN) -> Path:
    """The ``.po`` file of ``language`` (which may not exist); ``customer`` holds customer messages."""
    return CATALOG_DIR / language / "LC_MESSAGES" / f"{domain}.po"


@lru_cache(maxsize=8)
def load_translations(language: str, domain: str = DOMAIN) -> Translations:
    """The compiled catalog of ``language``; a language without a catalog gets the source strings.

    Fuzzy entries are left out, as ``msgfmt`` does, so a half-reviewed translation never shows.
    """
    path = catalog_path(language, domain)
    if not path.exists():
        return Translations()
    with path.open("rb") as po_file:
        catalog = read_po(po_file, locale=language, domain=domain)
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer, domain=domain)
