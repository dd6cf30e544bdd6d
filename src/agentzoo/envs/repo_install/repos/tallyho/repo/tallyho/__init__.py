"""tallyho: counting words and lines."""

from collections import Counter

from ._build_info import BUILD

__version__ = BUILD["version"]
STOP_WORDS = frozenset(BUILD["stop_words"])


def count_words(text, skip_stop_words=False):
    words = [w.strip(".,;:!?").lower() for w in text.split()]
    return dict(Counter(w for w in words if w and not (skip_stop_words and w in STOP_WORDS)))


def most_common(text, n=1, skip_stop_words=True):
    counts = count_words(text, skip_stop_words)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def count_lines(text):
    return len([line for line in text.splitlines() if line.strip()])
