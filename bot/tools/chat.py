"""A small terminal client for the REST channel, for staff trying the assistant.

Buttons are shown as a numbered list; typing the number sends that option.
"""

from __future__ import annotations

import argparse
import json
import uuid

import requests

from bot.channels.plain_text import source_line
from bot.config import get_settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    port = get_settings().ports.rasa
    parser.add_argument("--url", default=f"http://127.0.0.1:{port}/webhooks/rest/webhook")
    args = parser.parse_args()
    sender = f"cli-{uuid.uuid4().hex[:8]}"
    options: list[dict] = []
    print("Type your question (Ctrl-D to quit).")
    while True:
        try:
            text = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return
        if text.isdigit() and 1 <= int(text) <= len(options):
            text = options[int(text) - 1]["payload"]
        try:
            replies = requests.post(args.url, json={"sender": sender, "message": text}, timeout=30).json()
        except requests.RequestException as exc:
            print(f"(cannot reach the assistant at {args.url}: {exc})")
            continue
        options = []
        for reply in replies:
            if "text" in reply:
                print(f"bot> {reply['text']}")
            for button in reply.get("buttons", []):
                options.append(button)
                print(f"     {len(options)}. {button['title']}")
            custom = reply.get("custom")
            if isinstance(custom, dict) and custom.get("sources"):
                print(f"     {source_line(custom['sources'])}")
            elif custom:
                print(f"     [payload] {json.dumps(custom)}")


if __name__ == "__main__":
    main()
