"""``python -m punchcard.program`` prints the program-file reference (docs/program-reference.md)."""

from punchcard.program.reference import reference_markdown

print(reference_markdown(), end="")
