"""The JSON Schema of program files, built from the key declarations."""

from __future__ import annotations

from punchcard.program.declarations import PROGRAM


def program_json_schema() -> dict:
    """Return the JSON Schema (draft 2020-12) of program files, built from the key declarations."""
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://punchcard.dev/schema/program.json",
        "title": "punchcard program file",
        "description": "One business, one sales history, several candidate loyalty schemes.",
    }
    schema.update(PROGRAM.schema())
    return schema
