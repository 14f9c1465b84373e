"""Rasa input channels: REST, the website chat, SMS/WhatsApp (Twilio), Telegram and Messenger.

Each is a Rasa custom connector named in credentials.yml, loaded by the Rasa server.
``base`` holds what they share (the one "always answer" guard and send path),
``plain_text`` how text channels render replies, ``config`` which channels are on.
"""
