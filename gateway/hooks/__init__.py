"""Callbacks: Twilio's 2010-04-01 requests to signed hook URLs, turned into 2008-08-01 requests to the
legacy app and its 2008 TwiML into today's. May import only the bottom layer, the phone module and the
view cache's Store."""
