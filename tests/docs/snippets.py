"""The fenced code blocks of a Markdown file, grouped by their ``##`` section.

Only what the README test needs: headings and fences are recognised line by line (a ``##`` line
inside a fence is code, not a heading), and each block keeps the line its code starts on, so a
traceback of a block points at the README line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Block", "code_blocks", "sections"]

_FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)")
_SECTION = re.compile(r"^##\s+(?P<title>.+?)\s*#*\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced code block: its section heading, language, first code line (1-based) and code."""

    section: str
    language: str
    line: int
    code: str

    @property
    def label(self) -> str:
        """Where the block is, for messages: ``line 42 (## Quickstart: LangChain)``."""
        return f"line {self.line} (## {self.section})"


def code_blocks(path: Path) -> list[Block]:
    """Every fenced block of ``path`` in order; text before the first ``##`` is section ``""``."""
    blocks: list[Block] = []
    section = ""
    fence: str | None = None
    language = ""
    start = 0
    lines: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if fence is None:
            opened = _FENCE.match(line)
            if opened:
                fence, language, start, lines = opened["fence"], opened["info"].lower(), number, []
            elif heading := _SECTION.match(line):
                section = heading["title"]
        elif line.strip().startswith(fence) and not line.strip().strip(fence[0]):
            blocks.append(Block(section, language, start + 1, "\n".join(lines) + "\n"))
            fence = None
        else:
            lines.append(line)
    if fence is not None:
        raise ValueError(f"{path.name}: the fence opened on line {start} is never closed")
    return blocks


def sections(blocks: list[Block], language: str) -> dict[str, list[Block]]:
    """The blocks of one language, by section, in the order the sections appear."""
    grouped: dict[str, list[Block]] = {}
    for block in blocks:
        if block.language == language:
            grouped.setdefault(block.section, []).append(block)
    return grouped
