"""`romcam app`: the guided session in a browser, served from this computer.

The browser owns the camera and shows its own video; it sends downscaled JPEG frames over a
WebSocket, and the server runs them through the same landmarks -> session engine -> journal
path as `romcam session` (:func:`romcam.session.runner.start_session`), analysing only the
newest frame, and sends back the state the page draws over its video.

* :mod:`romcam.app.security`: the access token, its cookie, the Origin check;
* :mod:`romcam.app.frames`: the newest-frame worker behind a WebSocket (frames dropped, never queued);
* :mod:`romcam.app.state`: the live state and the camera check as JSON for the page;
* :mod:`romcam.app.pages`: what the pages show, read from the store;
* :mod:`romcam.app.visits`: a recorded visit uploaded, analysed, marked on its timeline and stored
  (:mod:`romcam.app.visit_marks`: its marks as `romcam visit`'s phases, the upload's checks);
* :mod:`romcam.app.server`: the routes (FastAPI) and serving them (uvicorn);
* :mod:`romcam.app.bench`: `romcam bench --app`.

Stage: app sits between report and cli; it may import every stage below it (session, storage,
report for the downloads) and never cli.
"""
