"""Callbacks: Twilio's 2010-04-01 requests to signed hook URLs, turned into 2008-08-01 requests to the
legacy app and its 2008 TwiML into today's. The library (urls, signature, params, twiml, verbs, fetch,
addresses, cookies, dedupe) may import only the bottom layer, the phone module and the view cache's
Store; the modules that put it to work (wrap: the service's seam; endpoint and relay: the hook
endpoint and its requests) may import any lower layer."""
