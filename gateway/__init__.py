"""A gateway that serves Twilio's 2008-08-01 REST API over the 2010-04-01 and Trunking v1 APIs."""

__version__ = "0.1.0"
