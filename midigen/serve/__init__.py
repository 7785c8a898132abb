"""``midigen serve``: a local studio page over the library: compose, look, listen, regenerate bars, drag out.

A thin web layer: every piece of music is made by ``tasks`` (compose, continue, infill, harmonize),
described by ``styles``, heard through ``media.render``, read and written by ``midi``. This subpackage
only turns JSON into those calls and their takes back into JSON, files and WAVs, and keeps the server
safe to leave running on a musician's machine.

    guard      only this machine's pages may talk to the server (Host/Origin checks against DNS rebinding)
    store      the server's own folder: takes and uploads under names the server makes, bounded in number
    fields     JSON bodies read strictly into the library's request objects (types, sizes, bounds)
    studio     the operations: a JSON request in, takes stored and described out (one sampling at a time)
    describe   what the page draws and shows: piano-roll data, style cards, the equivalent CLI command
    audio      a take as a WAV (FluidSynth + GM soundfont; sine tones only when none is installed, and said so)
    app        the Starlette application: routes, one-line JSON errors, the page's static assets
    server     binding the socket and running uvicorn, for ``midigen serve``

Library code here never prints: ``server.serve`` reports the address through a callback, and uvicorn
logs through ``logging``. Only ``cli`` imports this subpackage.
"""
