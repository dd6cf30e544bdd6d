from iniparse import parse


def test_a_value_may_contain_equals_signs():
    text = "[db]\nurl = postgres://h/db?sslmode=require&x=1\n"
    assert parse(text)["db"]["url"] == "postgres://h/db?sslmode=require&x=1"


def test_a_value_may_hold_a_double_equals_sign():
    assert parse("[a]\nk = a==b\n")["a"]["k"] == "a==b"
