"""Report: HTML and PDF reports of one session or of one subject's progress. Owns the page model
and its readers of stored sessions (``model``), the session page (``session_page``), the
subject page (``subject_page``), the set of circles (``circles``), HTML rendering from the Jinja2
templates in ``templates/`` (``html``), the same page printed to an A4 PDF by WeasyPrint (``pdf``),
writing the files (``write``) and the figures (``plots``). It may import the base modules,
``romcam.measure`` and ``romcam.storage``; only ``romcam.app`` and ``romcam.cli`` may import it.
"""
