"""Parse INI text: `[section]` headers, `key = value` lines, `#` and `;` comments."""

COMMENT_PREFIXES = ("#", ";")


class ParseError(ValueError):
    """A line that is neither a header, an assignment, a comment nor blank."""

    def __init__(self, number, line):
        super().__init__(f"line {number}: cannot parse {line!r}")
        self.number = number


def _split_assignment(line):
    """`key = value` as (key, value); the value is everything after the first `=`."""
    parts = line.split("=")
    return parts[0].strip(), parts[1].strip()


def parse(text):
    """The sections of `text` as {section: {key: value}}; keys before any header go to ""."""
    sections = {"": {}}
    current = sections[""]
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(COMMENT_PREFIXES):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1].strip(), {})
        elif "=" in line:
            key, value = _split_assignment(line)
            current[key] = value
        else:
            raise ParseError(number, raw)
    return sections
