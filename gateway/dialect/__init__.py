"""The 2008 dialect: parsing a legacy request, its parameters and phone numbers, translating upstream
JSON into legacy records, and rendering them as XML, JSON, CSV or HTML. May import only the bottom layer."""
