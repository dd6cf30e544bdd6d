from textkit import slugify


def test_no_separator_at_the_ends():
    assert slugify("  Hello, World!  ") == "hello-world"


def test_no_separator_at_the_ends_with_custom_separator():
    assert slugify("(draft) notes.", separator="_") == "draft_notes"
