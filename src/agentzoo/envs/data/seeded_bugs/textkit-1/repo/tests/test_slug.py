from textkit import slugify


def test_words_are_joined_with_dashes():
    assert slugify("Hello World") == "hello-world"


def test_accents_are_dropped():
    assert slugify("Crème brûlée") == "creme-brulee"


def test_underscores_are_kept():
    assert slugify("snake_case stays") == "snake_case-stays"


def test_custom_separator():
    assert slugify("a  b", separator="+") == "a+b"
