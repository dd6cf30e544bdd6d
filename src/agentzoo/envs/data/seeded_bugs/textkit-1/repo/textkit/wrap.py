"""Wrap and shorten text to a width."""


def wrap(text, width=70):
    """Split `text` into lines of at most `width` characters, breaking at spaces."""
    if width < 1:
        raise ValueError("width must be at least 1")
    lines, current = [], ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        lines.append(current)
    return lines


def shorten(text, width, placeholder="..."):
    """`text` cut to at most `width` characters, ending with `placeholder` if it was cut."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    if width < len(placeholder):
        raise ValueError("width is smaller than the placeholder")
    return text[: width - len(placeholder)].rstrip() + placeholder
