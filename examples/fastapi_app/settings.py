"""Settings of the report service, read from disk by whoever asks."""
import json
from pathlib import Path

SETTINGS_FILE = Path(__file__).with_name("settings.json")


def read_settings(path: Path = SETTINGS_FILE) -> dict:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def feature_enabled(name: str) -> bool:
    return bool(read_settings().get("features", {}).get(name))
