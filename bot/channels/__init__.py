"""Rasa input channels: REST, the website chat, SMS/WhatsApp (Twilio), Telegram and Messenger.

Each is a Rasa custom connector named in credentials.yml. Rasa imports this package
while reading credentials.yml, before it creates its Sanic app, so this is where the
server-wide request size cap is set and the Rasa speed-up installed.
"""

import os

from bot import rasa_speedups

# Sanic reads SANIC_* variables when the app is created. Its default body limit is
# 100 MB; the assistant's largest legitimate request (a Messenger batch) is a few KB.
DEFAULT_REQUEST_MAX_BYTES = 256 * 1024
os.environ.setdefault("SANIC_REQUEST_MAX_SIZE", str(DEFAULT_REQUEST_MAX_BYTES))

rasa_speedups.install()
