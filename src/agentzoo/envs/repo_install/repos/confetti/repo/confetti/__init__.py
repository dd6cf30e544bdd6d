"""confetti: read confetti.ini into typed values."""

import configparser
import os

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_FILE = os.path.join(HERE, "confetti.ini")


class SettingsMissing(Exception):
    pass


def load(path=DEFAULT_FILE):
    if not os.path.exists(path):
        raise SettingsMissing(f"{path} not found: copy confetti.example.ini to confetti.ini")
    parser = configparser.ConfigParser()
    parser.read(path)
    return {"host": parser["server"]["host"], "port": parser["server"].getint("port"),
            "cache_folder": os.path.join(HERE, parser["cache"]["folder"]),
            "cache_size": parser["cache"].getint("size")}


def cache_put(settings, key, value):
    folder = settings["cache_folder"]
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cache folder {folder} does not exist")
    with open(os.path.join(folder, key), "w") as f:
        f.write(value)
    return os.path.join(folder, key)
