"""``midigen eval``: how good a style's model is, measured against the real pieces it was trained on.

One module per concern: ``realset`` (the corpus and the bundle's split), ``generate`` (the samples),
``likelihood``, ``compliance``, ``features`` + ``overlap`` (distribution match), ``originality``,
``classifier`` + ``style_match`` (style), ``plots``, ``bootstrap`` (confidence intervals), ``report``
(the result), ``threads`` and ``suite`` (the order they run in).
"""
