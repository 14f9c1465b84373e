"""Rasa input channels: REST, the website chat, SMS/WhatsApp (Twilio), Telegram and Messenger.

Each is a Rasa custom connector named in credentials.yml; importing this package
also installs the Rasa speed-up (the Rasa server imports it at start-up).
"""

from bot import rasa_speedups

rasa_speedups.install()
