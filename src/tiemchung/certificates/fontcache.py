"""Embedded DejaVu fonts whose subset is built once per process, not once per PDF file.

reportlab embeds, per document, a subset of each TrueType font holding the characters that
document used, in the order it first used them. Every certificate uses different letters (its
name, its site), so every file got a different subset, and building it (glyph tables) and
compressing it (zlib, two ~40 KB fonts) was a third of the cost of a page.

:class:`CachedTTFont` gives every document the same code assignment first — printable ASCII,
the 134 Vietnamese letters outside ASCII and the few symbols the page prints — so every file
embeds the same subset, built and compressed once per process. Measured: the subset of that
fixed alphabet is 22 KB compressed, 8% more than the per-file subsets it replaces (composite
accented glyphs are small; the font's other tables dominate). A character outside the alphabet
(a foreign letter in a site name) is still embedded: reportlab assigns it a free code of the
same subset, which then differs from the cached one and is built for that file (and cached,
a few at most).

Both overrides mirror reportlab's own code (``TTFont.splitString`` is called, never copied;
``TTFontFace.addSubsetObjects`` is reproduced with the font file stream taken from the cache)
and are checked by the tests: text extraction of a rendered page gives back every
Vietnamese letter, and the embedded font streams are byte-identical across two files.
"""

from __future__ import annotations

import string
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from threading import Lock
from typing import Any

from reportlab.pdfbase import pdfdoc
from reportlab.pdfbase.ttfonts import (
    FF_NONSYMBOLIC,
    FF_SYMBOLIC,
    SUBSETN,
    TTFont,
    TTFontFace,
    makeToUnicodeCMap,
)

from tiemchung.identity import VIETNAMESE_LETTERS

#: Every character the certificate's own text and Vietnamese names may use: assigned first in
#: every document, in this order, so every document's subset is the same. 95 ASCII + 134
#: Vietnamese + 3 symbols fit reportlab's first subset (256 codes, ASCII at its own codes).
ALPHABET = "".join(c for c in string.printable if c.isprintable()) + VIETNAMESE_LETTERS + "—·…"
#: Built subsets kept per face: the fixed one, and a few that a rare character extended.
_CACHE_SIZE = 8


class _Formatted(pdfdoc.PDFObject):
    """A PDF value formatted once (a subset's 256 widths: ~1 ms of pure-Python number
    formatting per font per file otherwise)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def format(self, document: Any) -> bytes:
        return self.data


class _CachedFace(TTFontFace):
    """A font face whose embedded (subset, compressed) font file is built once per subset."""

    def __init__(self, filename: str) -> None:
        super().__init__(filename)
        self._built: OrderedDict[tuple[str, tuple[int, ...]], _Subset] = OrderedDict()
        self._lock = Lock()
        self.builds = 0  # how many subsets this face built (the tests read it)

    def subset_parts(self, name: str, subset: list[int]) -> _Subset:
        """The PDF parts of one subset (font file, widths, ToUnicode map), built on first
        use; ``name`` is the subset's font name (``AAAAAA+DejaVuSans``), which the map
        carries."""
        key = (name, tuple(subset))
        with self._lock:
            hit = self._built.get(key)
            if hit is not None:
                self._built.move_to_end(key)
                return hit
        raw = self.makeSubset(list(subset))
        widths = pdfdoc.PDFArray([self.getCharWidth(c) for c in subset]).format(None)
        cmap = makeToUnicodeCMap(name, subset).encode("ascii")
        built = _Subset(zlib.compress(raw), len(raw), widths, zlib.compress(cmap))
        with self._lock:
            self.builds += 1
            self._built[key] = built
            while len(self._built) > _CACHE_SIZE:
                self._built.popitem(last=False)
        return built

    def addSubsetObjects(self, doc: Any, fontname: str, subset: list[int]) -> Any:  # noqa: N802
        """reportlab's ``TTFontFace.addSubsetObjects`` with the font file from the cache:
        the stream carries its ``/Filter`` already, so reportlab does not compress it again."""
        parts = self.subset_parts(fontname, subset)
        font_file = _flate_stream(parts.font_file)
        font_file.dictionary["Length1"] = parts.font_length
        ref = doc.Reference(font_file, f"fontFile:{self.filename}({fontname})")
        flags = (self.flags & ~FF_NONSYMBOLIC) | FF_SYMBOLIC
        descriptor = pdfdoc.PDFDictionary(
            {
                "Type": "/FontDescriptor",
                "Ascent": self.ascent,
                "CapHeight": self.capHeight,
                "Descent": self.descent,
                "Flags": flags,
                "FontBBox": pdfdoc.PDFArray(self.bbox),
                "FontName": pdfdoc.PDFName(fontname),
                "ItalicAngle": self.italicAngle,
                "StemV": self.stemV,
                "FontFile2": ref,
                "MissingWidth": self.defaultWidth,
            }
        )
        return doc.Reference(descriptor, "fontDescriptor:" + fontname)


@dataclass(frozen=True)
class _Subset:
    font_file: bytes  # zlib
    font_length: int  # uncompressed
    widths: bytes  # the formatted /Widths array
    to_unicode: bytes  # zlib


def _flate_stream(compressed: bytes) -> pdfdoc.PDFStream:
    """A stream whose content is compressed already: with its ``/Filter`` set, reportlab
    does not compress it again."""
    stream = pdfdoc.PDFStream(content=compressed)
    stream.dictionary["Filter"] = pdfdoc.PDFArray([pdfdoc.PDFName("FlateDecode")])
    return stream


class CachedTTFont(TTFont):
    """A reportlab TrueType font that assigns :data:`ALPHABET` first in every document."""

    def __init__(self, name: str, filename: str) -> None:
        super().__init__(name, filename)
        # The face reportlab parsed is replaced by the caching one (parsed once more, once per
        # process: ~0.1 s for both faces, against ~5 ms saved per file).
        self.face = _CachedFace(filename)

    def splitString(self, text: Any, doc: Any, encoding: str = "utf-8") -> Any:  # noqa: N802
        if doc not in self.state:
            super().splitString(ALPHABET, doc)
        return super().splitString(text, doc, encoding)

    def addObjects(self, doc: Any) -> None:  # noqa: N802
        """reportlab's ``TTFont.addObjects`` with each subset's widths, ToUnicode map and
        font file from the face's cache."""
        try:
            state = self.state[doc]
        except KeyError:
            state = self.state[doc] = TTFont.State(self._asciiReadable)
        state.frozen = 1
        face: _CachedFace = self.face  # type: ignore[assignment]
        for n, subset in enumerate(state.subsets):
            internal = self.getSubsetInternalName(n, doc)[1:]
            base = b"".join((SUBSETN(n), b"+", face.name, face.subfontNameX)).decode("pdfdoc")
            parts = face.subset_parts(base, subset)
            font = pdfdoc.PDFTrueTypeFont()
            font.__Comment__ = f"Font {self.fontName} subset {n}"
            font.Name = internal
            font.BaseFont = base
            font.FirstChar = 0
            font.LastChar = len(subset) - 1
            font.Widths = _Formatted(parts.widths)
            font.ToUnicode = doc.Reference(_flate_stream(parts.to_unicode), "toUnicodeCMap:" + base)
            font.FontDescriptor = face.addSubsetObjects(doc, base, subset)
            doc.Reference(font, internal)
            doc.idToObject["BasicFonts"].dict[internal] = font
        del self.state[doc]

    @property
    def builds(self) -> int:
        """How many subset font files this font built in this process."""
        return self.face.builds  # type: ignore[attr-defined,no-any-return]
