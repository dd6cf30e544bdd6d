"""The public surface: everything exported imports, and `import agentzoo` stays light."""

import subprocess
import sys

import agentzoo


def test_every_export_is_importable():
    for name in agentzoo.__all__:
        assert getattr(agentzoo, name) is not None, name


def test_import_agentzoo_loads_no_heavy_dependency():
    code = ("import sys, agentzoo; heavy = [m for m in ('pydantic', 'aiohttp', 'pyreqwest', 'rich', 'typer', 'sqlite3', 'jinja2')"
            " if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_error_tree_separates_user_faults_from_model_faults():
    from agentzoo import errors

    assert issubclass(errors.ConfigError, errors.UserError)
    assert issubclass(errors.FormatError, errors.UnexpectedModelBehavior)
    assert issubclass(errors.QuotaExceededError, errors.ProviderError) and not errors.QuotaExceededError.retryable
    assert errors.RateLimitError.retryable and errors.ServerError.retryable
    for name in dir(errors):
        obj = getattr(errors, name)
        if isinstance(obj, type) and issubclass(obj, Exception) and obj.__module__ == errors.__name__:
            assert issubclass(obj, errors.AgentzooError), name


def test_scripted_model_is_a_model():
    from agentzoo.protocols import Model

    assert isinstance(agentzoo.ScriptedModel(["hi"]), Model)
