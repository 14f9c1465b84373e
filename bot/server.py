"""The Rasa server's entry point: Rasa's own command line, with the project's patches installed first.

``python -m bot.server run ...`` takes exactly the arguments of ``rasa run``. The patches
(bot/rasa_patches.py) are installed here, explicitly, rather than as a side effect of
importing a module Rasa happens to load.
"""

from __future__ import annotations


def main() -> None:
    from rasa.__main__ import main as rasa_main

    from bot import rasa_patches

    rasa_patches.install()
    rasa_main()


if __name__ == "__main__":
    main()
