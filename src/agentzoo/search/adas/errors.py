"""The errors of ADAS, placed in agentzoo's one error tree (`agentzoo.errors`).

    ConfigError
    └── ArchiveError          an archive file that is missing, not JSON, or not an archive; a bad `#index`
    AgentzooError
    └── GeneratedCodeError    an archived agent's code failed on a task (it raised, timed out, gave no answer)

A `GeneratedCodeError` is the candidate's own failure: the run fails with it, the harness scores the
sample as failed (it is not infrastructure, so not retried), and the search hands its message to the
meta agent to debug.
"""

from __future__ import annotations

from ...errors import AgentzooError, ConfigError


class ArchiveError(ConfigError):
    """An ADAS archive that cannot be used: the message names the file and what is wrong."""


class GeneratedCodeError(AgentzooError):
    """An ADAS agent's `forward` failed on a task; the message is what the code's author needs to fix it."""
