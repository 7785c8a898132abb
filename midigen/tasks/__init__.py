"""What a musician asks for: compose, continue, infill and harmonize, on one sampling skeleton.

``request`` holds the options every request shares, ``takes`` the skeleton that samples takes and writes
them; each operation's module holds only what is its own.
"""
