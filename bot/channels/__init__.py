"""Rasa input channels: REST, the website chat, SMS/WhatsApp (Twilio), Telegram and Messenger.

Each is a Rasa custom connector named in credentials.yml; Rasa imports this package
while reading credentials.yml, so this is where the Rasa speed-ups are installed.
"""

from bot import rasa_speedups

rasa_speedups.install()
